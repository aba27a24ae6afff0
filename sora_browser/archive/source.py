"""The seam between the archive resolver and where captures come from.

A Wayback archive over HTTP (``replay.Replay``: IA or a pywb) and WARC files on disk
(``warc.WarcArchive``) answer the same four questions, so one resolver serves both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .cdx import CdxRecord
    from .pieces import PiecesFound
    from .query import MatchType
    from .replay import MediaCapture


class ArchiveSource(Protocol):
    name: str
    """How messages name the archive (a host, or the WARC files)."""

    async def search(self, url: str, *, match_type: MatchType = "exact") -> tuple[CdxRecord, ...]:
        """Captures of ``url`` (or of every URL under it, for ``prefix``)."""
        ...

    async def page_text(self, record: CdxRecord, cap: int) -> str | None:
        """The captured page, decoded, at most ``cap`` bytes; None when it cannot be read."""
        ...

    async def holdings(self, media_url: str) -> MediaCapture | PiecesFound | None:
        """What is held of ``media_url`` under any signature: whole, in pieces, or nothing."""
        ...

    def media_url(self, record: CdxRecord) -> str:
        """Where the downloader reads this capture's payload from."""
        ...

    async def aclose(self) -> None: ...
