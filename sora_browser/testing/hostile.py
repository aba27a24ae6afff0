"""Servers that misbehave on purpose, on loopback, for the hostile-input tests (SECURITY.md).

- ``HostileServer``: an aiohttp server whose every answer a test scripts. Media (``add_media``)
  with or without validators and range support, a lying ``Content-Range`` total or
  ``Content-Length``, an endless body, a body replaced between two runs; pages (``add_page``)
  plain, huge, a gzip bomb, or trickling one byte at a time; scripted statuses (``fail``).
  Every request is logged in ``requests``.
- ``HitCounter``: a raw TCP listener (127.0.0.2 in the tests: an address the policy refuses)
  that counts every connection and the first line of what it received, answering ``200 ok``.
  A refused target must count zero, whatever protocol (HTTP, WebSocket, TURN) tried it.

Nothing here leaves loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from types import TracebackType

from aiohttp import web

from ..resolvers.browser.gate import Gate, Target
from .media import mp4_header
from .serving import serve

MiB = 1024 * 1024


def mp4_body(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that start like an MP4; ``seed`` makes another version of the file."""
    head = mp4_header(size)
    filler = hashlib.sha256(f"{seed}".encode()).digest() * (size // 32 + 1)
    return (head + filler)[:size]


@dataclass
class Media:
    """One media URL's behaviour; change the fields between requests to script a test."""

    body: bytes
    content_type: str = "video/mp4"
    validators: bool = True
    """Send ``ETag`` and ``Last-Modified`` (derived from the body)."""
    ranges: bool = True
    claim_total: int | None = None
    """Lie about the total in ``Content-Range`` (``bytes a-b/<claim>``)."""
    claim_length: int | None = None
    """Lie in ``Content-Length`` (and send only the real body, then close)."""
    endless: bool = False
    """No length at all, and the body never ends (bytes until the client hangs up)."""
    rate: float | None = None
    """Bytes per second, or as fast as possible."""
    served: int = 0

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Page:
    html: str = ""
    content_type: str = "text/html"
    location: str | None = None
    """Send ``Location`` (with ``status`` 302, a redirect)."""
    size: int | None = None
    """Serve this many bytes: ``html``, then filler (a page over the size cap)."""
    gzip_bomb: int | None = None
    """Serve ``Content-Encoding: gzip`` that inflates to this many bytes of spaces."""
    trickle: float | None = None
    """Seconds between bytes (a page that sends one byte a second)."""
    status: int = 200


@dataclass
class HostileServer:
    host: str = "127.0.0.1"
    port: int = 0
    media: dict[str, Media] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)
    failures: dict[str, list[tuple[int, float | None]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_media(self, path: str, media: Media) -> str:
        self.media[path] = media
        return self.url + path

    def add_page(self, path: str, page: Page) -> str:
        self.pages[path] = page
        return self.url + path

    def fail(
        self, path: str, status: int, *, times: int = 1, retry_after: float | None = None
    ) -> None:
        """The next ``times`` requests for ``path`` answer ``status`` (with ``Retry-After``)."""
        self.failures.setdefault(path, []).extend([(status, retry_after)] * times)

    def hits(self, path: str) -> int:
        return sum(1 for _, p, _ in self.requests if p.split("?", 1)[0] == path)

    async def until(self, holds: Callable[[], bool]) -> None:
        """Return once ``holds()`` is true; checked after every request and body chunk."""
        if holds():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((holds, future))
        await future

    def _wake(self) -> None:
        for waiter in [w for w in self._waiters if w[0]()]:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(None)

    async def __aenter__(self) -> HostileServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.port = await serve(app, self.host, self.port, shutdown_timeout=0.5)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.raw_path, dict(request.headers)))
        self._wake()
        path = request.path
        scripted = self.failures.get(path)
        if scripted:
            status, retry_after = scripted.pop(0)
            headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            return web.Response(status=status, text="scripted failure", headers=headers)
        if path == "/ws":
            return await _echo(request)
        if path in self.media:
            return await _serve_media(request, self.media[path], self._wake)
        if path in self.pages:
            return await _serve_page(request, self.pages[path])
        return web.Response(status=404, text="not here")


async def _serve_media(
    request: web.Request, media: Media, wake: Callable[[], None]
) -> web.StreamResponse:
    start, end, partial = _span(request, media)
    response = web.StreamResponse(status=206 if partial else 200)
    response.content_type = media.content_type
    if media.validators:
        response.headers["ETag"] = media.etag
        response.headers["Last-Modified"] = formatdate(1_700_000_000 + len(media.body), usegmt=True)
    if media.ranges:
        response.headers["Accept-Ranges"] = "bytes"
    if partial:
        total = media.claim_total or len(media.body)
        response.headers["Content-Range"] = f"bytes {start}-{max(start, end - 1)}/{total}"
    if not media.endless:
        response.content_length = media.claim_length or (end - start)
    await response.prepare(request)
    if request.method == "HEAD":
        return response  # the headers alone, as any server answers HEAD
    with contextlib.suppress(ConnectionResetError):
        await _send(response, media, start, end, wake)
        if media.claim_length is None:
            await response.write_eof()
    return response


def _span(request: web.Request, media: Media) -> tuple[int, int, bool]:
    size = len(media.body)
    header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if not media.ranges or not header.startswith("bytes=") or media.endless:
        return 0, size, False
    if if_range is not None and if_range != media.etag:
        return 0, size, False
    first, _, last = header.removeprefix("bytes=").partition("-")
    start = int(first or 0)
    end = min(int(last) + 1, size) if last else size
    return start, end, True


async def _send(
    response: web.StreamResponse, media: Media, start: int, end: int, wake: Callable[[], None]
) -> None:
    chunk = 64 * 1024 if media.rate is None else max(1024, int(media.rate / 20))
    loop = asyncio.get_running_loop()
    began, sent, offset = loop.time(), 0, start
    while media.endless or offset < end:
        data = b"\0" * chunk if media.endless else media.body[offset : min(offset + chunk, end)]
        await response.write(data)
        offset += len(data)
        sent += len(data)
        media.served += len(data)
        wake()
        if media.rate is not None:
            await asyncio.sleep(max(0.0, began + sent / media.rate - loop.time()))


async def _echo(request: web.Request) -> web.StreamResponse:
    """``/ws``: a WebSocket that sends back every text message."""
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        if message.type == web.WSMsgType.TEXT:
            await socket.send_str(message.data)
    return socket


async def _serve_page(request: web.Request, page: Page) -> web.StreamResponse:
    response = web.StreamResponse(status=page.status)
    response.content_type = page.content_type
    if page.location is not None:
        response.headers["Location"] = page.location
    body = page.html.encode()
    if page.gzip_bomb is not None:
        body = _gzip_of_spaces(body, page.gzip_bomb)
        response.headers["Content-Encoding"] = "gzip"
    elif page.size is not None:
        body = body + b" " * max(0, page.size - len(body))
    if page.trickle is None:
        response.content_length = len(body)
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):
        if page.trickle is None:
            await response.write(body)
        else:
            for index in range(len(body)):
                await response.write(body[index : index + 1])
                await asyncio.sleep(page.trickle)
        await response.write_eof()
    return response


_BOMBS: dict[tuple[bytes, int], bytes] = {}


def _gzip_of_spaces(head: bytes, size: int) -> bytes:
    key = (head, size)
    if key not in _BOMBS:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
        parts = [packer.compress(head)]
        block = b" " * MiB
        for _ in range(size // MiB):
            parts.append(packer.compress(block))
        parts.append(packer.flush())
        _BOMBS[key] = b"".join(parts)
    return _BOMBS[key]


@dataclass
class RecordingProxy(Gate):
    """A forward proxy that lists every target it is asked for (``asked``); its own policy
    decides what it reaches (``resolve`` maps test names to loopback)."""

    asked: list[str] = field(default_factory=list)

    async def _open(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.asked.append(target.url)
        return await super()._open(target)


@dataclass
class HitCounter:
    """Counts every TCP connection to ``host``; must stay at zero for a refused address."""

    host: str = "127.0.0.2"
    port: int = 0
    connections: int = 0
    lines: list[bytes] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(OSError, TimeoutError):
            data = await asyncio.wait_for(reader.read(4096), 2)
            if data:
                self.lines.append(data.split(b"\r\n", 1)[0])
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> HitCounter:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
