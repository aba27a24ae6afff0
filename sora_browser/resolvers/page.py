"""Resolve from a saved share page (``--page FILE``): a page saved with "Save page as", or the
``.html`` of a page saved as "complete webpage".

The page is read from the file and parsed with the same parsers as a live one. Its video then
comes from where the run allows: the WARC files given (``--warc``), the archive (``--mode
archive``, or ``auto`` when the page's signed URL has long expired, as every Sora URL now
has), or the live CDN URL the page names (``static``, ``browser``, and ``auto`` while the
signature is still valid).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BadInput, NotArchived, NoVideoFound, PolicyRefused
from ..models import ResolvedVideo
from ..options import ResolveOptions
from ..parsing import (
    Candidate,
    find_candidates,
    page_post_info,
    page_share_url,
    page_title,
    prefer,
    rank_candidates,
)
from ..urls import ShareLink, UrlPolicy, is_expired
from .archive import ArchiveResolver
from .base import to_resolved


def read_page(path: Path, cap: int) -> str:
    """The saved page's text (at most ``cap`` bytes); ``BadInput`` naming the file if unreadable."""
    try:
        with path.open("rb") as page:
            return page.read(cap).decode("utf-8", "replace")
    except OSError as exc:
        raise BadInput(f"Cannot read the saved page {path}: {exc.strerror or exc}") from exc


def link_of_page(path: Path, cap: int) -> str:
    """The share link a saved page says it is, or ``BadInput`` asking for it."""
    found = page_share_url(read_page(path, cap))
    if found is None:
        raise BadInput(
            f"{path} does not say which share link it is (no og:url, canonical link or post"
            " id): pass the link as well"
        )
    return found


class PageFileResolver:
    """A ``Resolver`` whose page is a file; its media from WARCs, the archive or the CDN."""

    name = "page"

    def __init__(self, options: ResolveOptions, archive: ArchiveResolver | None = None) -> None:
        if options.page_file is None:
            raise ValueError("PageFileResolver needs ResolveOptions.page_file")
        self.options = options
        self.path = options.page_file
        self.archive = archive
        self.policy = UrlPolicy(options.allow_hosts)

    async def aclose(self) -> None:
        if self.archive is not None:
            await self.archive.aclose()

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        text = read_page(self.path, self.options.max_page_bytes)
        ranked = [c for c in rank_candidates(find_candidates(text, link.url)) if self._allowed(c)]
        if not ranked:
            raise NoVideoFound(f"Could not find an MP4 URL in the saved page {self.path}")
        ranked = prefer(ranked, self.options.quality, clean=self.options.no_watermark)
        if self.archive is not None and self._media_from_archive(ranked[0]):
            return await self._from_archive(link, ranked, text)
        info = page_post_info(text)
        return to_resolved(link, ranked[0], resolver=self.name, title=page_title(text), info=info)

    def _media_from_archive(self, best: Candidate) -> bool:
        if self.options.warc_paths or self.options.mode == "archive":
            return True
        if self.options.mode in ("static", "browser"):
            return False
        return is_expired(best.url)  # auto: the live CDN while the page's signature holds

    async def _from_archive(
        self, link: ShareLink, ranked: list[Candidate], text: str
    ) -> ResolvedVideo:
        assert self.archive is not None
        for candidate in ranked:
            found = await self.archive.media_for(link, candidate, text)
            if found is not None:
                return found
        looked = ", ".join(c.url.split("?", 1)[0] for c in ranked[:2])
        raise NotArchived(
            url=link.url,
            archive=self.archive.source.name,
            message=f"{self.archive.source.name} holds no copy of the video the saved page"
            f" {self.path} names (looked for {looked})",
        )

    def _allowed(self, candidate: Candidate) -> bool:
        try:
            self.policy.check_url(candidate.url)
        except PolicyRefused:
            return False
        return True
