"""The resolver seam: anything that turns a share link into a ``ResolvedVideo``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..models import Cookie, ResolvedVideo
from ..parsing import Candidate
from ..parsing.post import PostDetails
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


def to_resolved(
    link: ShareLink,
    candidate: Candidate,
    *,
    resolver: str,
    title: str | None = None,
    cookies: tuple[Cookie, ...] = (),
    post: PostDetails | None = None,
) -> ResolvedVideo:
    """Build the result from the chosen candidate and what the page said."""
    post = post or PostDetails()
    return ResolvedVideo(
        share_url=link.url,
        share_id=link.share_id,
        mp4_url=candidate.url,
        resolver=resolver,
        strategy=candidate.strategy,
        variant=candidate.variant,
        width=candidate.width,
        height=candidate.height,
        title=candidate.title or title,
        prompt=post.prompt,
        username=post.username,
        expires_at=signed_url_expiry(candidate.url),
        cookies=cookies,
        referer=link.url,
    )
