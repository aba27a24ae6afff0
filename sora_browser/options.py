"""Frozen option objects. The library never reads the environment; the CLI builds these."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from .models import RetryCallback
from .urls import allowed_host

Mode = Literal["auto", "static", "browser"]
MODES: tuple[Mode, ...] = ("auto", "static", "browser")

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


def _normalise_hosts(hosts: object) -> frozenset[str]:
    """Allowed hosts in canonical form; a bare string would become a set of its characters."""
    if isinstance(hosts, str | bytes) or not isinstance(hosts, Iterable):
        raise TypeError(
            f"allow_hosts must be a set of host names, not {type(hosts).__name__} {hosts!r}"
            " (write frozenset({'host'}) for one host)"
        )
    names = list(hosts)
    if not all(isinstance(h, str) for h in names):
        raise TypeError(f"allow_hosts must hold strings, not {names!r}")
    try:
        return frozenset(allowed_host(h) for h in names if h.strip())
    except ValueError as exc:
        raise ValueError(f"allow_hosts: {exc}") from None


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
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    timeout: float = 30.0
    retries: int = 3
    user_agent: str = DEFAULT_USER_AGENT
    cookies_file: Path | None = None
    har_path: Path | None = None
    record_har_path: Path | None = None
    chromium_path: Path | None = None
    max_page_bytes: int = 8 * MiB
    browser_pages: int = 4
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
        _proxy(self)
        for name in ("cookies_file", "har_path", "record_har_path", "chromium_path"):
            _path(self, name)
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
        object.__setattr__(self, "allow_hosts", _normalise_hosts(self.allow_hosts))

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
    """Parallel range connections; 0 (the default) uses several for large files when the
    server supports ranges, one otherwise."""
    limit_rate: float | None = None
    """Cap on total bytes per second, or None for no cap."""
    max_reresolve: int = 2
    """How often an expired signature may be refreshed from the share link."""
    user_agent: str = DEFAULT_USER_AGENT
    cookies_file: Path | None = None
    verify_video: bool = True
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
        for name in ("retries", "chunk_size", "connections", "max_reresolve"):
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
        if self.limit_rate is not None and self.limit_rate <= 0:
            raise ValueError("limit_rate must be positive")
        if self.max_reresolve < 0:
            raise ValueError("max_reresolve must be zero or more")
        if self.max_filesize is not None and self.max_filesize < 1:
            raise ValueError("max_filesize must be positive (or None for no limit)")
        object.__setattr__(self, "allow_hosts", _normalise_hosts(self.allow_hosts))
