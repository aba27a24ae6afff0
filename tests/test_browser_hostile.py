"""Issue: hostile input, items 4 and 6, in the real Chromium. Every kind of request a page can
make (WebSockets, workers, shared workers, preconnect, WebRTC, ...) passes the URL policy, and
the main document is capped as the static step caps it.

Refused targets are on 127.0.0.2, where a TCP listener and a UDP socket count everything that
arrives: both must count zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sora_browser.errors import PageTooLarge
from sora_browser.options import ResolveOptions
from sora_browser.resolvers.browser.launch import LAUNCHER, BrowserLauncher
from sora_browser.resolvers.browser.resolver import BrowserResolver
from sora_browser.testing.hostile import HitCounter, HostileServer, Page
from sora_browser.urls import UrlPolicy, parse_share_url

pytestmark = pytest.mark.browser

LOOPBACK = frozenset({"127.0.0.1"})
SHARE_PATH = "/p/s_" + "e" * 32
MiB = 1024 * 1024
STUN_PORT = 3478

# Every way a page can make Chromium reach a host, aimed at the refused one ({t}: its origin).
EVERY_KIND = """<!doctype html><html><head>
<link rel=stylesheet href="{t}/css"><link rel=preconnect href="{t}">
<link rel=prefetch href="{t}/prefetch"><link rel=preload as=fetch href="{t}/preload">
<link rel=icon href="{t}/favicon">
<style>@import url("{t}/import"); body {{ background: url("{t}/bg"); }}</style>
<script src="{t}/script"></script></head>
<body><img src="{t}/img"><iframe src="{t}/iframe"></iframe><a ping="{t}/ping" href="#x" id=a>a</a>
<script>
const t = "{t}", ws = "{ws}";
const tries = [
  () => fetch(t + "/fetch"),
  () => {{ const x = new XMLHttpRequest(); x.open("GET", t + "/xhr"); x.send(); }},
  () => new EventSource(t + "/sse"),
  () => navigator.sendBeacon(t + "/beacon", "x"),
  () => new WebSocket(ws + "/ws"),
  () => new Worker(URL.createObjectURL(new Blob(
      [`fetch("${{t}}/worker-fetch"); new WebSocket("${{ws}}/worker-ws");`]))),
  () => new SharedWorker(URL.createObjectURL(new Blob([`fetch("${{t}}/shared-fetch")`]))),
  () => {{
    const pc = new RTCPeerConnection({{iceServers: [
      {{urls: "stun:127.0.0.2:{stun}"}},
      {{urls: "turn:{host}?transport=tcp", username: "u", credential: "c"}}]}});
    pc.createDataChannel("x");
    pc.createOffer().then((offer) => pc.setLocalDescription(offer));
  }},
  () => import(t + "/module.js").catch(() => {{}}),
  () => document.getElementById("a").click(),
];
for (const attempt of tries) {{ try {{ attempt(); }} catch (e) {{}} }}
</script></body></html>"""


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.count += 1


@pytest.fixture(scope="module")
async def shared_browser() -> AsyncIterator[BrowserLauncher]:
    await LAUNCHER.acquire()
    try:
        yield LAUNCHER
    finally:
        await LAUNCHER.release()


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as running:
        yield running


@pytest.fixture
async def resolver(shared_browser: BrowserLauncher) -> AsyncIterator[BrowserResolver]:
    browser = BrowserResolver(ResolveOptions(mode="browser", allow_hosts=LOOPBACK, timeout=20))
    yield browser
    await browser.aclose()


async def test_no_request_kind_reaches_a_refused_address(
    hostile: HostileServer, resolver: BrowserResolver
) -> None:
    loop = asyncio.get_running_loop()
    udp, protocol = await loop.create_datagram_endpoint(Datagrams, local_addr=("127.0.0.2", 0))
    stun = udp.get_extra_info("sockname")[1]
    try:
        async with HitCounter("127.0.0.2") as refused:
            host = f"127.0.0.2:{refused.port}"
            page = EVERY_KIND.format(t=f"http://{host}", ws=f"ws://{host}", host=host, stun=stun)
            url = hostile.add_page(SHARE_PATH, Page(page))
            with pytest.raises(Exception, match="Could not find MP4 URL"):
                await resolver.resolve(parse_share_url(url, policy=UrlPolicy(LOOPBACK)))
            await asyncio.sleep(0.5)  # late stragglers (a worker, ICE) would land by now
    finally:
        udp.close()
    assert refused.connections == 0, refused.lines
    assert protocol.count == 0
    assert f"ws://{host}/ws" in resolver.blocked  # the page's WebSocket met the policy


async def test_an_allowed_websocket_still_works(
    hostile: HostileServer, resolver: BrowserResolver
) -> None:
    media = f"{hostile.url}/az/files/echoed.mp4"
    script = f"""<html><body><script>
    const socket = new WebSocket("ws://127.0.0.1:{hostile.port}/ws");
    socket.onopen = () => socket.send("{media}");
    socket.onmessage = (event) => {{
      const video = document.createElement("video");
      video.src = event.data;
      document.body.appendChild(video);
    }};
    </script></body></html>"""
    url = hostile.add_page(SHARE_PATH, Page(script))
    resolved = await resolver.resolve(parse_share_url(url, policy=UrlPolicy(LOOPBACK)))
    assert resolved.mp4_url == media


@pytest.mark.parametrize(
    "page",
    [Page("<html><title>big</title>", size=50 * MiB), Page("<html>", gzip_bomb=256 * MiB)],
    ids=["50MB-page", "gzip-bomb"],
)
async def test_the_main_document_is_capped_in_the_browser(
    hostile: HostileServer, resolver: BrowserResolver, page: Page
) -> None:
    url = hostile.add_page(SHARE_PATH, page)
    with pytest.raises(PageTooLarge, match="larger than 8192 KiB"):
        await resolver.resolve(parse_share_url(url, policy=UrlPolicy(LOOPBACK)))
