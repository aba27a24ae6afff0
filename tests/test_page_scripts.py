"""The scripts the browser resolver runs inside pages (``resolvers/browser/scripts.py``) and the
HAR recording it relies on, each on its own in the real Chromium.

The resolver's own tests (test_browser.py) drive these through the whole resolver; here each
script meets the DOM cases it must tell apart, through pytest-playwright-asyncio's async
``page`` and ``new_context`` fixtures (conftest.py points them at the tool's Chromium). Media
URLs in hand-made pages point at a closed loopback port: nothing leaves loopback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page

from sora_browser.resolvers.browser.scripts import (
    DOM_SCRIPT,
    PICK_PLAY_SCRIPT,
    PLAY_CONTROLS,
    PLAY_SELECTORS,
    WAITING_SCRIPT,
)
from sora_browser.testing.dynamic import state_of
from sora_browser.testing.pages import POST_JSON_PATH, share_url
from sora_browser.testing.site import FixtureSite

pytestmark = pytest.mark.browser

NOWHERE = "http://127.0.0.1:9"  # a port Chromium refuses to connect to: no request leaves
PLAY = '<button aria-label="Play video" style="width:40px;height:40px">▶</button>'
HIDDEN_PLAY = PLAY.replace("height:40px", "height:40px;visibility:hidden")
CARD = '<div role="button" aria-label="play" style="width:40px;height:40px"></div>'


async def test_dom_script_reads_video_and_source_urls_but_not_blobs(page: Page) -> None:
    await page.set_content(
        f'<video src="{NOWHERE}/a.mp4" preload="none"></video>'
        f'<video preload="none"><source src="{NOWHERE}/b.mp4" type="video/mp4"></video>'
        '<video src="blob:https://sora.chatgpt.com/1f2e" preload="none"></video>'
    )
    assert set(await page.evaluate(DOM_SCRIPT)) == {f"{NOWHERE}/a.mp4", f"{NOWHERE}/b.mp4"}


@pytest.mark.parametrize(
    ("body", "picked"),
    [
        (PLAY, 0),
        (HIDDEN_PLAY + CARD, 1),  # a hidden control is no control
        ('<video style="width:64px;height:36px"></video>', PLAY_SELECTORS.index("video")),
        (HIDDEN_PLAY, -1),
    ],
    ids=["button", "hidden-button-then-role", "video-only", "nothing-visible"],
)
async def test_pick_play_script_takes_the_first_visible_control(
    page: Page, body: str, picked: int
) -> None:
    await page.set_content(body)
    assert await page.evaluate(PICK_PLAY_SCRIPT, list(PLAY_SELECTORS)) == picked


@pytest.mark.parametrize(
    ("body", "waiting"),
    [
        (PLAY + "<video></video>", 0),  # a card: a control, and no video holds a source
        (PLAY + f'<video src="{NOWHERE}/a.mp4" preload="none"></video>', -1),  # plays by itself
        (PLAY + f'<video preload="none"><source src="{NOWHERE}/b.mp4"></video>', -1),
        ('<video style="width:64px;height:36px"></video>', -1),  # a bare video is no control
    ],
    ids=["card", "video-src", "source-child", "bare-video"],
)
async def test_waiting_script_tells_a_card_from_a_page_that_plays(
    page: Page, body: str, waiting: int
) -> None:
    await page.set_content(body)
    assert await page.evaluate(WAITING_SCRIPT, list(PLAY_CONTROLS)) == waiting


async def test_click_to_play_card_loads_its_post_on_the_click(
    page: Page, site: FixtureSite
) -> None:
    fetched = state_of(site).post_fetches  # the site counts across the session
    await page.goto(share_url(site, "js_click"))
    picked = await page.evaluate(WAITING_SCRIPT, list(PLAY_CONTROLS))
    assert state_of(site).post_fetches == fetched  # the card waits

    async with page.expect_response(lambda r: POST_JSON_PATH in r.url) as answer:
        await page.locator(PLAY_SELECTORS[picked]).first.click()
    assert (await answer.value).ok
    assert state_of(site).post_fetches == fetched + 1
    assert await page.evaluate(WAITING_SCRIPT, list(PLAY_CONTROLS)) == -1  # now it plays


async def test_a_recorded_har_embeds_the_post_json_the_page_fetched(
    new_context: object, site: FixtureSite, tmp_path: Path
) -> None:
    har = tmp_path / "session.har"
    context: BrowserContext = await new_context(  # type: ignore[operator]
        record_har_path=har, record_har_content="embed"
    )
    page = await context.new_page()
    async with page.expect_response(lambda r: POST_JSON_PATH in r.url):
        await page.goto(share_url(site, "js_post_fetch"))
    assert not har.exists()  # Playwright writes the HAR when the context closes
    await context.close()

    entries = json.loads(har.read_text())["log"]["entries"]
    (post,) = [e for e in entries if POST_JSON_PATH in e["request"]["url"]]
    assert '"encodings"' in post["response"]["content"]["text"]  # the body, not a pointer
