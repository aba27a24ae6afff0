"""Fall back through resolvers in order: the live site first (static parsing, then a real
browser when it must), then the archive.

Between the live steps only "no video here" errors move on. A page that is gone stays gone for
the live site (a browser cannot bring it back), and a bug is raised as it is, so a broken
static step never silently turns into a slow browser run. The archive is the step after the
live ones: it takes over when the live site has no video, when the page is gone (404/410, a
redirect off Sora, a "discontinued" notice, a removed or private post), and when the site
cannot be reached or keeps failing, since Sora itself is switched off and most links now
resolve only there. Without an archive those errors are raised as they are. A page too big
to read, or naming only refused media, is raised as it is too: the next resolver would read
the same page, at a greater cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from ..errors import (
    FetchError,
    MediaRefused,
    NoVideoFound,
    PageGone,
    PageTooLarge,
    PostPrivate,
    SoraBrowserError,
)
from ..models import ResolvedVideo
from ..options import ResolveOptions
from ..urls import ShareLink
from .base import Resolver, all_renditions

ResolverFactory = Callable[[], Resolver]
Step = Callable[[Resolver, ShareLink], Awaitable[list[ResolvedVideo]]]


class ChainResolver:
    """Try each live resolver in turn, then the archive; each is built only when reached."""

    name = "auto"

    def __init__(
        self, live: Sequence[ResolverFactory], archive: ResolverFactory | None = None
    ) -> None:
        self._factories = [*live, *([archive] if archive else [])]
        self._live = len(live)
        self._built: dict[int, Resolver] = {}

    def _get(self, index: int) -> Resolver:
        if index not in self._built:
            self._built[index] = self._factories[index]()
        return self._built[index]

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        return (await self._walk(link, _best))[0]

    async def renditions(self, link: ShareLink) -> list[ResolvedVideo]:
        """Every rendition the first resolver with a video found, best first."""
        return await self._walk(link, all_renditions)

    async def _walk(self, link: ShareLink, step: Step) -> list[ResolvedVideo]:
        last: SoraBrowserError | None = None
        live = self._live if link.kind != "media" else 0  # a CDN link has no live page
        for index in range(live):
            try:
                return await step(self._get(index), link)
            except (PageTooLarge, MediaRefused):
                raise  # the next resolver would read the same page, at a greater cost
            except (PageGone, PostPrivate, FetchError) as exc:
                if not self._has_archive:
                    raise
                last = exc
                break  # plainly not a live post: no browser for it, straight to the archive
            except NoVideoFound as exc:
                last = _chain_message(last, exc)
        if self._has_archive:
            return await self._from_archive(link, last, step)
        assert last is not None, "a chain needs at least one resolver"
        raise last

    @property
    def _has_archive(self) -> bool:
        return len(self._factories) > self._live

    async def _from_archive(
        self, link: ShareLink, live: SoraBrowserError | None, step: Step
    ) -> list[ResolvedVideo]:
        try:
            return await step(self._get(self._live), link)
        except SoraBrowserError as exc:
            if live is not None and isinstance(exc, NoVideoFound):
                exc.message = f"{exc.message} (live site: {live.message})"
            raise

    async def aclose(self) -> None:
        built, self._built = self._built, {}
        for resolver in built.values():
            await resolver.aclose()


async def _best(resolver: Resolver, link: ShareLink) -> list[ResolvedVideo]:
    return [await resolver.resolve(link)]


def _chain_message(previous: SoraBrowserError | None, current: NoVideoFound) -> NoVideoFound:
    """Keep what the first resolver learned when it adds something the last one did not say.

    "media URLs refused by the URL policy" tells a user more than the browser's plain "could
    not find"; the static step's hint to try the browser is moot once the browser has run.
    """
    if previous is None or previous.message == current.message or "--browser" in previous.message:
        return current
    detail = previous.message.removeprefix(current.message).strip(" ()")
    current.message = f"{current.message} (static parsing: {detail})"
    return current


def build_resolver(options: ResolveOptions) -> Resolver:
    """The resolver for ``options.mode`` (and HAR replay when ``options.har_path`` is set)."""
    # Each imported here: static runs and `--help` must not pay for Playwright, and browser
    # runs not for the static stack (its HTTP session and tenacity).

    def static() -> Resolver:
        from .static import StaticResolver

        return StaticResolver(options)

    def browser() -> Resolver:
        from .browser.resolver import BrowserResolver

        return BrowserResolver(options)

    def archive() -> Resolver:
        from .archive import ArchiveResolver

        return ArchiveResolver(options)

    def warcs() -> Resolver:
        from ..archive.warc import WarcArchive
        from .archive import ArchiveResolver

        source = WarcArchive(options.warc_paths, cache_dir=options.index_cache_dir)
        return ArchiveResolver(options, source=source, name="warc")

    if options.page_file is not None:
        return _page_resolver(options, warcs if options.warc_paths else archive)
    if options.warc_paths:
        return warcs()
    if options.har_path is not None:
        from .har_media import HarMediaResolver

        return HarMediaResolver(options, browser())
    if options.browser_only:
        return browser()
    if options.mode == "static":
        return static()
    if options.mode == "archive":
        return ChainResolver([], archive)
    live = [static, browser] if options.browser_fallback else [static]
    return ChainResolver(live, archive if options.wayback is not None else None)


def _page_resolver(options: ResolveOptions, media: ResolverFactory) -> Resolver:
    """A saved page, with the archive (Wayback or WARCs) its media may come from."""
    from .archive import ArchiveResolver
    from .page import PageFileResolver

    archive = media() if options.warc_paths or options.wayback is not None else None
    assert archive is None or isinstance(archive, ArchiveResolver)
    return PageFileResolver(options, archive)
