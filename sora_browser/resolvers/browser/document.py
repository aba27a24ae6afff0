"""The main document of a browser resolution, fetched for Chromium and capped like a static page.

Chromium would load a share page whatever its size: a gzip bomb took it to 4.3 GB, a 50 MB
page to 1.4 GB. So the route handler hands each top-level navigation here: the document is
fetched with aiohttp (the URL policy at connect time, the page's cookies from the context),
read up to ``max_page_bytes`` as the static step reads it (a bomb inflates no further), and
given to Chromium with ``route.fulfill``; past the cap the navigation is aborted and the
resolution ends with ``PageTooLarge``. Redirects go back to Chromium as they are, so the page
keeps its real URL and every hop passes the route (and the policy) again.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from playwright.async_api import BrowserContext, Route

from ..._http import Proxy, open_url, read_body
from ...errors import PageTooLarge
from ...urls import UrlPolicy

# Not passed on: the body is handed over decoded and whole, and these describe the wire.
_WIRE_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
_NOT_SENT = frozenset({"host", "cookie", "accept-encoding", "connection", "content-length"})


@dataclass
class DocumentFetcher:
    session: aiohttp.ClientSession
    policy: UrlPolicy
    context: BrowserContext
    cap: int
    proxy: Proxy | None = None

    async def fulfil(self, route: Route) -> PageTooLarge | None:
        """Answer a top-level navigation; the error to end with when it is over the cap."""
        request = route.request
        if request.method != "GET":
            await route.fallback()  # a form post: rare on a share page; Chromium sends it
            return None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_SENT}
        cookie = await self._cookie_header(request.url)
        if cookie:
            headers["Cookie"] = cookie
        async with open_url(
            self.session,
            request.url,
            policy=self.policy,
            headers=headers,
            what="share page",
            follow=False,
            proxy=self.proxy,
        ) as response:
            body, truncated = await read_body(response, self.cap)
            status, passed = response.status, _passed_headers(response)
        if truncated:
            await route.abort("blockedbyclient")
            return PageTooLarge(
                f"The page at {request.url} is larger than {self.cap // 1024} KiB"
                " (the page size limit); it was not loaded"
            )
        await route.fulfill(status=status, headers=passed, body=body)
        return None

    async def _cookie_header(self, url: str) -> str:
        cookies = await self.context.cookies(url)
        return "; ".join(f"{c['name']}={c['value']}" for c in cookies)


def _passed_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    passed: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        if key in _WIRE_HEADERS:
            continue
        # Playwright splits a joined Set-Cookie on newlines: each cookie stays one header.
        passed[key] = f"{passed[key]}\n{value}" if key in passed and key == "set-cookie" else value
    return passed
