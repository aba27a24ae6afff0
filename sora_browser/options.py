"""Frozen option objects. The library never reads the environment; the CLI builds these."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from .archive.options import IA_HOST, WaybackOptions
from .models import RetryCallback
from .urls import allowed_host

Mode = Literal["auto", "static", "browser", "archive"]
MODES: tuple[Mode, ...] = ("auto", "static", "browser", "archive")
Quality = Literal["best", "source", "md", "ld"]
OnWait = Callable[[float, str], None]
"""Told ``(seconds, reason)`` before the tool waits on an archive's rate limit."""

# A current desktop Chrome on Linux: Sora's edge serves the full page to browsers and may
# challenge obvious bots, so a plain "python-aiohttp" agent would fare worse.
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
MiB = 1024 * 1024
GiB = 1024 * MiB
# Sora never served more than a few hundred MB; a claim far past that is a lie or an attack.
DEFAULT_MAX_FILESIZE = 4 * GiB
HOST_CONNECTIONS = 8
"""Default cap on connections open at once to one host, over every download of the process
(``download.hostslots``)."""
ARCHIVE_HOST_CONNECTIONS = 3
"""The cap for an archive host, whatever ``host_connections`` allows above it: an archive is
shared by everyone (DESIGN: politeness) and a few connections already help its slow replay."""


def _normalise_hosts(hosts: object, name: str = "allow_hosts") -> frozenset[str]:
    """Host names in canonical form; a bare string would become a set of its characters."""
    if isinstance(hosts, str | bytes) or not isinstance(hosts, Iterable):
        raise TypeError(
            f"{name} must be a set of host names, not {type(hosts).__name__} {hosts!r}"
            " (write frozenset({'host'}) for one host)"
        )
    names = list(hosts)
    if not all(isinstance(h, str) for h in names):
        raise TypeError(f"{name} must hold strings, not {names!r}")
    try:
        return frozenset(allowed_host(h) for h in names if h.strip())
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _require(options: object, name: str, kinds: tuple[type, ...], what: str) -> None:
    """``TypeError`` unless the field holds one of ``kinds`` (a bool is no number here)."""
    value = getattr(options, name)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise TypeError(f"{name} must be {what}, not {type(value).__name__} {value!r}")


def _numbers(options: object, names: tuple[str, ...], *, optional: bool = False) -> None:
    kinds: tuple[type, ...] = (int, float, type(None)) if optional else (int, float)
    for name in names:
        _require(options, name, kinds, "a number" + (" or None" if optional else ""))


def _proxy(options: ResolveOptions | DownloadOptions) -> None:
    """``proxy`` is an http:// URL with a host (aiohttp and Chromium both take those);
    ``no_proxy`` a set of names, like ``allow_hosts``."""
    proxy = options.proxy
    _require(options, "proxy", (str, type(None)), "an http:// URL or None")
    if proxy is not None:
        parts = urlsplit(proxy)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"proxy must be an http://host:port URL, not {proxy!r}")
    bypass = options.no_proxy
    if isinstance(bypass, str | bytes) or not isinstance(bypass, Iterable):
        raise TypeError(f"no_proxy must be a set of host names, not {type(bypass).__name__}")
    object.__setattr__(options, "no_proxy", frozenset(h.strip() for h in bypass if h.strip()))


def _callback(options: object, name: str) -> None:
    value = getattr(options, name)
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be a function or None, not {type(value).__name__}")


def _path(options: object, name: str) -> None:
    """A path field accepts ``str`` or any ``os.PathLike`` and holds a ``Path``."""
    value = getattr(options, name)
    if value is None or isinstance(value, Path):
        return
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"{name} must be a path or None, not {type(value).__name__} {value!r}")
    object.__setattr__(options, name, Path(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveOptions:
    """How a share link becomes a direct MP4 URL."""

    mode: Mode = "auto"
    """``auto``: the live page (static, then the browser), then the archive; ``static``,
    ``browser``: the live page only, that way; ``archive``: the archive only."""
    wayback: WaybackOptions | None = field(default_factory=WaybackOptions)
    """The archive that ``auto`` and ``archive`` fall back to (IA's Wayback Machine unless set;
    a pywb works the same); None keeps ``auto`` to the live site."""
    warc_paths: tuple[Path, ...] = ()
    """WARC files (or folders of them) to resolve from, with nothing else: the page and the
    media both come from their records and nothing touches the network."""
    index_cache_dir: Path | None = None
    """Where WARC indexes go when a WARC's own folder is read-only."""
    on_archive_wait: OnWait | None = None
    browser_fallback: bool = True
    """Whether ``auto`` may start a browser for a page that needs one; False keeps it to
    static parsing and the archive (the yt-dlp plugin's default: no Chromium unless asked)."""
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    timeout: float = 30.0
    retries: int = 3
    user_agent: str = DEFAULT_USER_AGENT
    cookies_file: Path | None = None
    har_path: Path | None = None
    record_har_path: Path | None = None
    page_file: Path | None = None
    """A saved share page (``.html``) to read instead of fetching one."""
    chromium_path: Path | None = None
    max_page_bytes: int = 8 * MiB
    browser_pages: int = 4
    quality: Quality = "best"
    """``best``: the clean source, then the watermarked one, then md, then ld; ``source``: the
    full-size file (clean first); ``md``, ``ld``: that rendition. Missing is ``NoVideoFound``."""
    no_watermark: bool = False
    """Take a clean file or none: a page that offers only a watermarked one is ``NoVideoFound``."""
    on_retry: RetryCallback | None = None
    """Hears each wait between attempts (the CLI prints it); ``timeout`` bounds them all."""
    proxy: str | None = None
    """An ``http://[user:pass@]host:port`` proxy for every request (the page, the browser)."""
    no_proxy: frozenset[str] = field(default_factory=frozenset)
    """Hosts reached directly, as curl reads ``NO_PROXY`` (``*``, names, addresses, CIDR)."""

    def __post_init__(self) -> None:
        _require(self, "mode", (str,), "one of " + ", ".join(MODES))
        _numbers(self, ("timeout",))
        _require(self, "retries", (int,), "a whole number")
        _require(self, "max_page_bytes", (int,), "a whole number")
        _require(self, "browser_pages", (int,), "a whole number")
        _require(self, "user_agent", (str,), "a string")
        _callback(self, "on_retry")
        _callback(self, "on_archive_wait")
        _proxy(self)
        for name in (
            "cookies_file",
            "har_path",
            "record_har_path",
            "chromium_path",
            "page_file",
            "index_cache_dir",
        ):
            _path(self, name)
        if isinstance(self.warc_paths, str | os.PathLike):
            raise TypeError("warc_paths must be a tuple of paths (write (path,) for one file)")
        object.__setattr__(self, "warc_paths", tuple(Path(p) for p in self.warc_paths))
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.retries < 0:
            raise ValueError("retries must be zero or more")
        if self.max_page_bytes < 1024:
            raise ValueError("max_page_bytes must be at least 1024")
        if self.browser_pages < 1:
            raise ValueError("browser_pages must be at least 1")
        if self.quality not in ("best", "source", "md", "ld"):
            raise ValueError(f"quality must be best, source, md or ld, not {self.quality!r}")
        if self.mode == "archive" and self.wayback is None:
            raise ValueError("mode 'archive' needs an archive (wayback options)")
        object.__setattr__(self, "allow_hosts", _normalise_hosts(self.allow_hosts))

    @property
    def archive_hosts(self) -> frozenset[str]:
        """The archive's own hosts (replay and CDX): trusted for archive requests only."""
        if self.wayback is None:
            return frozenset()
        return frozenset({self.wayback.host, self.wayback.cdx_host})

    @property
    def warc_files(self) -> frozenset[Path]:
        """The files a download may read media from: the WARCs ``warc_paths`` names, and the
        HAR being replayed."""
        files = {self.har_path.resolve()} if self.har_path is not None else set()
        if self.warc_paths:
            from .archive.warc import warc_files

            files |= {p.resolve() for p in warc_files(self.warc_paths)}
        return frozenset(files)

    @property
    def reads_archive(self) -> bool:
        """Whether links may resolve from the archive (so a pasted CDN link is one too)."""
        if self.warc_paths:
            return True
        live_only = self.mode in ("static", "browser") or self.har_path is not None
        return self.wayback is not None and not live_only

    @property
    def browser_only(self) -> bool:
        """Resolved in the browser alone: ``--mode browser``, or replaying a HAR."""
        return self.har_path is not None or self.mode == "browser"


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadOptions:
    """How a direct MP4 URL becomes a verified file on disk."""

    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    total_timeout: float = 300.0
    retries: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    chunk_size: int = 1 * MiB
    connections: int = 0
    """Parallel range connections. 0 (the default): start on one and add more while they make
    the download faster (a link that throttles each connection), up to the host's cap;
    servers without ranges stay on one. N: exactly N (1: never more than one)."""
    host_connections: int = HOST_CONNECTIONS
    """Most connections open at once to one host, over every download of this process (a
    batch, a worker's activities); an archive host gets at most ``ARCHIVE_HOST_CONNECTIONS``."""
    archive_hosts: frozenset[str] = frozenset({IA_HOST})
    """Hosts that are archives (their cap is the smaller one); ``trusting`` adds to them."""
    limit_rate: float | None = None
    """Cap on total bytes per second, or None for no cap."""
    max_reresolve: int = 2
    """How often an expired signature may be refreshed from the share link."""
    user_agent: str = DEFAULT_USER_AGENT
    cookies_file: Path | None = None
    verify_video: bool = True
    local_files: frozenset[Path] = field(default_factory=frozenset)
    """WARC files ``warc:`` media URLs may be read from (``ResolveOptions.warc_files``)."""
    max_filesize: int | None = DEFAULT_MAX_FILESIZE
    """Refuse a file the server claims, or turns out, to be bigger (None: no limit)."""
    on_retry: RetryCallback | None = None
    """Hears each wait between attempts; ``total_timeout`` bounds them all."""
    proxy: str | None = None
    """An ``http://[user:pass@]host:port`` proxy for the download."""
    no_proxy: frozenset[str] = field(default_factory=frozenset)
    """Hosts reached directly, as curl reads ``NO_PROXY``."""

    def __post_init__(self) -> None:
        _numbers(self, ("connect_timeout", "read_timeout", "total_timeout"))
        _numbers(self, ("backoff_initial", "backoff_max"))
        _numbers(self, ("limit_rate",), optional=True)
        for name in ("retries", "chunk_size", "connections", "host_connections", "max_reresolve"):
            _require(self, name, (int,), "a whole number")
        _require(self, "user_agent", (str,), "a string")
        _require(self, "verify_video", (bool,), "True or False")
        _callback(self, "on_retry")
        _proxy(self)
        _require(self, "max_filesize", (int, type(None)), "a whole number of bytes or None")
        _path(self, "cookies_file")
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.retries < 0:
            raise ValueError("retries must be zero or more")
        if self.chunk_size < 4096:
            raise ValueError("chunk_size must be at least 4096")
        if not 0 <= self.connections <= 32:
            raise ValueError("connections must be between 0 (auto) and 32")
        if not 1 <= self.host_connections <= 32:
            raise ValueError("host_connections must be between 1 and 32")
        if self.limit_rate is not None and self.limit_rate <= 0:
            raise ValueError("limit_rate must be positive")
        if self.max_reresolve < 0:
            raise ValueError("max_reresolve must be zero or more")
        if self.max_filesize is not None and self.max_filesize < 1:
            raise ValueError("max_filesize must be positive (or None for no limit)")
        object.__setattr__(self, "allow_hosts", _normalise_hosts(self.allow_hosts))
        archive_hosts = _normalise_hosts(self.archive_hosts, "archive_hosts")
        object.__setattr__(self, "archive_hosts", archive_hosts)

    def trusting(
        self, hosts: frozenset[str], files: frozenset[Path] = frozenset()
    ) -> DownloadOptions:
        """These options, also allowing ``hosts`` (an archive whose replays are downloaded,
        with an archive's connection cap) and reading ``files`` (WARCs the media is streamed
        out of)."""
        known = hosts <= self.allow_hosts and hosts <= self.archive_hosts
        if known and files <= self.local_files:
            return self
        return replace(
            self,
            allow_hosts=self.allow_hosts | hosts,
            archive_hosts=self.archive_hosts | hosts,
            local_files=self.local_files | files,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputOptions:
    """What becomes of a downloaded video on disk besides its bytes: its name, a metadata
    sidecar, and what happens when the file is already there."""

    template: str | None = None
    """Names from what the page said (``naming``: ``{username}/{id}.{ext}``, ...), relative
    to the output folder; None keeps ``<share-id>.mp4``."""
    write_info_json: bool = False
    """Write ``<name>.info.json`` beside the video once it is in place (``infojson``)."""
    force_overwrites: bool = False
    """Download again even when the file is already there, and replace a different file at an
    explicit OUTPUT (never another video's templated name: that one gets the id appended)."""

    def __post_init__(self) -> None:
        _require(self, "template", (str, type(None)), "a template string or None")
        _require(self, "write_info_json", (bool,), "True or False")
        _require(self, "force_overwrites", (bool,), "True or False")
        if self.template is not None:
            from .naming import check_template

            check_template(self.template)
