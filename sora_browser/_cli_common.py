"""What the link-handling commands share: their common options, one ``Settings`` object, the
service they build, output helpers, and the one place errors become a line and an exit code.

Kept apart from ``cli`` (which owns the command group and registers ``batch`` and the Temporal
commands) so those modules can import this without an import cycle. Cheap to import: only
click; the library loads inside the functions that need it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .options import DownloadOptions, ResolveOptions
    from .service import SoraExtractionService

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What the common options say, before any heavy import."""

    mode: str
    json_output: bool
    allow_hosts: frozenset[str]
    timeout: float
    resolve_timeout: float
    retries: int
    cookies: Path | None
    har: Path | None
    record_har: Path | None
    chromium: Path | None
    quiet: bool
    verbose: bool

    def resolve_options(self) -> ResolveOptions:
        from .options import ResolveOptions

        mode = self.mode
        if self.record_har is not None and mode == "auto":
            mode = "browser"  # only a browser session can be recorded
        return ResolveOptions(
            mode=mode,  # type: ignore[arg-type]
            allow_hosts=self.allow_hosts,
            timeout=self.resolve_timeout,
            retries=self.retries,
            cookies_file=self.cookies,
            har_path=self.har,
            record_har_path=self.record_har,
            chromium_path=self.chromium,
        )


output_dir_option = click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the videos (default: <system temp>/sora_videos).",
)
"""``--output-dir`` of the commands that download many links (``batch``, ``worker``)."""


def allowed_hosts(values: tuple[str, ...]) -> frozenset[str]:
    """``--allow-host`` values plus the comma-separated ``SORA_BROWSER_ALLOW_HOSTS``."""
    raw = os.environ.get("SORA_BROWSER_ALLOW_HOSTS", "")
    return frozenset(h.strip() for h in (*values, *raw.split(",")) if h.strip())


def _settings(kwargs: dict[str, Any]) -> Settings:
    chosen = kwargs.pop("mode")
    mode = "browser" if kwargs.pop("browser") else chosen
    chromium = kwargs.pop("chromium") or os.environ.get("SORA_BROWSER_CHROMIUM") or None
    if kwargs["record_har"] is not None and mode == "static":
        raise click.UsageError("--record-har needs a browser; it cannot be used with --mode static")
    return Settings(
        mode=mode,
        json_output=kwargs.pop("json_output"),
        allow_hosts=allowed_hosts(kwargs.pop("allow_host")),
        timeout=kwargs.pop("timeout"),
        resolve_timeout=kwargs.pop("resolve_timeout"),
        retries=kwargs.pop("retries"),
        cookies=kwargs.pop("cookies"),
        har=kwargs.pop("har"),
        record_har=kwargs.pop("record_har"),
        chromium=Path(chromium) if chromium else None,
        quiet=kwargs.pop("quiet"),
        verbose=kwargs.pop("verbose"),
    )


def common_options(func: F) -> F:
    """Options every link-handling command takes; they arrive as one ``Settings``."""
    options = [
        click.option(
            "--mode",
            type=click.Choice(["auto", "static", "browser"]),
            default="auto",
            show_default=True,
            help="static: parse the page; browser: headless "
            "Chromium; auto: static, then the browser when the page needs it.",
        ),
        click.option("--browser", is_flag=True, help="Same as --mode browser."),
        click.option(
            "--json", "json_output", is_flag=True, help="Print one JSON object per link on stdout."
        ),
        click.option(
            "--allow-host",
            multiple=True,
            metavar="HOST",
            help="Also allow this host (repeatable; env SORA_BROWSER_ALLOW_HOSTS).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            default=300.0,
            show_default=True,
            help="Total seconds allowed for one download.",
        ),
        click.option(
            "--resolve-timeout",
            type=click.FloatRange(min=1),
            default=30.0,
            show_default=True,
            help="Seconds allowed to find the video URL.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0, max=50),
            default=5,
            show_default=True,
            help="Retries after network errors, 5xx and 429.",
        ),
        click.option(
            "--cookies",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Netscape cookies.txt for pages that need a login.",
        ),
        click.option(
            "--har",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Resolve from a saved HAR file, offline.",
        ),
        click.option(
            "--record-har",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Save the browser session to this HAR file (for bug reports).",
        ),
        click.option(
            "--chromium",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Chromium binary to use (env SORA_BROWSER_CHROMIUM).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing but data and errors."),
        click.option("-v", "--verbose", is_flag=True, help="Explain more; tracebacks on errors."),
    ]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        return func(_settings(kwargs), **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def download_options(func: F) -> F:
    func = click.option(
        "--connections",
        "-N",
        type=click.IntRange(min=0, max=32),
        default=0,
        show_default=True,
        help="Parallel range connections; 0 uses 4 for files of 64 MiB and more when the "
        "server supports ranges, else 1.",
    )(func)
    func = click.option(
        "--limit-rate",
        metavar="RATE",
        callback=_parse_rate,
        help="Cap the speed, e.g. 500K or 2M (bytes per second).",
    )(func)
    return func


_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:/s)?\s*$", re.IGNORECASE)


def _parse_rate(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    match = _RATE_RE.match(value)
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a rate like 500K, 2M or 1.5M")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return float(match.group(1)) * scale


def _download_options(
    settings: Settings, connections: int = 0, limit_rate: float | None = None
) -> DownloadOptions:
    from .options import DownloadOptions

    return DownloadOptions(
        allow_hosts=settings.allow_hosts,
        total_timeout=settings.timeout,
        retries=settings.retries,
        connections=connections,
        limit_rate=limit_rate,
        cookies_file=settings.cookies,
    )


def build_service(settings: Settings, **download: Any) -> SoraExtractionService:
    from .service import SoraExtractionService

    return SoraExtractionService(
        resolve_options=settings.resolve_options(),
        download_options=_download_options(settings, **download),
    )


def emit_json(record: dict[str, Any]) -> None:
    """One JSON object on one line of stdout, flushed so a pipeline sees each link at once."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def say(quiet: bool, message: str) -> None:
    """A line for a person, on stderr, unless ``-q``."""
    if not quiet:
        click.echo(message, err=True)


KEPT_PART = "Interrupted; a partial download is kept as a .part file for resume."


def run_command(
    settings: Settings,
    share_url: str | None,
    work: Coroutine[Any, Any, int],
    *,
    on_interrupt: str = "Interrupted.",
) -> None:
    """Run ``work``; turn any error into one line (or JSON) and its exit code."""
    try:
        code = asyncio.run(work)
    except KeyboardInterrupt:
        click.echo(on_interrupt, err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # every failure a user can hit ends here, in one line
        sys.exit(_report_failure(settings, share_url, exc))
    sys.exit(code)


def _report_failure(settings: Settings, share_url: str | None, exc: BaseException) -> int:
    from .errors import SoraBrowserError
    from .reporting import error_json

    known = isinstance(exc, SoraBrowserError)
    code = exc.exit_code if isinstance(exc, SoraBrowserError) else 1
    if settings.verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if settings.json_output and share_url is not None:
        emit_json(error_json(share_url, exc))
    prefix = "error" if known else "internal error (please report; -v shows details)"
    click.echo(f"{prefix}: {exc}", err=True)
    return code
