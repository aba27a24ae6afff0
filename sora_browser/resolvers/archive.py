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
from typing import TYPE_CHECKING

from ..archive.replay import MediaCapture, Replay
from ..errors import NotArchived, NoVideoFound, PageGone, PolicyRefused
from ..models import ResolvedVideo
from ..options import ResolveOptions
from ..parsing import (
    Candidate,
    PageState,
    classify_page,
    find_candidates,
    page_title,
    post_state,
    rank_candidates,
)
from ..parsing.post import PostDetails, post_details
from ..urls import SHARE_HOSTS, ShareLink, UrlPolicy, parse_share_url

if TYPE_CHECKING:
    from ..archive.cdx import CdxRecord
    from ..archive.client import WaybackClient

MAX_PAGES_READ = 5
"""Page captures read before giving up: each is a replay request, and older captures of a
page rarely differ from the newer ones in more than their signatures."""
_SORA1_KINDS = frozenset({"g", "t"})


@dataclass(frozen=True, slots=True)
class _Miss:
    """Why one page capture gave no video, for the final message."""

    capture: CdxRecord
    reason: str


class ArchiveResolver:
    """A ``Resolver`` over a Wayback archive (IA's or a pywb), from ``options.wayback``."""

    name = "archive"

    def __init__(self, options: ResolveOptions, *, client: WaybackClient | None = None) -> None:
        from ..archive.client import WaybackClient

        if options.wayback is None:
            raise ValueError("the archive resolver needs ResolveOptions.wayback")
        self.options = options
        self.wayback = options.wayback
        self.client = client or WaybackClient(options.wayback, on_wait=options.on_archive_wait)
        self.policy = UrlPolicy(options.allow_hosts)
        self.replay = Replay(self.client, options)

    async def aclose(self) -> None:
        await self.replay.aclose()
        await self.client.aclose()

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
            raise NotArchived(url=link.url, archive=self.client.options.name, match_type="prefix")
        misses: list[_Miss] = []
        for capture in self._worth_reading(captures)[:MAX_PAGES_READ]:
            found = await self._from_page(link, capture, every=every)
            if not isinstance(found, _Miss):
                return found
            misses.append(found)
        raise _no_video(link, captures, misses, self.client.options.name)

    # -- the page ------------------------------------------------------------------------------

    async def _page_captures(self, link: ShareLink) -> list[CdxRecord]:
        """Captures of the share page, form by form until one holds a page (a 200)."""
        found: list[CdxRecord] = []
        for form in _page_forms(link):
            records = await self.client.search(form, match_type="prefix")
            found += [r for r in records if _share_id(r.original) == link.share_id]
            if any(r.status == 200 for r in found):
                break
        return found

    def _worth_reading(self, captures: Iterable[CdxRecord]) -> list[CdxRecord]:
        pages = [c for c in captures if c.status == 200]
        distinct = {c.digest or c.timestamp: c for c in sorted(pages, key=lambda c: c.timestamp)}
        return sorted(distinct.values(), key=self._preference)

    def _preference(self, capture: CdxRecord) -> float:
        wanted = self.wayback.date
        if wanted is None:
            return -capture.captured_at.timestamp()  # newest first
        return abs((capture.captured_at - wanted).total_seconds())

    async def _from_page(
        self, link: ShareLink, capture: CdxRecord, *, every: bool
    ) -> list[ResolvedVideo] | _Miss:
        text = await self.replay.page_text(capture)
        if text is None:
            return _Miss(capture, "the archive would not replay it")
        state = classify_page(200, {}, text)
        if state is PageState.CHALLENGE:
            return _Miss(capture, "a captured bot challenge")
        if state is PageState.LOGIN:
            return _Miss(capture, "a login wall")
        said = post_state(text)
        if said is not None:
            return _Miss(capture, f"the post was {said}" if said == "removed" else "a private post")
        if state is PageState.GONE:
            return _Miss(capture, "a page saying the post is gone")
        candidates = self._allowed(rank_candidates(find_candidates(text, capture.original)))
        if not candidates:
            return _Miss(capture, "no video link in the page")
        found: list[ResolvedVideo] = []
        for candidate in candidates:
            media = await self.replay.whole_copy(candidate.url)
            if media is not None:
                found.append(self._result(link, candidate, media, capture, text))
                if not every:
                    break
        if found:
            return found
        looked = ", ".join(c.url.split("?", 1)[0] for c in candidates[:2])
        return _Miss(capture, f"its video was never archived (looked for {looked})")

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
        media = await self.replay.whole_copy(link.url)
        if media is None:
            raise NotArchived(url=link.url.split("?", 1)[0], archive=self.client.options.name)
        candidate = Candidate(url=link.url, strategy="cdn-link")
        return self._result(link, candidate, media, None, None)

    def _result(
        self,
        link: ShareLink,
        candidate: Candidate,
        media: MediaCapture,
        page: CdxRecord | None,
        text: str | None,
    ) -> ResolvedVideo:
        replay = self.client.replay_url(media.record.timestamp, media.record.original)
        post = post_details(text) if text is not None else PostDetails()
        return ResolvedVideo(
            share_url=link.url,
            share_id=link.share_id,
            mp4_url=replay,
            resolver=self.name,
            strategy=candidate.strategy,
            variant=candidate.variant,
            width=candidate.width,
            height=candidate.height,
            title=candidate.title or (page_title(text) if text is not None else None),
            prompt=post.prompt,
            username=post.username,
            page_captured_at=page.captured_at if page is not None else None,
            media_captured_at=media.record.captured_at,
            original_media_url=media.record.original,
            replay_url=replay,
            # A recorded 206 replays whole whatever range is asked: one connection for it.
            max_connections=1 if media.record.status == 206 else None,
        )


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
    if all(m.reason.startswith("the post was removed") for m in misses):
        return PageGone(f"The post was removed: every capture of {link.url} says so ({when})")
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
