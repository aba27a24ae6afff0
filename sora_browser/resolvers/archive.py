"""Resolve a share link from a Wayback archive: Sora was switched off, its captures were not.

One resolution, asking the archive as little as it can (every CDX query counts against the
archive's budget, docs/ARCHITECTURE.md "Archives"):

1. the page's captures: one prefix query per form the link may have been captured under
   (``sora.chatgpt.com`` first for Sora 2, ``sora.com`` too for Sora 1; ``www.``, ``?psh=``
   and a trailing slash all share a SURT key, so one query covers them), kept when the
   original URL names the same share id;
2. the captures worth reading, best first: status 200, one per distinct digest, newest first
   (or closest to ``--wayback-date``); a captured challenge, a 404, a removed or private post
   or a page without a usable candidate moves on to the next, a few at most;
3. each page through the same pure parsers as a live page, candidates in the same rank order;
4. each candidate's media: one prefix query of its URL without the signature (captures
   under any signature), a whole copy wanted (a 200, or a 206 whose recorded range covers the
   file); the first candidate with one wins and the video is the ``id_`` replay of it.

The original site and CDN are never contacted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..archive.pieces import PiecesFound
from ..archive.replay import MediaCapture, Replay
from ..archive.source import ArchiveSource
from ..errors import (
    ArchivedInPieces,
    NotArchived,
    NoVideoFound,
    PageGone,
    PolicyRefused,
    PostPrivate,
)
from ..models import ResolvedVideo
from ..options import ResolveOptions
from ..parsing import (
    Candidate,
    PageState,
    classify_page,
    find_candidates,
    page_post_info,
    page_title,
    post_state,
    prefer,
    rank_candidates,
)
from ..urls import SHARE_HOSTS, ShareLink, UrlPolicy, parse_share_url
from .base import page_fields

if TYPE_CHECKING:
    from ..archive.cdx import CdxRecord

MAX_PAGES_READ = 5
_PRIVATE = "a private post"
"""Page captures read before giving up: each is a replay request, and older captures of a
page rarely differ from the newer ones in more than their signatures."""
_SORA1_KINDS = frozenset({"g", "t"})


@dataclass(frozen=True, slots=True)
class _Miss:
    """Why one page capture gave no video, for the final message."""

    capture: CdxRecord
    reason: str
    pieces: PiecesFound | None = None
    """The best candidate's pieces, when the archive holds it only in part."""


class ArchiveResolver:
    """A ``Resolver`` over an archive: a Wayback (IA's or a pywb, from ``options.wayback``) or
    any other ``ArchiveSource`` (WARC files)."""

    def __init__(
        self, options: ResolveOptions, *, source: ArchiveSource | None = None, name: str = "archive"
    ) -> None:
        self.options = options
        self.name = name
        self.source = source or _wayback(options)
        self.policy = UrlPolicy(options.allow_hosts)
        self.date = options.wayback.date if options.wayback is not None else None

    async def aclose(self) -> None:
        await self.source.aclose()

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        return (await self._renditions(link, every=False))[0]

    async def renditions(self, link: ShareLink) -> list[ResolvedVideo]:
        """Every rendition of the first page capture that has one archived whole, best first.

        One more index lookup per rendition than ``resolve`` (which stops at the first).
        """
        return await self._renditions(link, every=True)

    async def resolve_from(self, link: ShareLink, captures: list[CdxRecord]) -> ResolvedVideo:
        """``resolve`` with the page's captures already known (a listing found them)."""
        return (await self._from_captures(link, captures, every=False))[0]

    async def _renditions(self, link: ShareLink, *, every: bool) -> list[ResolvedVideo]:
        if link.kind == "media":
            return [await self._media_link(link)]
        return await self._from_captures(link, await self._page_captures(link), every=every)

    async def _from_captures(
        self, link: ShareLink, captures: list[CdxRecord], *, every: bool
    ) -> list[ResolvedVideo]:
        if not captures:
            forms = " and ".join(_page_forms(link))
            raise NotArchived(
                url=link.url,
                archive=self.source.name,
                message=f"{self.source.name} holds no capture of {link.url} (looked for {forms},"
                " with or without www., any query such as ?psh=, and a trailing slash)",
            )
        misses: list[_Miss] = []
        for capture in self._worth_reading(captures)[:MAX_PAGES_READ]:
            found = await self._from_page(link, capture, every=every)
            if not isinstance(found, _Miss):
                return found
            misses.append(found)
        raise _no_video(link, captures, misses, self.source.name)

    # -- the page ------------------------------------------------------------------------------

    async def _page_captures(self, link: ShareLink) -> list[CdxRecord]:
        """Captures of the share page, form by form until one holds a page (a 200)."""
        found: list[CdxRecord] = []
        for form in _page_forms(link):
            records = await self.source.search(form, match_type="prefix")
            found += [r for r in records if _share_id(r.original) == link.share_id]
            if any(r.status == 200 for r in found):
                break
        return found

    def _worth_reading(self, captures: Iterable[CdxRecord]) -> list[CdxRecord]:
        pages = [c for c in captures if c.status == 200]
        distinct = {c.digest or c.timestamp: c for c in sorted(pages, key=lambda c: c.timestamp)}
        return sorted(distinct.values(), key=self._preference)

    def _preference(self, capture: CdxRecord) -> float:
        wanted = self.date
        if wanted is None:
            return -capture.captured_at.timestamp()  # newest first
        return abs((capture.captured_at - wanted).total_seconds())

    async def _from_page(
        self, link: ShareLink, capture: CdxRecord, *, every: bool
    ) -> list[ResolvedVideo] | _Miss:
        text = await self.source.page_text(capture, self.options.max_page_bytes)
        if text is None:
            return _Miss(capture, "the archive would not replay it")
        state = classify_page(200, {}, text)
        if state is PageState.CHALLENGE:
            return _Miss(capture, "a captured bot challenge")
        if state is PageState.LOGIN:
            return _Miss(capture, "a login wall")
        said = post_state(text)
        if said is not None:
            return _Miss(capture, f"the post was {said}" if said == "removed" else _PRIVATE)
        if state is PageState.GONE:
            return _Miss(capture, "a page saying the post is gone")
        candidates = self._allowed(rank_candidates(find_candidates(text, capture.original)))
        if not candidates:
            return _Miss(capture, "no video link in the page")
        try:
            candidates = prefer(candidates, self.options.quality, clean=self.options.no_watermark)
        except NoVideoFound as exc:
            return _Miss(capture, exc.message)
        found, partial = await self._media_of(link, candidates, capture, text, every=every)
        if found:
            return found
        if partial is not None:
            return _Miss(capture, f"its video was {partial.explain()}", partial)
        looked = ", ".join(c.url.split("?", 1)[0] for c in candidates[:2])
        return _Miss(capture, f"its video was never archived (looked for {looked})")

    async def _media_of(
        self,
        link: ShareLink,
        candidates: list[Candidate],
        capture: CdxRecord,
        text: str,
        *,
        every: bool,
    ) -> tuple[list[ResolvedVideo], PiecesFound | None]:
        """The candidates whose video the archive holds (the first only, unless ``every``),
        and the best one's pieces when it holds only part of it."""
        found: list[ResolvedVideo] = []
        partial: PiecesFound | None = None
        for candidate in candidates:
            held = await self.source.holdings(candidate.url)
            if isinstance(held, MediaCapture) or (held is not None and held.complete):
                found.append(self._result(link, candidate, held, capture, text))
                if not every:
                    break
            else:
                partial = partial or held
        return found, partial

    async def media_for(
        self, link: ShareLink, candidate: Candidate, page: str | None
    ) -> ResolvedVideo | None:
        """The archived copy of one candidate's video (whole, or pieces that make it up);
        ``page`` is the text of the page that named it, when there is one."""
        held = await self.source.holdings(candidate.url)
        if isinstance(held, MediaCapture) or (held is not None and held.complete):
            return self._result(link, candidate, held, None, page)
        return None

    def _allowed(self, ranked: list[Candidate]) -> list[Candidate]:
        """Candidates the URL policy accepts: a refused URL is not even looked up."""
        allowed = []
        for candidate in ranked:
            try:
                self.policy.check_url(candidate.url)
            except PolicyRefused:
                continue
            allowed.append(candidate)
        return allowed

    # -- a pasted CDN link ---------------------------------------------------------------------

    async def _media_link(self, link: ShareLink) -> ResolvedVideo:
        held = await self.source.holdings(link.url)
        name, path = self.source.name, link.url.split("?", 1)[0]
        if held is None:
            raise NotArchived(url=path, archive=name)
        if isinstance(held, PiecesFound) and not held.complete:
            message = f"{name} holds {path} {held.explain()}"
            raise ArchivedInPieces(
                message, url=path, archive=name, ranges_held=held.ranges_held, total=held.total
            )
        candidate = Candidate(url=link.url, strategy="cdn-link")
        return self._result(link, candidate, held, None, None)

    def _result(
        self,
        link: ShareLink,
        candidate: Candidate,
        media: MediaCapture | PiecesFound,
        page: CdxRecord | None,
        text: str | None,
    ) -> ResolvedVideo:
        """The result for ``candidate``'s media, with what the page ``text`` says."""
        title, info = (page_title(text), page_post_info(text)) if text else (None, None)
        return ResolvedVideo(
            page_captured_at=page.captured_at if page is not None else None,
            **page_fields(link, candidate, resolver=self.name, title=title, info=info),
            **self._media_fields(media, candidate),
        )

    def _media_fields(self, media: MediaCapture | PiecesFound, candidate: Candidate) -> Any:
        """Where the bytes come from: one capture's replay, or the pieces to join."""
        if isinstance(media, PiecesFound):
            first = min(media.pieces, key=lambda p: (p.start, -p.end))
            fields = {"url": first.url, "captured_at": first.captured_at, "original": candidate.url}
            extra = {"media_ranges_held": media.ranges_held, "pieces": media.pieces}
        else:
            record = media.record
            url = self.source.media_url(record)
            fields = {"url": url, "captured_at": record.captured_at, "original": record.original}
            extra = {}
        # A recorded 206 replays whole whatever range is asked: one connection for each.
        whole_200 = isinstance(media, MediaCapture) and media.record.status == 200
        return {
            "mp4_url": fields["url"],
            "replay_url": fields["url"],
            "media_captured_at": fields["captured_at"],
            "original_media_url": fields["original"],
            "max_connections": None if whole_200 else 1,
            **extra,
        }


def _wayback(options: ResolveOptions) -> Replay:
    from .._http import Proxy
    from ..archive.client import WaybackClient

    if options.wayback is None:
        raise ValueError("the archive resolver needs ResolveOptions.wayback or a source")
    proxy = Proxy.of(options.proxy, options.no_proxy)
    client = WaybackClient(options.wayback, on_wait=options.on_archive_wait, proxy=proxy)
    return Replay(client, options)


def _page_forms(link: ShareLink) -> list[str]:
    """Where the archive may hold the page, likeliest first (no scheme, no ``www.``: the
    archive's SURT keys drop both). Sora 1 links lived on both hosts, Sora 2 posts on
    sora.chatgpt.com; the link's own Sora host goes first, a mirror's links are looked up on
    Sora's hosts."""
    host = link.host.removeprefix("www.")
    hosts = sorted(SHARE_HOSTS, key=lambda h: (h != host, h != "sora.chatgpt.com"))
    if link.kind not in _SORA1_KINDS and host != "sora.com":
        hosts = ["sora.chatgpt.com"]
    return [f"{h}/{link.kind}/{link.share_id}" for h in hosts]


def _share_id(original: str) -> str | None:
    try:
        return parse_share_url(original).share_id
    except (ValueError, PolicyRefused):
        return None


def _no_video(
    link: ShareLink, captures: list[CdxRecord], misses: list[_Miss], archive: str
) -> NoVideoFound:
    """One message for why none of the captures gave a video (exit 3)."""
    if not misses:
        statuses = sorted({c.statuscode for c in captures})
        return NotArchived(
            url=link.url,
            archive=archive,
            message=f"{archive} holds {len(captures)} capture(s) of {link.url}, none a page"
            f" (status {', '.join(statuses)})",
        )
    newest = misses[0]
    when = _day(newest.capture.captured_at)
    pieces = next((m for m in misses if m.pieces is not None), None)
    if pieces is not None and pieces.pieces is not None:
        message = f"{archive} has the page {link.url} but {pieces.reason}"
        found = pieces.pieces
        return ArchivedInPieces(
            message, url=link.url, archive=archive, ranges_held=found.ranges_held, total=found.total
        )
    if all(m.reason.startswith("the post was removed") for m in misses):
        return PageGone(f"The post was removed: every capture of {link.url} says so ({when})")
    if all(m.reason == _PRIVATE for m in misses):
        return PostPrivate(f"The post is private: every capture of {link.url} says so ({when})")
    if all("never archived" in m.reason for m in misses):
        return NotArchived(
            url=link.url,
            archive=archive,
            message=f"{archive} has the page {link.url} (captured {when}) but {newest.reason}",
        )
    reasons = "; ".join(f"{_day(m.capture.captured_at)}: {m.reason}" for m in misses)
    return NoVideoFound(f"No archived capture of {link.url} has its video ({reasons})")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
