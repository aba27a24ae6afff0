"""Every command-line option defined once, and ``Settings``: what the link commands' options say.

An option several commands take (``--mode``, ``--allow-host``, ``-q``/``-v``, ``--retries``,
``--timeout``, ``--chromium``, ``--output-dir``) is built by one factory here; commands differ
only in the defaults and help they pass. Only the CLI reads the environment: these options
(and ``allowed_hosts``) are where it happens. Cheap to import: only click; the library loads
inside the functions that need it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .runner import Voice

if TYPE_CHECKING:
    from ..models import RetryNotice
    from ..options import DownloadOptions, ResolveOptions
    from ..service import SoraExtractionService

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]
MODE_CHOICES = ("auto", "static", "browser")


# -- one factory per shared option ---------------------------------------------------------


def mode_option(help: str) -> Decorator[Any]:
    return click.option(
        "--mode", type=click.Choice(MODE_CHOICES), default="auto", show_default=True, help=help
    )


def allow_host_option() -> Decorator[Any]:
    return click.option(
        "--allow-host",
        multiple=True,
        metavar="HOST",
        help="Also allow this host (repeatable; env SORA_BROWSER_ALLOW_HOSTS).",
    )


def number_option(
    *names: str, default: float, help: str, minimum: float = 0, maximum: float | None = None
) -> Decorator[Any]:
    """A numeric option with a default shown in ``--help``; an int default makes an int option."""
    kind = click.IntRange if isinstance(default, int) else click.FloatRange
    bounds = kind(min=minimum, max=maximum)  # type: ignore[arg-type]
    return click.option(*names, type=bounds, default=default, show_default=True, help=help)


def retries_option(default: int, help: str, *, maximum: int = 50) -> Decorator[Any]:
    return number_option("--retries", default=default, help=help, maximum=maximum)


def timeout_option(default: float, help: str) -> Decorator[Any]:
    return number_option("--timeout", default=default, help=help, minimum=1)


def chromium_option() -> Decorator[Any]:
    return click.option(
        "--chromium",
        envvar="SORA_BROWSER_CHROMIUM",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Chromium binary to use (env SORA_BROWSER_CHROMIUM).",
    )


def verbosity_options(func: F) -> F:
    """``-q`` and ``-v``, which every command takes."""
    quiet = click.option("-q", "--quiet", is_flag=True, help="Print nothing but data and errors.")
    verbose = click.option("-v", "--verbose", is_flag=True, help="Explain more; tracebacks.")
    return quiet(verbose(func))


def output_dir_option(help: str, *, path_type: bool = True) -> Decorator[Any]:
    """``--output-dir``/``-o`` of the commands that handle many links."""
    kind = click.Path(file_okay=False, path_type=Path) if path_type else None
    return click.option("--output-dir", "-o", metavar="DIR", type=kind, help=help)


def allowed_hosts(values: tuple[str, ...]) -> frozenset[str]:
    """``--allow-host`` values plus the comma-separated ``SORA_BROWSER_ALLOW_HOSTS``.

    A value with a port or a scheme is refused (exit 2, naming the fix): the policy is about
    hosts, and keeping such a value would silently allow nothing.
    """
    from ..urls import allowed_host

    raw = os.environ.get("SORA_BROWSER_ALLOW_HOSTS", "")
    hosts: set[str] = set()
    for where, items in (("--allow-host", values), ("SORA_BROWSER_ALLOW_HOSTS", raw.split(","))):
        for item in (i for i in items if i.strip()):
            try:
                hosts.add(allowed_host(item))
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint=where) from None
    return frozenset(hosts)


PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


def proxy_option() -> Decorator[Any]:
    return click.option(
        "--proxy",
        metavar="URL",
        help="HTTP proxy for every request, e.g. http://proxy:3128 ('' for none; default:"
        " HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, with NO_PROXY).",
    )


def proxy_settings(value: str | None) -> tuple[str | None, frozenset[str]]:
    """The proxy (``--proxy``, else the environment, as curl and yt-dlp read it) and the
    hosts that bypass it (``NO_PROXY``). The library reads no environment: it gets these."""
    where = "--proxy"
    if value is None:
        where, value = next(
            ((name, os.environ[name]) for name in PROXY_VARIABLES if os.environ.get(name)),
            (where, None),
        )
    bypass = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    return _proxy_url(value, where), frozenset(h.strip() for h in bypass.split(",") if h.strip())


def _proxy_url(value: str | None, where: str) -> str | None:
    if not value or not value.strip():
        return None
    url = value.strip() if "://" in value else "http://" + value.strip()  # as curl reads it
    if not url.startswith("http://"):
        scheme = url.split("://", 1)[0]
        raise click.BadParameter(
            f"{value!r}: only http:// proxies are supported, not {scheme}://", param_hint=where
        )
    return url


def apply(func: F, options: list[Decorator[Any]]) -> F:
    """Decorate ``func`` so the options show in ``--help`` in the order listed."""
    for option in reversed(options):
        func = option(func)
    return func


# -- the link commands: download, resolve, batch -------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What the common options say, before any heavy import."""

    mode: str
    voice: Voice
    allow_hosts: frozenset[str]
    timeout: float
    resolve_timeout: float
    retries: int
    cookies: Path | None
    har: Path | None
    record_har: Path | None
    chromium: Path | None
    proxy: str | None = None
    no_proxy: frozenset[str] = frozenset()

    @property
    def quiet(self) -> bool:
        return self.voice.quiet

    @property
    def verbose(self) -> bool:
        return self.voice.verbose

    @property
    def json_output(self) -> bool:
        return self.voice.json_output

    def resolve_options(self) -> ResolveOptions:
        from ..options import ResolveOptions

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
            on_retry=self.retry_line(),
            proxy=self.proxy,
            no_proxy=self.no_proxy,
        )

    def download_options(self, **download: Any) -> DownloadOptions:
        """``download``: what ``download_options`` collected (``--connections``, ...)."""
        from ..options import DownloadOptions

        return DownloadOptions(
            allow_hosts=self.allow_hosts,
            total_timeout=self.timeout,
            retries=self.retries,
            cookies_file=self.cookies,
            on_retry=self.retry_line(),
            proxy=self.proxy,
            no_proxy=self.no_proxy,
            **download,
        )

    def retry_line(self) -> Callable[[RetryNotice], None] | None:
        """One line on stderr before each wait between attempts ("retrying in 2.0 s: HTTP
        503 ..."), so a slow failure is never silent; nothing with ``-q``."""
        if self.quiet:
            return None
        return lambda notice: click.echo(str(notice), err=True)

    def service(self, **download: Any) -> SoraExtractionService:
        from ..service import SoraExtractionService

        return SoraExtractionService(
            resolve_options=self.resolve_options(),
            download_options=self.download_options(**download),
        )


def _settings(kwargs: dict[str, Any]) -> Settings:
    chosen = kwargs.pop("mode")
    mode = "browser" if kwargs.pop("browser") else chosen
    if kwargs["record_har"] is not None and mode == "static":
        raise click.UsageError("--record-har needs a browser; it cannot be used with --mode static")
    voice = Voice(
        quiet=kwargs.pop("quiet"),
        verbose=kwargs.pop("verbose"),
        json_output=kwargs.pop("json_output"),
    )
    proxy, no_proxy = proxy_settings(kwargs.pop("proxy"))
    return Settings(
        mode=mode,
        voice=voice,
        allow_hosts=allowed_hosts(kwargs.pop("allow_host")),
        timeout=kwargs.pop("timeout"),
        resolve_timeout=kwargs.pop("resolve_timeout"),
        retries=kwargs.pop("retries"),
        cookies=kwargs.pop("cookies"),
        har=kwargs.pop("har"),
        record_har=kwargs.pop("record_har"),
        chromium=kwargs.pop("chromium"),
        proxy=proxy,
        no_proxy=no_proxy,
    )


def _file_option(name: str, help: str) -> Decorator[Any]:
    return click.option(name, type=click.Path(dir_okay=False, path_type=Path), help=help)


def common_options(func: F) -> F:
    """Options every link command takes; they arrive as one ``Settings``."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        return func(_settings(kwargs), **kwargs)

    return apply(  # type: ignore[return-value]
        wrapper,
        [
            mode_option(
                "static: parse the page; browser: headless Chromium; auto: static, then the"
                " browser when the page needs it."
            ),
            click.option("--browser", is_flag=True, help="Same as --mode browser."),
            click.option(
                "--json", "json_output", is_flag=True, help="Print one JSON object per link."
            ),
            allow_host_option(),
            timeout_option(300.0, "Total seconds allowed for one download."),
            number_option(
                "--resolve-timeout",
                default=30.0,
                help="Seconds allowed to find the video URL.",
                minimum=1,
            ),
            retries_option(5, "Retries after network errors, 5xx and 429."),
            _file_option("--cookies", "Netscape cookies.txt for pages that need a login."),
            _file_option("--har", "Resolve from a saved HAR file, offline."),
            _file_option("--record-har", "Save the browser session to this HAR file."),
            chromium_option(),
            proxy_option(),
            verbosity_options,
        ],
    )


DOWNLOAD_OPTIONS = ("connections", "limit_rate", "max_filesize")


def download_options(func: F) -> F:
    """Options of the commands that download; they arrive as one dict, ``download``, of
    ``DownloadOptions`` fields (a new one is added here only)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        download = {name: kwargs.pop(name) for name in DOWNLOAD_OPTIONS}
        return func(*args, download=download, **kwargs)

    return apply(  # type: ignore[return-value]
        wrapper,
        [
            number_option(
                "--connections",
                "-N",
                default=0,
                help="Parallel range connections; 0 uses 4 for files of 64 MiB and more when"
                " the server supports ranges, else 1.",
                maximum=32,
            ),
            click.option(
                "--limit-rate",
                metavar="RATE",
                callback=_parse_rate,
                help="Cap the speed, e.g. 500K or 2M (bytes per second).",
            ),
            click.option(
                "--max-filesize",
                metavar="SIZE",
                default="4G",
                show_default=True,
                callback=_parse_size,
                help="Refuse a video the server claims, or turns out, to be bigger (e.g. 500M).",
            ),
        ],
    )


_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:/s)?\s*$", re.IGNORECASE)


def _parse_rate(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    match = _RATE_RE.match(value)
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a rate like 500K, 2M or 1.5M")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return float(match.group(1)) * scale


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def _parse_size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    match = _SIZE_RE.match(value)
    size = 0
    if match:
        scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
        size = int(float(match.group(1)) * scale[match.group(2).lower()])
    if size < 1:
        raise click.BadParameter(f"{value!r} is not a size like 500M, 4G or 1.5G")
    return size
