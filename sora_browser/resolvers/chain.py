"""Fall back through resolvers in order: static parsing first, a real browser when it must.

Only "no video here" errors move on to the next resolver. A page that is gone stays gone (a
browser cannot bring it back), a page too big to read or naming only refused media is not
handed to a browser that would read the same page, and a bug or a network failure is raised
as it is, so a broken static step never silently turns into a slow browser run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import MediaRefused, NoVideoFound, PageGone, PageTooLarge
from ..models import ResolvedVideo
from ..options import ResolveOptions
from ..urls import ShareLink
from .base import Resolver

ResolverFactory = Callable[[], Resolver]


class ChainResolver:
    """Try each resolver in turn; later ones are built only when an earlier one gives up."""

    name = "auto"

    def __init__(self, factories: Sequence[ResolverFactory]) -> None:
        self._factories = list(factories)
        self._built: dict[int, Resolver] = {}

    def _get(self, index: int) -> Resolver:
        if index not in self._built:
            self._built[index] = self._factories[index]()
        return self._built[index]

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        last: NoVideoFound | None = None
        for index in range(len(self._factories)):
            try:
                return await self._get(index).resolve(link)
            except (PageTooLarge, MediaRefused):
                raise  # the next resolver would read the same page, at a greater cost
            except PageGone:
                raise
            except NoVideoFound as exc:
                last = _chain_message(last, exc)
        assert last is not None, "a chain needs at least one resolver"
        raise last

    async def aclose(self) -> None:
        built, self._built = self._built, {}
        for resolver in built.values():
            await resolver.aclose()


def _chain_message(previous: NoVideoFound | None, current: NoVideoFound) -> NoVideoFound:
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
    # Both imported here: static runs and `--help` must not pay for Playwright, and browser
    # runs not for the static stack (its HTTP session and tenacity).

    def static() -> Resolver:
        from .static import StaticResolver

        return StaticResolver(options)

    def browser() -> Resolver:
        from .browser.resolver import BrowserResolver

        return BrowserResolver(options)

    if options.browser_only:
        return browser()
    if options.mode == "static":
        return static()
    return ChainResolver([static, browser])
