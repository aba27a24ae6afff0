"""What one browser resolution sees: every request routed, every response and the DOM read.

Sources of candidates, strongest first:
- responses whose ``Content-Type`` is ``video/*`` (Sora 2's ``.../az/files/<id>%2Fraw`` has no
  ``.mp4`` in it, so the header is the truth), and requests the ``<video>`` element makes;
- JSON, script and document bodies, passed through the same pure parsers as static pages;
- the DOM (``video.currentSrc``, ``video[src]``, ``source[src]``), read when the page settles.
A request whose URL merely looks like media is a weak candidate: used if nothing better turns up.

Every request passes ``route``: one the URL policy refuses is aborted before Chromium connects,
and images, fonts and media bodies are aborted too, since a resolution needs none of them; the
main document is fetched under the size cap (``document``). Every WebSocket passes
``route_web_socket``. What routing cannot see (a worker's WebSocket, a shared worker,
preconnect, WebRTC) still meets the policy at the ``gate``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Request, Response, Route, WebSocketRoute

from ... import parsing
from ...errors import PageGone, PolicyRefused, SoraBrowserError
from ...parsing import Candidate, PageState, PostInfo
from ...urls import UrlPolicy
from ..base import post_unavailable
from .document import DocumentFetcher

log = logging.getLogger(__name__)

BLOCKED_TYPES = frozenset({"image", "font", "media"})
PARSED_TYPES = frozenset({"document", "script", "xhr", "fetch"})
PARSED_CONTENT = ("json", "javascript", "ecmascript", "html", "text/plain")


@dataclass
class MainDocument:
    """The latest top-level document: what ``parsing.classify_page`` needs."""

    url: str
    status: int
    headers: dict[str, str]
    state: PageState = PageState.OK
    text: str = ""


@dataclass
class Capture:
    """Collects candidates and tracks whether the page is still busy."""

    policy: UrlPolicy
    main_frame: Frame
    max_body: int
    document: DocumentFetcher | None = None
    """Fetches top-level documents under the size cap; ``None`` when replaying a HAR."""
    strong: list[Candidate] = field(default_factory=list)
    info: PostInfo = field(default_factory=PostInfo)
    """What the post JSON the page fetched says (prompt, creator, ...)."""
    weak: list[Candidate] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """URLs refused by the policy and aborted before any connection."""
    main: MainDocument | None = None
    loaded: bool = False
    activity: asyncio.Event = field(default_factory=asyncio.Event)
    found: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None
    _inflight: set[Request] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- state the resolver reads ------------------------------------------------------------

    def idle(self) -> bool:
        return self.loaded and not self._inflight and not self._tasks

    @property
    def challenged(self) -> bool:
        return self.main is not None and self.main.state is PageState.CHALLENGE

    def check(self) -> None:
        """Raise what a listener found that ends the resolution: a bug, or a page gone."""
        if self.error is not None:
            raise self.error
        if self.main is not None and self.main.state is PageState.GONE:
            url, state = self.main.url, self.post_info().state
            gone = PageGone(f"The share page is gone (HTTP {self.main.status}): {url}")
            raise post_unavailable(url, state) or gone

    def post_info(self) -> PostInfo:
        """What the page and the post JSON it fetched say about the post."""
        html = self.main.text if self.main is not None else ""
        return parsing.page_post_info(html).merged(self.info)

    def ranked(self) -> list[Candidate]:
        return parsing.rank_candidates(self.strong + self.weak)

    def add(self, candidates: list[Candidate], *, strong: bool = True) -> None:
        usable = [c for c in candidates if self._allowed(c.url)]
        if not usable:
            return
        (self.strong if strong else self.weak).extend(usable)
        if strong and parsing.rank_candidates(list(self.strong)):
            self.found.set()
        self.activity.set()

    def _allowed(self, url: str) -> bool:
        try:
            self.policy.check_url(url)
        except PolicyRefused:
            log.debug("candidate refused by policy: %s", url)
            return False
        return True

    # -- the route handler: every request of the context passes here -------------------------

    async def route(self, route: Route) -> None:
        request = route.request
        try:
            self.policy.check_url(request.url, what="page request")
        except PolicyRefused:
            self.blocked.append(request.url)
            log.debug("blocked by policy: %s", request.url)
            await route.abort("blockedbyclient")
            return
        if self.document is not None and self._is_main_navigation(request):
            await self._fetch_document(route, self.document)
            return
        kind = request.resource_type
        if kind == "media":
            # The <video> element asked for it: that is the answer; its body is not needed.
            self.add([Candidate(url=request.url, strategy="network")])
        if kind in BLOCKED_TYPES:
            await route.abort("blockedbyclient")
            return
        if kind != "document" and parsing.looks_like_video(request.url):
            self.add([Candidate(url=request.url, strategy="network")], strong=False)
        await route.fallback()  # on to the HAR router when replaying, else to the network

    def _is_main_navigation(self, request: Request) -> bool:
        return request.is_navigation_request() and request.frame == self.main_frame

    async def _fetch_document(self, route: Route, document: DocumentFetcher) -> None:
        failure: SoraBrowserError | None
        try:
            failure = await document.fulfil(route)
        except SoraBrowserError as exc:  # unreachable, refused at connect time, ...
            failure = exc
            await route.abort("failed")
        if failure is not None and self.error is None:
            self.error = failure
            self.activity.set()

    async def route_web_socket(self, socket: WebSocketRoute) -> None:
        """WebSockets pass the policy too (``ws:`` as ``http:``, ``wss:`` as ``https:``)."""
        url = socket.url
        try:
            self.policy.check_url("http" + url.removeprefix("ws"), what="WebSocket")
        except PolicyRefused:
            self.blocked.append(url)
            log.debug("WebSocket blocked by policy: %s", url)
            await socket.close(code=1008, reason="refused by the URL policy")
            return
        socket.connect_to_server()

    # -- page listeners (sync; anything slow runs in a task this capture owns) ---------------

    def on_request(self, request: Request) -> None:
        self._inflight.add(request)
        if request.is_navigation_request() and request.frame == self.main_frame:
            self.loaded = False
        self.activity.set()

    def on_request_done(self, request: Request) -> None:
        self._inflight.discard(request)
        self.activity.set()

    def on_load(self, _: object = None) -> None:
        self.loaded = True
        self.activity.set()

    def on_response(self, response: Response) -> None:
        headers = response.headers
        ctype = headers.get("content-type", "").lower()
        request = response.request
        if ctype.startswith("video/"):
            self.add([Candidate(url=response.url, strategy="network")])
        if request.is_navigation_request() and request.frame == self.main_frame:
            self.main = MainDocument(response.url, response.status, dict(headers))
            self._spawn(self._read_main(response, self.main))
        elif request.resource_type in PARSED_TYPES and any(p in ctype for p in PARSED_CONTENT):
            self._spawn(self._read_body(response, json="json" in ctype))

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self.error is None:
            self.error = task.exception()  # a parser bug must surface, not vanish in a task
        self.activity.set()

    async def _body(self, response: Response) -> str | None:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return None
        try:
            return await response.text()
        except PlaywrightError:
            return None  # the page navigated on and the body went with it

    async def _read_body(self, response: Response, *, json: bool) -> None:
        text = await self._body(response)
        if not text:
            return
        if json:
            self.info = self.info.merged(parsing.json_post_info(text))
            self.add(parsing.candidates_from_json(text, response.url, strategy="network-json"))
            return
        # App bundles are full of URL strings; only structured post JSON (which names its
        # encoding) is trusted enough to stop on. Bare URLs wait for the page to settle.
        found = parsing.find_candidates(text, response.url)
        self.add([c for c in found if c.variant is not None])
        self.add([c for c in found if c.variant is None], strong=False)

    async def _read_main(self, response: Response, main: MainDocument) -> None:
        main.text = await self._body(response) or ""
        main.state = parsing.classify_page(main.status, main.headers, main.text)
        if main.text:
            self.add(parsing.find_candidates(main.text, response.url))
        self.activity.set()

    async def drain(self, grace: float) -> None:
        """Let body reads already under way finish: the post JSON names the best variant."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
