"""The gate: a forward proxy on loopback that every connection Chromium opens goes through.

Playwright's routing sees the requests of pages and dedicated workers, but not everything a
page can make Chromium do: measured on Chromium 156, a WebSocket from a worker, a shared
worker's ``fetch``, ``<link rel=preconnect>`` and WebRTC's TURN-over-TCP connected straight to
127.0.0.2 while the route handler saw nothing. So each context is pointed at this proxy
(loopback included: ``<-loopback>``), WebRTC may only use proxied TCP (a launch flag), and
every TCP connection Chromium makes arrives here first. The gate checks the target against
the URL policy, resolves the name itself and refuses any non-public address (unless
allowed), then connects to the very address it checked, so DNS cannot answer differently a
second time. Refused connections get ``403`` and are listed in ``refused``.

With the caller's own proxy (``ProxyRoute``) the gate connects through it instead; names the
gate cannot resolve are then left to that proxy (the policy's literal checks still apply).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import unquote, urlsplit

from ...errors import PolicyRefused
from ...urls import UrlPolicy, proxy_for

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 15.0
_REFUSED = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_HOP_HEADERS = frozenset({"proxy-connection", "proxy-authorization", "connection", "keep-alive"})


@dataclass(frozen=True, slots=True)
class Target:
    """Where one connection through the gate goes."""

    tunnel: bool
    """``CONNECT host:port`` (TLS, secure WebSockets, TURN), else one plain HTTP request."""
    host: str
    port: int
    url: str
    """What the policy checks: the request's URL, or ``https://host:port/`` for a tunnel."""


@dataclass
class Gate:
    policy: UrlPolicy
    proxy: str | None = None
    no_proxy: frozenset[str] = frozenset()
    refused: list[str] = field(default_factory=list)
    resolve: Resolve | None = None
    """Name lookup (``loop.getaddrinfo`` by default; tests stand in for a rebinding DNS)."""
    _server: asyncio.Server | None = None
    _starting: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> Self:
        """Listen on a free loopback port (once, however many pages open at the same time)."""
        async with self._starting:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def aclose(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _serve(self, client: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._relay(client, writer)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client or server that hung up: nothing to report
        except asyncio.CancelledError:
            # Shutting down (aclose, Ctrl-C). Ending quietly: asyncio's streams (3.11) log a
            # traceback for a connection task that ends cancelled.
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _relay(self, client: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(HEAD_TIMEOUT):
            head = await client.readuntil(b"\r\n\r\n")
        target = parse_target(head)
        if target is None:
            writer.write(_BAD_GATEWAY)
            return
        try:
            upstream = await self._open(target)
        except PolicyRefused as exc:
            self.refused.append(target.url)
            log.debug("gate refused %s: %s", target.url, exc)
            writer.write(_REFUSED)
            return
        except (OSError, TimeoutError) as exc:
            log.debug("gate could not reach %s: %s", target.url, exc)
            writer.write(_BAD_GATEWAY)
            return
        reader, sink = upstream
        if target.tunnel and not self._via_proxy(target):
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        elif not target.tunnel:
            sink.write(rewrite_head(head, via_proxy=self._via_proxy(target), auth=self._auth()))
        await _pipe(client, writer, reader, sink)

    def _via_proxy(self, target: Target) -> bool:
        return proxy_for(target.url, self.proxy, self.no_proxy) is not None

    def _auth(self) -> str | None:
        parts = urlsplit(self.proxy or "")
        if parts.username is None:
            return None
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        return "Basic " + base64.b64encode(token.encode()).decode()

    async def _open(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.policy.check_url(target.url, what="browser connection")
        via = self._via_proxy(target)
        address = await self._checked_address(target, required=not via)
        async with asyncio.timeout(CONNECT_TIMEOUT):
            if not via:
                assert address is not None
                return await asyncio.open_connection(address, target.port)
            return await self._through_proxy(target)

    async def _checked_address(self, target: Target, *, required: bool) -> str | None:
        """The address to connect to, every address of the name checked against the policy.

        Through the caller's proxy a name we cannot resolve is the proxy's to resolve, and an
        allowed name is not looked up at all.
        """
        if not required and self.policy.host_allowed(target.host):
            return None
        resolve = self.resolve or _getaddrinfo
        try:
            addresses = await resolve(target.host, target.port)
        except socket.gaierror:
            if required:
                raise
            return None
        for address in addresses:
            self.policy.check_address(target.host, address)
        return addresses[0] if addresses else None

    async def _through_proxy(
        self, target: Target
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.proxy or "")
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        if not target.tunnel:
            return reader, writer
        try:
            await self._connect_through(reader, writer, target)
        except BaseException:
            writer.close()
            raise
        return reader, writer

    async def _connect_through(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: Target
    ) -> None:
        authority = _authority(target.host, target.port)
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        auth = self._auth()
        if auth:
            lines.append(f"Proxy-Authorization: {auth}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = await reader.readuntil(b"\r\n\r\n")
        if answer.split(b" ", 2)[1:2] != [b"200"]:
            raise OSError(f"the proxy refused CONNECT {authority}: {answer[:80]!r}")


Resolve = Callable[[str, int], Awaitable[list[str]]]


async def _getaddrinfo(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_target(head: bytes) -> Target | None:
    """What a request head asks the proxy for, or ``None`` when it is not a proxy request."""
    try:
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = line.split(" ", 2)
    except ValueError:
        return None
    if method == "CONNECT":
        parts = urlsplit(f"//{target}")
        host, port = parts.hostname, _port(parts, 443)
        if not host or port is None:
            return None
        return Target(True, host, port, f"https://{_authority(host, port)}/")
    parts = urlsplit(target)
    port = _port(parts, 80)
    if parts.scheme != "http" or not parts.hostname or port is None:
        return None
    return Target(False, parts.hostname, port, target)


def _port(parts: object, default: int) -> int | None:
    try:
        return getattr(parts, "port", None) or default
    except ValueError:
        return None


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def rewrite_head(head: bytes, *, via_proxy: bool, auth: str | None) -> bytes:
    """The request head as the next hop wants it: origin-form for a server (absolute-form
    for a proxy), proxy headers dropped, and ``Connection: close`` so the next request on
    Chromium's connection, perhaps to another host, comes back through the gate."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    if not via_proxy:
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [f"{method} {target} {version}"]
    for line in lines[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if line and name not in _HOP_HEADERS:
            kept.append(line)
    kept.append("Connection: close")
    if via_proxy and auth:
        kept.append(f"Proxy-Authorization: {auth}")
    return ("\r\n".join(kept) + "\r\n\r\n").encode("latin-1")


async def _pipe(
    client: asyncio.StreamReader,
    to_client: asyncio.StreamWriter,
    server: asyncio.StreamReader,
    to_server: asyncio.StreamWriter,
) -> None:
    """Copy both ways until either side is done, then close both."""
    tasks = [
        asyncio.create_task(_copy(client, to_server)),
        asyncio.create_task(_copy(server, to_client)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        to_server.close()  # first: a cancellation may interrupt the gather below
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await source.read(64 * 1024):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
