"""Plain result types shared by resolvers, the downloader, the service, the CLI and Temporal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)``; must be cheap and never raise."""


class Cookie(NamedTuple):
    name: str
    value: str
    domain: str
    path: str = "/"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedVideo:
    """A direct MP4 URL and what the page said about it."""

    share_url: str
    share_id: str
    mp4_url: str
    resolver: str
    """Which resolver found it: ``static``, ``browser`` or ``har``."""
    strategy: str
    """Which strategy inside the resolver: ``og:video``, ``post-json``, ``network``, ..."""
    variant: str | None = None
    """Encoding name when known: ``source``, ``source_wm``, ``md``, ``ld``."""
    width: int | None = None
    height: int | None = None
    title: str | None = None
    expires_at: datetime | None = None
    cookies: tuple[Cookie, ...] = ()
    """Cookies the page ended up with; the CDN may want them."""
    referer: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "share_url": self.share_url,
            "share_id": self.share_id,
            "mp4_url": self.mp4_url,
            "resolver": self.resolver,
            "strategy": self.strategy,
            "variant": self.variant,
            "width": self.width,
            "height": self.height,
            "title": self.title,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadResult:
    """A verified file on disk."""

    path: Path
    url: str
    size: int
    sha256: str
    content_type: str | None = None
    resumed_from: int = 0
    """Bytes that were already in the ``.part`` file when this run started."""
    attempts: int = 1
    connections: int = 1
    elapsed: float = 0.0
    reresolved: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
