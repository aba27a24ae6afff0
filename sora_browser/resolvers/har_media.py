"""``--har FILE`` gives the video too, when the HAR holds its body.

The page is resolved by replaying the HAR in the browser (``resolvers.browser``); then the
media URL it found is looked up among the HAR's own bodies: a whole body is downloaded from
the file, pieces that cover the file are joined like archived pieces, and anything less says
what is missing. Only when the mode allows the network does the run fall back: to the HAR's
URL on the live CDN (``auto``, ``static``, ``browser``: what ``--har`` always resolved to),
or to the archive's copy of it (``--mode archive``).
"""

from __future__ import annotations

import dataclasses

from ..archive.har import HarMedia
from ..archive.pieces import PiecesFound
from ..archive.replay import MediaCapture
from ..errors import ArchivedInPieces, NoVideoFound
from ..models import ResolvedVideo
from ..options import ResolveOptions
from ..parsing import Candidate
from ..urls import ShareLink
from .base import Resolver


class HarMediaResolver:
    """Wraps the HAR replay resolver: its page, then the HAR's (or the archive's) video."""

    def __init__(self, options: ResolveOptions, page: Resolver) -> None:
        assert options.har_path is not None
        self.options = options
        self.page = page
        self.name = page.name
        self.media = HarMedia(options.har_path)

    async def aclose(self) -> None:
        await self.page.aclose()

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        resolved = await self.page.resolve(link)
        held = self.media.holdings(resolved.mp4_url)
        if isinstance(held, MediaCapture) or (held is not None and held.complete):
            return _from_har(resolved, held, self.media)
        if self.options.mode != "archive":
            return resolved  # the HAR's own URL, on the live CDN, with the usual retries
        fallback = await self._from_archive(link, resolved)
        if fallback is not None:
            return fallback
        raise _missing(resolved, held, self.options)

    async def _from_archive(self, link: ShareLink, resolved: ResolvedVideo) -> ResolvedVideo | None:
        if self.options.wayback is None:
            return None
        from .archive import ArchiveResolver

        archive = ArchiveResolver(self.options)
        try:
            candidate = Candidate(url=resolved.mp4_url, strategy=resolved.strategy)
            found = await archive.media_for(link, candidate, None)
            return None if found is None else _keep_page(found, resolved)
        finally:
            await archive.aclose()


def _from_har(
    resolved: ResolvedVideo, held: MediaCapture | PiecesFound, media: HarMedia
) -> ResolvedVideo:
    if isinstance(held, PiecesFound):
        first = held.pieces[0]
        return dataclasses.replace(
            resolved,
            mp4_url=first.url,
            pieces=held.pieces,
            media_ranges_held=held.ranges_held,
            max_connections=1,
            original_media_url=resolved.mp4_url,
        )
    url = media.media_url(int(held.record.offset or 0))
    return dataclasses.replace(
        resolved, mp4_url=url, max_connections=1, original_media_url=resolved.mp4_url
    )


def _missing(
    resolved: ResolvedVideo, held: PiecesFound | None, options: ResolveOptions
) -> NoVideoFound:
    har = options.har_path
    if held is None:
        return NoVideoFound(f"{har} holds no body of the video {resolved.mp4_url.split('?')[0]}")
    return ArchivedInPieces(
        f"{har} holds the video only {held.explain().removeprefix('archived ')}",
        url=resolved.mp4_url,
        archive=str(har),
        ranges_held=held.ranges_held,
        total=held.total,
    )


def _keep_page(found: ResolvedVideo, page: ResolvedVideo) -> ResolvedVideo:
    """The archive's media, with what the replayed page said about the video."""
    said = {name: getattr(page, name) for name in _ABOUT if getattr(found, name) is None}
    return dataclasses.replace(found, **said)


_ABOUT = ("variant", "watermarked", "width", "height", "title", "prompt", "username")
