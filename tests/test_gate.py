"""The browser's gate (resolvers/browser/gate.py) on its own: a raw client speaks proxy HTTP to
it, as Chromium does. A name that resolves to a refused address is refused whatever the form
of the request, and the gate connects to the very address it checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sora_browser.resolvers.browser.gate import Gate, parse_target, rewrite_head
from sora_browser.testing.hostile import HitCounter, HostileServer, Page
from sora_browser.urls import UrlPolicy

LOOPBACK = UrlPolicy(frozenset({"127.0.0.1"}))


@pytest.fixture
async def refused() -> AsyncIterator[HitCounter]:
    async with HitCounter("127.0.0.2") as counter:
        yield counter


async def _ask(gate: Gate, head: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", int(gate.url.rsplit(":", 1)[1]))
    writer.write(head.encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def _rebinding(host: str, port: int) -> list[str]:
    # A name whose DNS answers a refused address (as a rebinding attacker's would).
    return ["127.0.0.2"] if host == "rebind.test" else ["127.0.0.1"]


@pytest.mark.parametrize(
    "head",
    [
        "GET http://rebind.test:{port}/secret HTTP/1.1\r\nHost: rebind.test\r\n\r\n",
        "CONNECT rebind.test:{port} HTTP/1.1\r\nHost: rebind.test:{port}\r\n\r\n",
        "GET http://127.0.0.2:{port}/secret HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n",
        "CONNECT 0x7f000002:{port} HTTP/1.1\r\n\r\n",
        "CONNECT [::ffff:127.0.0.2]:{port} HTTP/1.1\r\n\r\n",
        "GET ftp://127.0.0.1:{port}/ HTTP/1.1\r\n\r\n",
    ],
)
async def test_the_gate_refuses_what_the_policy_refuses(refused: HitCounter, head: str) -> None:
    gate = await Gate(LOOPBACK, resolve=_rebinding).start()
    try:
        answer = await _ask(gate, head.format(port=refused.port))
    finally:
        await gate.aclose()
    assert answer.split(b"\r\n", 1)[0] in (b"HTTP/1.1 403 Forbidden", b"HTTP/1.1 502 Bad Gateway")
    assert refused.connections == 0


async def test_the_gate_relays_an_allowed_request() -> None:
    async with HostileServer() as server:
        server.add_page("/hello", Page("<p>hello</p>"))
        gate = await Gate(LOOPBACK).start()
        try:
            head = f"GET {server.url}/hello HTTP/1.1\r\nHost: x\r\n"
            head += "Proxy-Connection: keep-alive\r\n\r\n"
            answer = await _ask(gate, head)
        finally:
            await gate.aclose()
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"<p>hello</p>")
    _, path, headers = server.requests[0]
    assert path == "/hello"
    assert "Proxy-Connection" not in headers
    assert headers["Connection"] == "close"


async def test_the_gate_tunnels_an_allowed_connect() -> None:
    async with HostileServer() as server:
        server.add_page("/tunnelled", Page("through"))
        gate = await Gate(LOOPBACK).start()
        try:
            port = int(gate.url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1\r\n\r\n".encode())
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            writer.write(b"GET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
        finally:
            await gate.aclose()
    assert answer.endswith(b"through")


def test_parse_target_and_rewrite() -> None:
    connect = parse_target(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n")
    assert connect is not None
    assert (connect.tunnel, connect.host, connect.port, connect.url) == (
        True,
        "::1",
        8443,
        "https://[::1]:8443/",
    )
    assert parse_target(b"nonsense\r\n\r\n") is None
    assert parse_target(b"CONNECT host:99999 HTTP/1.1\r\n\r\n") is None
    head = b"GET http://a.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: s\r\n\r\n"
    assert rewrite_head(head, via_proxy=False, auth=None) == (
        b"GET /x?y=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    )
