"""Driving one page to its video: wait for a candidate, read the DOM, sit out a challenge, click
play when the page waits for it (steps 2 and 3 of ``resolver``'s docstring).
"""

from __future__ import annotations

import asyncio
import logging

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from ...parsing import Candidate
from .capture import Capture
from .scripts import (
    CLICK_TIMEOUT_MS,
    DOM_SCRIPT,
    PICK_PLAY_SCRIPT,
    PLAY_CONTROLS,
    PLAY_SELECTORS,
    WAITING_SCRIPT,
)

log = logging.getLogger(__name__)

SETTLE_QUIET = 0.25
"""Seconds without network activity, after load, before the page counts as settled.

Hydration fetches follow their scripts within a few event-loop turns; the DOM read after it
also waits for ``requestIdleCallback``, so slow script execution is covered there."""


async def drive(page: Page, capture: Capture) -> None:
    """Wait for a candidate; read the DOM, sit out a challenge and click play as needed."""
    clicked = False
    while True:
        if await _found_or_settled(capture, quiet=0):
            return
        if not clicked and await _click_if_waiting(page, capture):
            clicked = True
            continue
        if await _found_or_settled(capture):
            return
        capture.add(_dom_candidates(await _dom_urls(page)))
        if capture.found.is_set():
            return
        if capture.activity.is_set():
            continue  # the page woke up while we looked (late hydration): let it settle again
        if capture.challenged:
            await _until_busy(capture)  # the challenge script reloads the page when it passes
            continue
        if clicked or not await _click_play(page):
            return  # nothing left that could bring a video: the page sat quiet and was read
        clicked = True


async def _click_if_waiting(page: Page, capture: Capture) -> bool:
    """Click now if the idle page shows a play control and no video holds a source.

    A click-to-play card waits for exactly that click; sitting out ``SETTLE_QUIET`` first cost
    ~0.25 s per link. Anything the page starts meanwhile cancels the click: it may play alone.
    """
    try:
        index = await page.evaluate(WAITING_SCRIPT, list(PLAY_CONTROLS))
    except PlaywrightError:
        return False  # the page navigated while we looked: the next settle looks again
    if not isinstance(index, int) or index < 0 or capture.activity.is_set():
        return False  # nothing to click, or the page woke up meanwhile (it may play by itself)
    await _click(page, index)
    return True


async def _found_or_settled(capture: Capture, *, quiet: float = SETTLE_QUIET) -> bool:
    """True once a confident candidate exists; False once the page sat idle for ``quiet``."""
    while not capture.found.is_set():
        capture.check()
        capture.activity.clear()
        if not capture.idle():
            await capture.activity.wait()
            continue
        if quiet <= 0:
            return False
        try:
            async with asyncio.timeout(quiet):
                await capture.activity.wait()
        except TimeoutError:
            return capture.found.is_set()
    return True


async def _until_busy(capture: Capture) -> None:
    while capture.idle():
        capture.activity.clear()
        await capture.activity.wait()


async def _dom_urls(page: Page) -> list[str]:
    try:
        urls = await page.evaluate(DOM_SCRIPT)
    except PlaywrightError:
        return []  # the page navigated while we looked: the next settle looks again
    return [u for u in urls if isinstance(u, str)]


def _dom_candidates(urls: list[str]) -> list[Candidate]:
    return [Candidate(url=u, strategy="dom") for u in dict.fromkeys(urls)]


async def _click_play(page: Page) -> bool:
    """Click the first play button (or the video): some pages load nothing until then.

    False when there was nothing to click."""
    try:
        index = await page.evaluate(PICK_PLAY_SCRIPT, list(PLAY_SELECTORS))
    except PlaywrightError as exc:
        log.debug("no play control to click: %s", exc.message.splitlines()[0])
        return False
    if not isinstance(index, int) or index < 0:
        return False
    await _click(page, index)
    return True


async def _click(page: Page, index: int) -> None:
    # A real (mouse) click: players often listen for pointer events that a scripted
    # element.click() would not send.
    try:
        await page.locator(PLAY_SELECTORS[index]).first.click(timeout=CLICK_TIMEOUT_MS)
        log.debug("clicked %s", PLAY_SELECTORS[index])
    except PlaywrightError as exc:
        log.debug("could not click %s: %s", PLAY_SELECTORS[index], exc.message.splitlines()[0])
