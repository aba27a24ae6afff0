"""``SoraClient``: resolution only, share link in, direct MP4 URL out.

Kept apart from the downloader so ``sora-browser resolve`` imports no download machinery.
"""

from __future__ import annotations

from collections.abc import Awaitable
from types import TracebackType
from typing import Self, TypeVar

from .deadline import Deadline
from .models import ResolvedVideo
from .options import ResolveOptions
from .resolvers.base import Resolver, all_renditions
from .resolvers.chain import build_resolver
from .urls import ShareLink, UrlPolicy, parse_share_url

T = TypeVar("T")


class SoraClient:
    """Resolution only: share link in, direct MP4 URL out."""

    def __init__(self, options: ResolveOptions | None = None, *, resolver: Resolver | None = None):
        self.options = options or ResolveOptions()
        self._resolver = resolver
        self._policy = UrlPolicy(self.options.allow_hosts)

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = build_resolver(self.options)
        return self._resolver

    async def resolve(self, share_url: str | None) -> ResolvedVideo:
        """Validate the link (``InvalidShareURL``, exit 2) and find its best MP4 URL.

        With ``ResolveOptions.page_file`` the link may be None: the saved page says it.
        ``options.timeout`` bounds the whole resolution: every resolver, attempt and wait
        (but not a wait on the archive's rate limit, which is not this link's doing).
        """
        link = self.share_link(share_url)
        return await self._within_timeout(link, self.resolver.resolve(link))

    async def renditions(self, share_url: str | None) -> list[ResolvedVideo]:
        """Every rendition of the video that the resolver found usable, best first
        (``resolve`` answers the first): for a caller that lets the user choose, as yt-dlp's
        ``-F``/``-f`` do. Resolvers that cannot list renditions give their one best."""
        link = self.share_link(share_url)
        return await self._within_timeout(link, all_renditions(self.resolver, link))

    async def _within_timeout(self, link: ShareLink, work: Awaitable[T]) -> T:
        limit = self.options.timeout
        try:
            async with Deadline(limit):
                return await work
        except TimeoutError as exc:
            from .errors import FetchError

            raise FetchError(
                f"Could not find the video of {link.url} within {limit:g} s (--resolve-timeout)",
                url=link.url,
            ) from exc

    def share_link(self, share_url: str | None) -> ShareLink:
        """The link, checked and normalised (``InvalidShareURL``, exit 2), nothing fetched."""
        if share_url is None:
            share_url = self._link_of_page()
        return parse_share_url(
            share_url, policy=self._policy, accept_media=self.options.reads_archive
        )

    def _link_of_page(self) -> str:
        if self.options.page_file is None:
            raise ValueError("a share link is needed unless ResolveOptions.page_file is set")
        from .resolvers.page import link_of_page

        return link_of_page(self.options.page_file, self.options.max_page_bytes)

    async def get_mp4_url(self, share_url: str) -> str:
        return (await self.resolve(share_url)).mp4_url

    async def aclose(self) -> None:
        if self._resolver is not None:
            await self._resolver.aclose()
            self._resolver = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
