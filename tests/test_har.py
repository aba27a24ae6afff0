"""HAR record and replay: a browser session saved once resolves later with no server at all.

``fixtures/har/`` was written by ``python -m sora_browser.testing.record_har`` (see its
README); those files drive part of this suite offline. The round-trip test records its own HAR
on a second fixture site, stops it, and replays.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sora_browser.errors import NoVideoFound
from sora_browser.options import ResolveOptions
from sora_browser.resolvers.browser.launch import LAUNCHER, BrowserLauncher
from sora_browser.resolvers.browser.resolver import BrowserResolver
from sora_browser.resolvers.chain import build_resolver
from sora_browser.resolvers.har_media import HarMediaResolver
from sora_browser.testing.record_har import record_page
from sora_browser.testing.site import FixtureSite
from sora_browser.urls import UrlPolicy, parse_share_url

pytestmark = pytest.mark.browser

HAR_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "har"
INDEX: dict[str, dict[str, Any]] = json.loads((HAR_DIR / "index.json").read_text())
LOOPBACK = frozenset({"127.0.0.1"})


@pytest.fixture(scope="session")
async def shared_browser() -> AsyncIterator[BrowserLauncher]:
    await LAUNCHER.acquire()
    try:
        yield LAUNCHER
    finally:
        await LAUNCHER.release()


async def replay(har: Path, url: str) -> Any:
    options = ResolveOptions(allow_hosts=LOOPBACK, har_path=har, timeout=15.0)
    resolver = build_resolver(options)  # HAR replay goes to the browser resolver in any mode
    try:
        return await resolver.resolve(parse_share_url(url, policy=UrlPolicy(LOOPBACK)))
    finally:
        await resolver.aclose()


@pytest.mark.parametrize("name", sorted(INDEX))
async def test_saved_har_resolves_offline(name: str, shared_browser: BrowserLauncher) -> None:
    expected = INDEX[name]
    resolved = await replay(HAR_DIR / f"{name}.har", expected["share_url"])

    assert resolved.resolver == "har"
    assert resolved.mp4_url == expected["mp4_url"]
    assert resolved.variant == expected["variant"]


async def test_record_then_replay_with_the_server_stopped(
    shared_browser: BrowserLauncher, tmp_path: Path
) -> None:
    har = tmp_path / "session.har"
    async with FixtureSite(port=free_port()) as recorded_site:
        recorded = await record_page(recorded_site, "js_post_fetch", har)
    assert har.stat().st_size > 0  # written when the context closed

    resolved = await replay(har, recorded["share_url"])
    assert resolved.mp4_url == recorded["mp4_url"]
    assert resolved.variant == "source"
    assert resolved.resolver == "har"


async def test_url_not_in_the_har_is_no_video(shared_browser: BrowserLauncher) -> None:
    url = INDEX["js_post_fetch"]["share_url"].replace("/p/s_b10f", "/p/s_dead")
    with pytest.raises(NoVideoFound, match="not recorded"):
        await replay(HAR_DIR / "js_post_fetch.har", url)


def test_har_replay_uses_the_browser_resolver() -> None:
    resolver = build_resolver(ResolveOptions(mode="static", har_path=HAR_DIR / "x.har"))
    assert isinstance(resolver, HarMediaResolver)  # the page, then the HAR's own video
    assert isinstance(resolver.page, BrowserResolver)
    assert resolver.name == "har"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
