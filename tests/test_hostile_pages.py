"""Issue: hostile input, item 6. A page over the size cap is read only as far as the cap, a gzip
bomb inflates no further than that, and a page the static step found too big is never handed
to the browser (a gzip bomb took Chromium to 4.3 GB, a 50 MB page to 1.4 GB).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_cli import assert_one_clean_line, sora
from test_hostile_links import marking_chromium

from sora_browser.errors import PageTooLarge
from sora_browser.options import ResolveOptions
from sora_browser.resolvers.static import StaticResolver
from sora_browser.testing.hostile import HostileServer, Page
from sora_browser.urls import UrlPolicy, parse_share_url

SHARE_PATH = "/p/s_" + "b" * 32
LOOPBACK = frozenset({"127.0.0.1"})
MiB = 1024 * 1024
BOMB = 256 * MiB  # inflated size; 250 KiB on the wire


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as running:
        yield running


@pytest.mark.parametrize(
    "page",
    [Page("<html><title>big</title>", size=20 * MiB), Page("<html>", gzip_bomb=BOMB)],
    ids=["20MB-page", "gzip-bomb"],
)
async def test_a_page_over_the_cap_is_not_handed_to_the_browser(
    hostile: HostileServer, tmp_path: Path, page: Page
) -> None:
    url = hostile.add_page(SHARE_PATH, page)
    chromium, marker = marking_chromium(tmp_path)
    run = await sora("resolve", url, "--chromium", str(chromium), "--allow-host", "127.0.0.1")
    assert run.code == 3, run.err
    assert "larger than 8192 KiB" in run.err
    assert_one_clean_line(run)
    assert not marker.exists()


async def test_the_static_step_reads_a_bomb_only_up_to_the_cap(hostile: HostileServer) -> None:
    url = hostile.add_page(SHARE_PATH, Page("<html>", gzip_bomb=BOMB))
    link = parse_share_url(url, policy=UrlPolicy(LOOPBACK))
    resolver = StaticResolver(ResolveOptions(allow_hosts=LOOPBACK, max_page_bytes=MiB))
    started = time.monotonic()
    try:
        page = await resolver.fetch_page(link.url)
        with pytest.raises(PageTooLarge):
            await resolver.resolve(link)
    finally:
        await resolver.aclose()
    assert page.truncated
    assert len(page.text) == MiB
    assert time.monotonic() - started < 20
