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
    from ..archive.options import WaybackOptions
    from ..models import RetryNotice
    from ..options import DownloadOptions, ResolveOptions
    from ..service import SoraExtractionService

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]
MODE_CHOICES = ("auto", "static", "browser", "archive")
QUALITY_CHOICES = ("best", "source", "md", "ld")
"""``options.MODES`` and ``options.QUALITIES``, spelled here so ``--help`` imports neither."""
MODE_HELP = (
    "auto: the live page (static, then the browser when it needs one), then the archive;"
    " static or browser: the live page only; archive: the archive only."
)


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


# -- the archive (Wayback Machine or a pywb) -------------------------------------------------


def archive_options(func: F) -> F:
    """Where the archive is and how to use it; they arrive as ``wayback``."""
    return _archive_options(func, resolving=True)


def archive_location_options(func: F) -> F:
    """Where the archive is and how hard to lean on it, for commands that only list."""
    return _archive_options(func, resolving=False)


def _archive_options(func: F, *, resolving: bool) -> F:
    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        kwargs.setdefault("no_wayback", False)
        kwargs.setdefault("wayback_date", None)
        return func(wayback=_wayback(kwargs), **kwargs)

    options = [
        click.option(
            "--wayback",
            "wayback_prefix",
            envvar="SORA_BROWSER_WAYBACK",
            metavar="PREFIX",
            help="Replay prefix of the archive (default https://web.archive.org/web; a"
            " pywb collection is http://HOST:PORT/COLL; env SORA_BROWSER_WAYBACK).",
        ),
        click.option(
            "--wayback-cdx",
            envvar="SORA_BROWSER_WAYBACK_CDX",
            metavar="URL",
            help="CDX endpoint (default: IA's for web.archive.org, else PREFIX/cdx).",
        ),
        click.option(
            "--archive-rate",
            metavar="N/min",
            callback=_parse_per_minute,
            help="Index (CDX) requests a minute (default 24 for web.archive.org, the"
            " documented budget; 600 for other archives).",
        ),
        click.option(
            "--no-cache", is_flag=True, help="Neither read nor keep archive index answers."
        ),
    ]
    if resolving:
        options[2:2] = [
            click.option(
                "--no-wayback", is_flag=True, help="Never ask the archive (auto stays live)."
            ),
            click.option(
                "--wayback-date",
                metavar="YYYYMMDD[hhmmss]",
                callback=_parse_date,
                help="Prefer the capture closest to this moment (default: the newest).",
            ),
        ]
    return apply(wrapper, options)  # type: ignore[return-value]


def _wayback(kwargs: dict[str, Any]) -> WaybackOptions | None:
    prefix, cdx = kwargs.pop("wayback_prefix"), kwargs.pop("wayback_cdx")
    date, rate = kwargs.pop("wayback_date"), kwargs.pop("archive_rate")
    no_cache = kwargs.pop("no_cache")
    if kwargs.pop("no_wayback"):
        return None
    from ..archive.options import DEFAULT_PREFIX, WaybackOptions

    try:
        return WaybackOptions(
            prefix=prefix or DEFAULT_PREFIX,
            cdx_url=cdx or None,
            cdx_per_minute=rate,
            date=date,
            cache_dir=None if no_cache else cache_folder(),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--wayback/--wayback-cdx") from exc


def cache_folder() -> Path:
    """The platform's user cache folder for archive index answers."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("sora-browser")) / "cdx"


def wayback_from_env() -> WaybackOptions:
    """The archive ``--wayback``/``--wayback-cdx`` default to (their env variables, else IA),
    with the same index cache: for a front end without these options (the yt-dlp plugin)."""
    from ..archive.options import DEFAULT_PREFIX, WaybackOptions

    return WaybackOptions(
        prefix=os.environ.get("SORA_BROWSER_WAYBACK") or DEFAULT_PREFIX,
        cdx_url=os.environ.get("SORA_BROWSER_WAYBACK_CDX") or None,
        cache_dir=cache_folder(),
    )


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from datetime import UTC, datetime

    digits = value.strip()
    if not digits.isdigit() or len(digits) not in (4, 6, 8, 10, 12, 14):
        raise click.BadParameter(f"{value!r} is not a date like 20251214 or 20251214093000")
    padded = digits + "0101000000"[len(digits) - 4 :] if len(digits) < 14 else digits
    try:
        return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a real date") from exc


def _parse_per_minute(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    number = value.strip().lower().removesuffix("/min").strip()
    if not number.isdigit() or int(number) < 1:
        raise click.BadParameter(f"{value!r} is not a rate like 24 or 120/min")
    return int(number)


def archive_waits(voice: Voice) -> Callable[[float, str], None]:
    """What the tool says while it waits on an archive: nothing for the usual short spacing,
    one line for a real wait, always one for a 429."""

    def on_wait(seconds: float, reason: str) -> None:
        if reason != "rate limit" or seconds >= LONG_WAIT:
            voice.say(f"waiting {seconds:.0f} s for the archive ({reason})")

    return on_wait


LONG_WAIT = 5.0


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
    wayback: WaybackOptions | None
    warc: tuple[Path, ...] = ()
    page: Path | None = None
    proxy: str | None = None
    no_proxy: frozenset[str] = frozenset()
    quality: str = "best"
    no_watermark: bool = False

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
            wayback=self.wayback,
            on_archive_wait=archive_waits(self.voice),
            warc_paths=self.warc,
            index_cache_dir=cache_folder().parent,
            page_file=self.page,
            on_retry=self.retry_line(),
            proxy=self.proxy,
            no_proxy=self.no_proxy,
            quality=self.quality,  # type: ignore[arg-type]
            no_watermark=self.no_watermark,
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

    def service(
        self, saving: dict[str, Any] | None = None, **download: Any
    ) -> SoraExtractionService:
        """``saving``: what ``save_options`` collected (``--template``, ...)."""
        from ..options import OutputOptions
        from ..service import SoraExtractionService

        return SoraExtractionService(
            resolve_options=self.resolve_options(),
            download_options=self.download_options(**download),
            output_options=OutputOptions(**(saving or {})),
        )

    def note_watermark(self, watermarked: bool | None) -> None:
        """Say it when the file taken is watermarked (``--no-watermark`` refuses those)."""
        if watermarked:
            self.voice.say(
                "Note: the file taken is watermarked; the page offered no clean one"
                " (--no-watermark refuses such files)"
            )


def _settings(kwargs: dict[str, Any]) -> Settings:
    chosen = kwargs.pop("mode")
    mode = "browser" if kwargs.pop("browser") else chosen
    if kwargs["record_har"] is not None and mode in ("static", "archive"):
        raise click.UsageError(
            f"--record-har needs a browser; it cannot be used with --mode {mode}"
        )
    wayback = kwargs.pop("wayback")
    if mode == "archive" and wayback is None:
        raise click.UsageError("--mode archive needs the archive; drop --no-wayback")
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
        wayback=wayback,
        warc=kwargs.pop("warc"),
        page=kwargs.pop("page"),
        proxy=proxy,
        no_proxy=no_proxy,
        quality=kwargs.pop("quality"),
        no_watermark=kwargs.pop("no_watermark"),
    )


def quality_options() -> list[Decorator[Any]]:
    """``--quality`` and ``--no-watermark``: which of the files a page lists to take."""
    return [
        click.option(
            "--quality",
            type=click.Choice(QUALITY_CHOICES),
            default="best",
            show_default=True,
            help="best: the clean source, then the watermarked one, then md, then ld;"
            " source: the full-size file; md, ld: that rendition (exit 3 when missing).",
        ),
        click.option(
            "--no-watermark",
            is_flag=True,
            help="Take a clean file or none (exit 3 when only a watermarked one exists).",
        ),
    ]


def choice_options(func: F) -> F:
    """``quality_options`` as one decorator, for a command without ``common_options``."""
    return apply(func, quality_options())


def _file_option(name: str, help: str) -> Decorator[Any]:
    return click.option(name, type=click.Path(dir_okay=False, path_type=Path), help=help)


def common_options(func: F) -> F:
    """Options every link command takes; they arrive as one ``Settings``."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        return func(_settings(kwargs), **kwargs)

    return apply(  # type: ignore[return-value]
        archive_options(wrapper),
        [
            mode_option(MODE_HELP),
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
            _file_option("--har", "Resolve from a saved HAR file, offline (its media too)."),
            click.option(
                "--warc",
                multiple=True,
                type=click.Path(path_type=Path),
                help="Resolve from WARC files, offline: the page and the video come from their"
                " records (repeatable; .warc or .warc.gz; a folder means every WARC in it).",
            ),
            _file_option(
                "--page",
                "Read the share page from a saved .html file (the video then comes from"
                " --warc, or as --mode allows); the share link may then be left out.",
            ),
            _file_option("--record-har", "Save the browser session to this HAR file."),
            *quality_options(),
            chromium_option(),
            proxy_option(),
            verbosity_options,
        ],
    )


def host_connections_option(scope: str) -> Decorator[Any]:
    """``--host-connections``: the per-host cap of ``download.hostslots``. Its numbers are
    ``sora_browser.options``'s (a test holds them equal), written out so that ``--help`` does
    not import it."""
    return number_option(
        "--host-connections",
        default=8,
        help=f"Most connections open at once to one host, {scope}; an archive host gets at most 3.",
        minimum=1,
        maximum=32,
    )


DOWNLOAD_OPTIONS = ("connections", "host_connections", "limit_rate", "max_filesize")


def _gathered(func: F, into: str, names: tuple[str, ...]) -> Callable[..., Any]:
    """``func`` taking the options ``names`` as one dict argument, ``into``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gathered = {name: kwargs.pop(name) for name in names}
        return func(*args, **{into: gathered}, **kwargs)

    return wrapper


def download_options(func: F) -> F:
    """Options of the commands that download; they arrive as one dict, ``download``, of
    ``DownloadOptions`` fields (a new one is added here only)."""

    return apply(  # type: ignore[return-value]
        _gathered(func, "download", DOWNLOAD_OPTIONS),
        [
            number_option(
                "--connections",
                "-N",
                default=0,
                help="Parallel range connections. 0: start on one and add more while they make"
                " the download faster (a server that throttles each connection), up to"
                " --host-connections; N: exactly N.",
                maximum=32,
            ),
            host_connections_option("over every download of the run (a batch's jobs together)"),
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


SAVE_OPTIONS = ("template", "write_info_json", "force_overwrites")


def save_options(func: F) -> F:
    """Options about the file on disk (its name, its info JSON, what is there already); they
    arrive as one dict, ``saving``, of ``OutputOptions`` fields."""

    return apply(  # type: ignore[return-value]
        _gathered(func, "saving", SAVE_OPTIONS),
        [
            click.option(
                "--template",
                metavar="TEMPLATE",
                callback=_checked_template,
                help="Name files from what the page says, inside the output folder: {id}"
                " {title} {username} {prompt} {variant} {width} {height} {date} {ext}; '/'"
                " makes folders (default {id}.{ext}).",
            ),
            click.option(
                "--write-info-json",
                is_flag=True,
                help="Write NAME.info.json beside each video: what the page said, the sha256,"
                " no signatures or cookies.",
            ),
            click.option(
                "--force-overwrites",
                is_flag=True,
                help="Download again even when the video is already there, and replace"
                " another file at OUTPUT.",
            ),
        ],
    )


def _checked_template(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from ..errors import BadInput
    from ..naming import check_template

    try:
        return check_template(value)
    except BadInput as exc:
        raise click.BadParameter(exc.message) from None
