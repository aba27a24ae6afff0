"""The resolver seam: anything that turns a share link into a ``ResolvedVideo``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..models import Cookie, ResolvedVideo
from ..parsing import Candidate
from ..urls import ShareLink, signed_url_expiry


@runtime_checkable
class Resolver(Protocol):
    name: str

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        """Find the best direct MP4 URL, or raise ``NoVideoFound`` (or a subclass)."""
        ...

    async def aclose(self) -> None: ...


def to_resolved(
    link: ShareLink,
    candidate: Candidate,
    *,
    resolver: str,
    title: str | None = None,
    cookies: tuple[Cookie, ...] = (),
) -> ResolvedVideo:
    """Build the result from the chosen candidate and what the page said."""
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
        expires_at=signed_url_expiry(candidate.url),
        cookies=cookies,
        referer=link.url,
    )
