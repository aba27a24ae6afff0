"""How to talk to a Wayback archive: IA's web.archive.org by default, or a pywb on any host.

Settings that depend on the archive (the CDX endpoint, the request budget, the page size) are
``None`` by default and worked out by properties from ``prefix``, so ``dataclasses.replace``
with a new prefix never keeps values derived from the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from .._version import __version__

IA_HOST = "web.archive.org"
DEFAULT_PREFIX = f"https://{IA_HOST}/web"
IA_CDX_URL = f"https://{IA_HOST}/cdx/search/cdx"
IA_CDX_PATH = "/cdx/search/cdx"
"""The path of IA's CDX server (wayback-cdx-server), which pages with ``showResumeKey``."""
ARCHIVE_USER_AGENT = f"sora-browser/{__version__} (+https://github.com/sora-browser/sora-browser)"
"""Archives ask bots to say who they are and where to read about them; IA in particular."""
IA_CDX_PER_MINUTE = 24
"""IA's CDX and timemap endpoints share about 24 requests a minute per IP (DESIGN.md)."""
OTHER_CDX_PER_MINUTE = 600
"""A pywb or other self-hosted index has no published limit; this still keeps us polite."""
IA_PAGE_SIZE = 5000
"""Rows per CDX page on IA: big pages spend fewer of the 24 requests a minute, and ~1 MB of
JSON each still comes back well inside the timeout."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WaybackOptions:
    """Where the archive is, and how politely and patiently to ask it."""

    prefix: str = DEFAULT_PREFIX
    """Replay prefix: ``<prefix>/<timestamp>id_/<url>`` (pywb: ``http://host:port/COLL``)."""
    cdx_url: str | None = None
    """CDX endpoint; None: IA's for web.archive.org, else ``<prefix>/cdx`` as pywb has it."""
    cdx_per_minute: int | None = None
    """CDX requests a minute; None: 24 for web.archive.org, 600 elsewhere."""
    page_size: int | None = None
    """Rows asked per page; None: 5,000 on IA's CDX server, no paging elsewhere (pywb ignores
    ``showResumeKey``, so a page limit there would silently cut the answer)."""
    cache_dir: Path | None = None
    cache_max_age: float = 24 * 3600.0
    user_agent: str = ARCHIVE_USER_AGENT
    timeout: float = 60.0
    """Seconds for one CDX request; a prefix query on IA can take a while."""
    retries: int = 3
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    max_rate_limit_wait: float = 900.0
    """The longest 429 pause worth waiting out; a longer ``Retry-After`` fails at once."""
    date: datetime | None = None
    """Prefer the capture closest to this moment (``--wayback-date``); None: the newest."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", _check_url("prefix", self.prefix))
        if self.cdx_url is not None:
            object.__setattr__(self, "cdx_url", _check_url("cdx_url", self.cdx_url))
        for name in ("cdx_per_minute", "page_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("cache_max_age", "timeout", "backoff_initial", "backoff_max"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.retries < 0:
            raise ValueError("retries must be zero or more")
        if self.max_rate_limit_wait < 0:
            raise ValueError("max_rate_limit_wait must be zero or more")
        if not self.user_agent.strip() or any(c in self.user_agent for c in "\r\n"):
            raise ValueError("user_agent must be one non-empty line")
        if self.date is not None and self.date.tzinfo is None:
            object.__setattr__(self, "date", self.date.replace(tzinfo=UTC))

    @property
    def host(self) -> str:
        """The archive's host name (no port), as the URL policy compares hosts."""
        return urlsplit(self.prefix).hostname or ""

    @property
    def name(self) -> str:
        """How messages name the archive: the replay prefix's ``host[:port]``."""
        return urlsplit(self.prefix).netloc

    @property
    def cdx_host(self) -> str:
        return _hostname(self.cdx_endpoint)

    @property
    def cdx_endpoint(self) -> str:
        if self.cdx_url is not None:
            return self.cdx_url
        return IA_CDX_URL if self.host == IA_HOST else f"{self.prefix}/cdx"

    @property
    def cdx_netloc(self) -> str:
        """``host[:port]`` of the CDX endpoint: the key of its shared request budget."""
        return urlsplit(self.cdx_endpoint).netloc.lower()

    @property
    def cdx_budget(self) -> int:
        if self.cdx_per_minute is not None:
            return self.cdx_per_minute
        return (
            IA_CDX_PER_MINUTE if _hostname(self.cdx_endpoint) == IA_HOST else OTHER_CDX_PER_MINUTE
        )

    @property
    def cdx_page_size(self) -> int | None:
        if self.page_size is not None:
            return self.page_size
        return IA_PAGE_SIZE if urlsplit(self.cdx_endpoint).path.endswith(IA_CDX_PATH) else None


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL with a host, not {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{name} must not carry a query or fragment: {value!r}")
    return value.strip().rstrip("/")


def _hostname(url: str) -> str:
    return urlsplit(url).hostname or ""
