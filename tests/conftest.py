"""Shared fixtures: the fixture site on loopback (real aiohttp server, port 0)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sora_browser.testing.site import FixtureSite


@pytest.fixture(scope="session")
async def site() -> AsyncIterator[FixtureSite]:
    async with FixtureSite() as running:
        yield running


@pytest.fixture(autouse=True)
def _reset_site_stats(request: pytest.FixtureRequest) -> None:
    if "site" in request.fixturenames:
        running = request.getfixturevalue("site")
        running.stats.reset()
        running.cdn.reset()
