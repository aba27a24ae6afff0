"""Resolve a share link in a real headless Chromium: for pages static parsing cannot read.

Such pages render the video with JavaScript, fetch the post JSON after load, play from a
``blob:`` URL, wait for a click, or sit behind a Cloudflare challenge. One resolution:

1. a fresh context (own cookies; ``--cookies`` loaded into it; optionally recording a HAR, or
   replaying one offline; ``har``), every request and WebSocket routed through the URL policy
   (``capture``), every connection Chromium opens passed through the ``gate``, the main
   document fetched under the page size cap (``document``);
2. listeners attached, then ``goto``; stop the moment a confident candidate exists (``drive``);
3. when the page goes idle showing a play control and no video source (a click-to-play card),
   click it at once; when it settles with nothing: read the DOM; on a challenge page wait for
   the reload; otherwise click play once and wait again; then give up with ``NoVideoFound``,
   quickly rather than at the timeout;
4. rank with ``parsing.rank_candidates`` and return the context's cookies with the URL, since
   the CDN may want the ones the challenge set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from ... import deadline, parsing
from ..._http import Proxy, new_session
from ...errors import ChallengeRequired, LoginRequired, NetworkError, NoVideoFound
from ...models import Cookie, ResolvedVideo
from ...options import ResolveOptions
from ...parsing import Candidate, PageState
from ...urls import ShareLink, UrlPolicy
from ..base import chosen, post_unavailable, to_resolved
from .capture import Capture
from .document import DocumentFetcher
from .drive import drive
from .gate import Gate
from .har import HarRecorder, replay_har
from .launch import LAUNCHER, BrowserLauncher, map_playwright_errors

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 1.0


class BrowserResolver:
    """A ``Resolver`` backed by the process-wide Chromium; a fresh context per link."""

    def __init__(self, options: ResolveOptions, *, launcher: BrowserLauncher | None = None):
        self.options = options
        self.name = "har" if options.har_path is not None else "browser"
        self.policy = UrlPolicy(options.allow_hosts)
        self.blocked: list[str] = []
        """Every URL the policy refused, across this resolver's runs (for debugging)."""
        self._launcher = launcher or LAUNCHER
        self._browser: Browser | None = None
        self._acquiring = asyncio.Lock()
        self._pages = asyncio.Semaphore(options.browser_pages)
        self.open_pages = 0
        self.peak_pages = 0
        """Most resolutions in flight at once (never above ``options.browser_pages``)."""
        self._runs = 0
        self._spare: asyncio.Task[tuple[BrowserContext, Page]] | None = None
        record = options.record_har_path
        self._recorder = HarRecorder(record) if record is not None else None
        self._gate = Gate(self.policy, proxy=options.proxy, no_proxy=options.no_proxy)
        self._session: aiohttp.ClientSession | None = None
        """Fetches top-level documents (``document.py``); made on first use."""

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        return (await self.renditions(link))[0]

    async def renditions(self, link: ShareLink) -> list[ResolvedVideo]:
        """What the page showed, best first; the page is left as soon as a confident
        candidate exists, so a rendition it never named is not listed."""
        browser = await self._get_browser()
        async with self._pages:
            started = time.perf_counter()
            self.open_pages += 1
            self.peak_pages = max(self.peak_pages, self.open_pages)
            try:
                return await self._resolve(browser, link)
            finally:
                self.open_pages -= 1
                log.debug("%s: %s in %.2fs", self.name, link.url, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._close_spare()
        await self._gate.aclose()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._recorder is not None:
            self._recorder.cleanup()
        if self._browser is not None:
            self._browser = None
            await self._launcher.release()

    async def _get_browser(self) -> Browser:
        async with self._acquiring:
            if self._browser is None or not self._browser.is_connected():
                if self._browser is not None:
                    await self._launcher.release()
                    self._browser = None
                self._browser = await self._launcher.acquire(self.options.chromium_path)
            return self._browser

    async def _resolve(self, browser: Browser, link: ShareLink) -> list[ResolvedVideo]:
        with map_playwright_errors(link.url):
            context, page = await self._fresh_page(browser)
            try:
                return await self._in_context(context, page, link)
            finally:
                await context.close()  # also writes the HAR when recording
                if self._recorder is not None:
                    self._recorder.closed(context, keep=True)
                self._runs += 1
                self._prepare_spare(browser)

    async def _fresh_page(self, browser: Browser) -> tuple[BrowserContext, Page]:
        spare, self._spare = self._spare, None
        if spare is not None:
            try:
                return await spare
            except PlaywrightError:
                pass  # the browser it was made in is gone; make one the ordinary way
        return await self._open_page(browser)

    async def _open_page(self, browser: Browser) -> tuple[BrowserContext, Page]:
        await self._gate.start()
        args = self._context_args()
        context = await browser.new_context(**args)
        if self._recorder is not None:
            self._recorder.opened(context, args)
        try:
            return context, await context.new_page()
        except BaseException:
            await self._close_unused(context)
            raise

    async def _close_unused(self, context: BrowserContext) -> None:
        await context.close()
        if self._recorder is not None:
            self._recorder.closed(context, keep=False)

    def _prepare_spare(self, browser: Browser) -> None:
        # A new page costs ~0.2 s (a renderer process starts). A resolver used for a batch
        # (a second link) keeps one fresh, unused context ready, so the next link skips that.
        # Still one context per link: a spare is never reused, only made ahead of time.
        if self._runs >= 2 and self._spare is None and browser.is_connected():
            self._spare = asyncio.get_running_loop().create_task(self._open_page(browser))

    async def _close_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is None:
            return
        try:
            context, _ = await spare
            await self._close_unused(context)
        except PlaywrightError:
            pass  # closed with its browser already

    def _document(self, context: BrowserContext) -> DocumentFetcher | None:
        if self.options.har_path is not None:
            return None  # replaying: the HAR answers, nothing is fetched
        proxy = Proxy.of(self.options.proxy, self.options.no_proxy)
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.options.timeout)
            self._session = new_session(
                policy=self.policy,
                user_agent=self.options.user_agent,
                timeout=timeout,
                proxy=proxy,
            )
        cap = self.options.max_page_bytes
        return DocumentFetcher(self._session, self.policy, context, cap, proxy)

    def _context_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "user_agent": self.options.user_agent,
            # Requests a service worker answers bypass routing, and with it the URL policy.
            "service_workers": "block",
            "java_script_enabled": True,
            # Every connection Chromium opens, loopback ones too, passes the gate (gate.py).
            "proxy": {"server": self._gate.url, "bypass": "<-loopback>"},
        }
        if self._recorder is not None:
            args.update(self._recorder.context_args())
        return args

    async def _in_context(
        self, context: BrowserContext, page: Page, link: ShareLink
    ) -> list[ResolvedVideo]:
        if self.options.har_path is not None:
            # Registered first so it runs last: the policy route below sees each request first.
            await replay_har(context, self.options.har_path)
        if self.options.cookies_file is not None:
            await context.add_cookies(_cookie_params(self.options.cookies_file))
        capture = Capture(
            self.policy, page.main_frame, self.options.max_page_bytes, self._document(context)
        )
        await context.route("**/*", capture.route)
        await page.route_web_socket(lambda _: True, capture.route_web_socket)
        _listen(page, capture)
        try:
            ranked = chosen(await self._find(page, capture, link), self.options)
            title, info = _title(_html(capture)), capture.post_info()
            cookies = tuple(
                Cookie(c["name"], c["value"], c["domain"], c["path"])
                for c in await context.cookies()
            )
        finally:
            self.blocked.extend(capture.blocked)
            await capture.cancel()
        return [
            to_resolved(link, c, resolver=self.name, title=title, cookies=cookies, info=info)
            for c in ranked
        ]

    async def _find(self, page: Page, capture: Capture, link: ShareLink) -> list[Candidate]:
        # Inside the caller's deadline, stop a little before it so the page's own diagnosis
        # (a challenge that never cleared, ...) is what the user reads.
        left = deadline.remaining()
        budget = self.options.timeout if left is None else min(self.options.timeout, left - 0.5)
        try:
            async with asyncio.timeout(max(budget, 0.0)):
                with map_playwright_errors(link.url):
                    await page.goto(link.url, wait_until="commit")
                    await drive(page, capture)
        except TimeoutError:
            return _at_timeout(capture, link, self.options.timeout)
        except NetworkError as exc:
            capture.check()  # the document was refused, too big or unreachable: say that
            if self.options.har_path is None:
                raise
            raise NoVideoFound(f"{link.url} is not recorded in {self.options.har_path}") from exc
        # Stopping early must not cost the best variant: a video element often starts the
        # media request while the post JSON that lists `source` is still being read.
        await capture.drain(DRAIN_TIMEOUT)
        capture.check()
        ranked = capture.ranked()
        if ranked:
            return ranked
        raise _nothing_found(capture, link)


def _listen(page: Page, capture: Capture) -> None:
    page.on("request", capture.on_request)
    page.on("requestfinished", capture.on_request_done)
    page.on("requestfailed", capture.on_request_done)
    page.on("response", capture.on_response)
    page.on("load", capture.on_load)


def _title(html: str) -> str | None:
    # The main document was already read for classification; asking the page for its DOM
    # again costs a round trip (~80 ms) for what the post JSON's own title usually gives.
    return parsing.page_title(html) if html else None


def _at_timeout(capture: Capture, link: ShareLink, timeout: float) -> list[Candidate]:
    """Out of time: settle for a weak candidate, else say why nothing was found."""
    capture.check()
    ranked = capture.ranked()
    if ranked:
        return ranked
    if capture.challenged:
        raise ChallengeRequired(
            f"The bot challenge on {link.url} did not clear within {timeout:g}s"
        )
    gone = post_unavailable(link.url, capture.post_info().state)
    if gone is not None:
        raise gone
    raise NoVideoFound(f"No video appeared on {link.url} within {timeout:g}s")


def _html(capture: Capture) -> str:
    return capture.main.text if capture.main else ""


def _nothing_found(capture: Capture, link: ShareLink) -> NoVideoFound:
    gone = post_unavailable(link.url, capture.post_info().state)
    if gone is not None:
        return gone
    state = capture.main.state if capture.main else PageState.OK
    if capture.main is not None and capture.main.status >= 400 and state is PageState.OK:
        return NoVideoFound(f"HTTP {capture.main.status} from {link.url}: no video there")
    if state is PageState.LOGIN:
        return LoginRequired(f"The share page asks to log in: {link.url} (try --cookies FILE)")
    if capture.blocked:
        return NoVideoFound(
            f"Could not find MP4 URL in Sora share page {link.url} "
            f"({len(capture.blocked)} request(s) refused by the URL policy, "
            f"e.g. {capture.blocked[0]})"
        )
    return NoVideoFound(f"Could not find MP4 URL in Sora share page {link.url}")


def _cookie_params(path: Path) -> list[Any]:
    """Cookies from a Netscape cookies.txt, in the shape ``context.add_cookies`` takes."""
    from ...cookies import load_cookies

    return [
        {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path or "/"}
        for c in load_cookies(path)
    ]
