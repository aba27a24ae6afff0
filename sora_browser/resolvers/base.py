"""The resolver seam: anything that turns a share link into a ``ResolvedVideo``."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..errors import NoVideoFound, PageGone, PostPrivate
from ..models import Cookie, ResolvedVideo
from ..options import ResolveOptions
from ..parsing import Candidate, PostInfo, prefer
from ..urls import ShareLink, signed_url_expiry


@runtime_checkable
class Resolver(Protocol):
    name: str

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        """Find the best direct MP4 URL, or raise ``NoVideoFound`` (or a subclass)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class RenditionResolver(Resolver, Protocol):
    """A resolver that can also list every rendition it found, not only the best one."""

    async def renditions(self, link: ShareLink) -> list[ResolvedVideo]:
        """Every rendition it can vouch for, best first: the first is what ``resolve`` gives.
        Never empty: no video raises as ``resolve`` does."""
        ...


async def all_renditions(resolver: Resolver, link: ShareLink) -> list[ResolvedVideo]:
    """``resolver``'s renditions, or its one best answer when it cannot list them."""
    if isinstance(resolver, RenditionResolver):
        return await resolver.renditions(link)
    return [await resolver.resolve(link)]


def chosen(ranked: list[Candidate], options: ResolveOptions) -> list[Candidate]:
    """The ranked candidates narrowed to ``--quality`` and ``--no-watermark``, best first;
    ``NoVideoFound`` naming what the page has when none is left."""
    return prefer(ranked, options.quality, clean=options.no_watermark)


def post_unavailable(url: str, state: str | None) -> NoVideoFound | None:
    """The error for a post its JSON says is removed or private (``None`` otherwise).

    Asked only when a page gave no usable video: a page may embed other posts' JSON too.
    """
    if state == "removed":
        return PageGone(f"The post was removed: {url} (its page says so)")
    if state == "private":
        return PostPrivate(f"The post is private: {url} (its page says no one may see it)")
    return None


def to_resolved(
    link: ShareLink,
    candidate: Candidate,
    *,
    resolver: str,
    title: str | None = None,
    info: PostInfo | None = None,
    cookies: tuple[Cookie, ...] = (),
) -> ResolvedVideo:
    """Build the result from the chosen candidate and what the page said."""
    return ResolvedVideo(
        mp4_url=candidate.url,
        expires_at=signed_url_expiry(candidate.url),
        cookies=cookies,
        referer=link.url,
        **page_fields(link, candidate, resolver=resolver, title=title, info=info),
    )


def page_fields(
    link: ShareLink,
    candidate: Candidate,
    *,
    resolver: str,
    title: str | None = None,
    info: PostInfo | None = None,
) -> dict[str, Any]:
    """What every resolver's result says about the video, wherever its bytes come from."""
    about = info or PostInfo()
    return {
        "share_url": link.url,
        "share_id": link.share_id,
        "resolver": resolver,
        "strategy": candidate.strategy,
        "variant": candidate.variant,
        "watermarked": candidate.watermarked,
        "width": candidate.width or about.width,
        "height": candidate.height or about.height,
        "n_frames": about.n_frames,
        "duration_seconds": about.duration_seconds,
        "title": candidate.title or title or about.prompt,
        "prompt": about.prompt,
        "username": about.username,
        "post_state": about.state,
        "post_id": about.post_id,
        "generation_id": about.generation_id,
        "profile_url": about.profile_url,
        "posted_at": about.posted_at,
    }
