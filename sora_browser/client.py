"""``SoraClient``: resolution only, share link in, direct MP4 URL out.

Kept apart from the downloader so ``sora-browser resolve`` imports no download machinery.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from .deadline import Deadline
from .models import ResolvedVideo
from .options import ResolveOptions
from .resolvers.base import Resolver
from .resolvers.chain import build_resolver
from .urls import UrlPolicy, parse_share_url


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

    async def resolve(self, share_url: str) -> ResolvedVideo:
        """Validate the link (``InvalidShareURL``, exit 2) and find its best MP4 URL.

        ``options.timeout`` bounds the whole resolution: every resolver, attempt and wait.
        """
        link = parse_share_url(share_url, policy=self._policy)
        limit = self.options.timeout
        try:
            async with Deadline(limit):
                return await self.resolver.resolve(link)
        except TimeoutError as exc:
            from .errors import FetchError

            raise FetchError(
                f"Could not find the video of {link.url} within {limit:g} s (--resolve-timeout)",
                url=link.url,
            ) from exc

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
