"""Every Sora share link an archive holds under a URL prefix, once each.

The index is read page by page (``WaybackClient.iter_search`` follows IA's resume keys past
its answer cut-off), each capture's original URL is parsed as a share link, and the captures
of one share id (any host form, ``?psh=``, trailing slash) are counted together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..errors import BadInput
from ..urls import ShareLink, parse_share_url
from .cdx import CdxRecord


class Listable(Protocol):
    """An archive whose captures can be listed by URL prefix (a Wayback, WARC files)."""

    def iter_search(
        self, prefix: str, *, from_: str | None = None, to: str | None = None
    ) -> AsyncIterator[CdxRecord]: ...


DEFAULT_PREFIX = "sora.chatgpt.com/p/"


@dataclass(slots=True)
class ArchivedLink:
    """One share link and what the archive holds of its page."""

    link: ShareLink
    captures: list[CdxRecord] = field(default_factory=list)
    media: str | None = None
    """With ``--check-media``: ``whole``, ``pieces_complete``, ``pieces_partial`` or ``none``."""
    media_share: float | None = None

    @property
    def readable(self) -> bool:
        """Whether any capture is a page (a 200) that could hold the video."""
        return any(c.status == 200 for c in self.captures)

    def to_json(self) -> dict[str, Any]:
        times = sorted(c.captured_at for c in self.captures)
        record: dict[str, Any] = {
            "share_url": self.link.canonical,
            "share_id": self.link.share_id,
            "first_capture": _iso(times[0]),
            "last_capture": _iso(times[-1]),
            "captures": len(self.captures),
        }
        if self.media is not None:
            record["media"] = self.media
            record["media_share_held"] = self.media_share
        return record


def _iso(moment: datetime) -> str:
    return moment.isoformat()


async def archived_links(
    archive: Listable,
    prefix: str = DEFAULT_PREFIX,
    *,
    from_: str | None = None,
    to: str | None = None,
) -> AsyncIterator[ArchivedLink]:
    """Each share link under ``prefix``, yielded once its captures are all read.

    The index answers in URL-key order, so a link's captures arrive together; a link is
    yielded when the next one starts, and memory stays flat however long the listing.
    """
    current: ArchivedLink | None = None
    done: set[str] = set()  # ids only: a link out of key order is still listed once
    async for record in archive.iter_search(prefix, from_=from_, to=to):
        link = _share_link(record.original)
        if link is None or link.share_id in done:
            continue
        if current is not None and current.link.share_id != link.share_id:
            done.add(current.link.share_id)
            yield current
            current = None
        current = current or ArchivedLink(link)
        current.captures.append(record)
    if current is not None:
        yield current


def _share_link(original: str) -> ShareLink | None:
    try:
        return parse_share_url(original)
    except BadInput:
        return None  # /explore, /profile/...: not a post
