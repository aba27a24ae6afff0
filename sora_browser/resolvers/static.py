"""Resolve a share link with one plain HTTP GET and the pure parsers in ``parsing``.

No JavaScript runs, so this only works when the page's HTML carries the media URL (og:video,
``<video src>``, post JSON in scripts). It is fast (no browser start-up) and is tried first;
pages that render the video only from JavaScript end in ``NoVideoFound`` so the chain can fall
back to the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from .._http import (
    Proxy,
    add_cookies,
    new_session,
    open_url,
    read_body,
    retrying,
    status_error,
)
from ..cookies import load_cookies
from ..errors import (
    ChallengeRequired,
    LoginRequired,
    MediaRefused,
    NoVideoFound,
    PageGone,
    PageTooLarge,
    PolicyRefused,
)
from ..models import Cookie, ResolvedVideo
from ..options import ResolveOptions
from ..parsing import (
    Candidate,
    PageState,
    classify_page,
    find_candidates,
    is_login_url,
    page_post_info,
    page_title,
    rank_candidates,
)
from ..urls import SHARE_HOSTS, ShareLink, UrlPolicy, canonical_host
from .base import chosen, post_unavailable, to_resolved

# What Chrome sends for a top-level navigation. Sora's edge serves the full server-rendered
# page (og:video, flight data) to such requests; odd-looking clients are likelier to be
# challenged.
PAGE_HEADERS = {
    "Accept": (
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    ),
    "Upgrade-Insecure-Requests": "1",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-User": "?1",
}


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str
    """Where the page ended up after redirects: the base for relative URLs."""
    status: int
    headers: dict[str, str]
    text: str
    state: PageState
    truncated: bool = False
    """The body went past ``max_page_bytes``; ``text`` is its start."""


class StaticResolver:
    """``Resolver`` that GETs the share page and parses its HTML."""

    name = "static"

    def __init__(
        self,
        options: ResolveOptions,
        *,
        session: aiohttp.ClientSession | None = None,
        backoff: tuple[float, float] = (0.5, 8.0),
    ) -> None:
        self._options = options
        self._policy = UrlPolicy(options.allow_hosts)
        self._proxy = Proxy.of(options.proxy, options.no_proxy)
        self._session = session
        self._owns_session = session is None
        self._cookies_added = False
        self._backoff = backoff
        """(initial, maximum) seconds between retries, unless ``Retry-After`` says otherwise."""

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        return (await self.renditions(link))[0]

    async def renditions(self, link: ShareLink) -> list[ResolvedVideo]:
        """Every candidate the URL policy accepts, best first (``resolve`` takes the first)."""
        page = await self.fetch_page(link.url)
        _raise_for_state(page, link)
        ranked = rank_candidates(find_candidates(page.text, page.url))
        allowed, refused = self._allowed(ranked)
        info = page_post_info(page.text)
        if not allowed:
            gone = post_unavailable(link.url, info.state)
            raise gone or _nothing_usable(link, page, refused, self._options.max_page_bytes)
        allowed = chosen(allowed, self._options)
        title = page_title(page.text)
        # No cookies are handed on: the ones from --cookies belong to sora.chatgpt.com and
        # the signed CDN URL needs none.
        return [to_resolved(link, c, resolver=self.name, title=title, info=info) for c in allowed]

    async def fetch_page(self, url: str) -> FetchedPage:
        """The share page, retried on retryable failures; 4xx/5xx that mean nothing else raise."""
        options = self._options
        attempts = retrying(
            retries=options.retries,
            initial=self._backoff[0],
            maximum=self._backoff[1],
            on_retry=options.on_retry,
        )
        async for attempt in attempts:
            with attempt:
                return await self._fetch_once(url)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _fetch_once(self, url: str) -> FetchedPage:
        session = self._session_for_use()
        headers = {**PAGE_HEADERS, "User-Agent": self._options.user_agent}
        timeout = aiohttp.ClientTimeout(total=self._options.timeout)
        async with open_url(
            session,
            url,
            policy=self._policy,
            headers=headers,
            what="share page",
            proxy=self._proxy,
            timeout=timeout,
        ) as response:
            text, truncated = await read_text(response, self._options.max_page_bytes)
            state = classify_page(response.status, dict(response.headers), text)
            if response.status >= 400 and state is PageState.OK:
                # Not a page that explains itself (gone, login, challenge): an HTTP failure,
                # retried when it is 5xx/408/429, and exit 4 in the end, not "no video".
                raise status_error(response, text[:4096])
            headers = dict(response.headers)
            return FetchedPage(str(response.url), response.status, headers, text, state, truncated)

    def _session_for_use(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session(
                policy=self._policy,
                user_agent=self._options.user_agent,
                timeout=aiohttp.ClientTimeout(total=self._options.timeout),
                cookies=self._cookies(),
                proxy=self._proxy,
            )
        elif not self._cookies_added:
            add_cookies(self._session, self._cookies())
        self._cookies_added = True
        return self._session

    def _cookies(self) -> tuple[Cookie, ...]:
        path = self._options.cookies_file
        return () if path is None else load_cookies(path)

    def _allowed(self, ranked: list[Candidate]) -> tuple[list[Candidate], list[str]]:
        """The candidates the URL policy accepts, and the refused URLs (never contacted)."""
        allowed: list[Candidate] = []
        refused: list[str] = []
        for candidate in ranked:
            try:
                self._policy.check_url(candidate.url)
            except PolicyRefused:
                refused.append(candidate.url)
                continue
            allowed.append(candidate)
        return allowed, refused

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
            self._cookies_added = False


async def read_text(response: aiohttp.ClientResponse, cap: int) -> tuple[str, bool]:
    """``read_body`` decoded; a huge page is parsed as far as it goes."""
    body, truncated = await read_body(response, cap)
    try:
        return body.decode(response.charset or "utf-8", "replace"), truncated
    except LookupError:  # a charset name Python does not know
        return body.decode("utf-8", "replace"), truncated


def _raise_for_state(page: FetchedPage, link: ShareLink) -> None:
    url = link.url
    if page.state is PageState.CHALLENGE:
        raise ChallengeRequired(
            f"Cloudflare answered {url} with a bot challenge (HTTP {page.status}, "
            '"Just a moment..."); plain HTTP cannot pass it: try --browser'
        )
    if page.state is PageState.GONE:
        said = post_unavailable(link.url, page_post_info(page.text).state)
        raise said or PageGone(
            f"Sora share page {url} is gone (HTTP {page.status}: no longer available)"
        )
    if page.state is PageState.LOGIN or is_login_url(page.url):
        raise LoginRequired(
            f"Sora share page {url} shows a login wall; pass --cookies FILE with cookies from a "
            "logged-in browser, or try --browser"
        )
    landed = _host_named(page.url)
    if landed != link.host and landed.removeprefix("www.") not in SHARE_HOSTS:
        # Since Sora was switched off its links may redirect to a notice on another site.
        raise PageGone(f"Sora share page {url} now redirects off Sora, to {page.url}")


def _nothing_usable(
    link: ShareLink, page: FetchedPage, refused: list[str], cap: int
) -> NoVideoFound:
    message = f"Could not find MP4 URL in Sora share page {link.url}"
    if refused:
        hosts = ", ".join(sorted({_host_named(u) for u in refused}))
        return MediaRefused(message + f" (media URLs refused by the URL policy: {hosts})")
    if page.truncated:
        return PageTooLarge(
            message + f" (the page is larger than {cap // 1024} KiB and names no video in"
            " that much; a browser would only load all of it)"
        )
    return NoVideoFound(message + " (the page may render its video with JavaScript: try --browser)")


def _host_named(url: str) -> str:
    """The host of a refused URL in one spelling (``0x7f000002`` reads 127.0.0.2)."""
    try:
        return canonical_host(urlsplit(url).hostname or "")
    except ValueError:
        return urlsplit(url).netloc
