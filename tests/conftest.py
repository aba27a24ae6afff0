"""Shared fixtures: the fixture site on loopback (real aiohttp server, port 0), and the test
archive (one scenario, written as a WARC for a real pywb and fed to the IA stand-in)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sora_browser.testing.captures import write_warc
from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.pywb import PywbArchive
from sora_browser.testing.scenario import Scenario, sora_scenario
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


@pytest.fixture(scope="session")
def archive_scenario() -> Scenario:
    return sora_scenario()


@pytest.fixture(scope="session")
def archive_warc(archive_scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    return write_warc(folder / "sora-scenario.warc.gz", archive_scenario.captures)


@pytest.fixture(scope="session")
async def pywb_archive(archive_warc: Path) -> AsyncIterator[PywbArchive]:
    """One pywb for the whole session: it takes seconds to start."""
    async with PywbArchive([archive_warc]) as running:
        yield running


@pytest.fixture(scope="session")
async def ia_archive(archive_scenario: Scenario) -> AsyncIterator[IAStandIn]:
    async with IAStandIn(archive_scenario.captures) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset_ia_archive(request: pytest.FixtureRequest) -> None:
    if "ia_archive" in request.fixturenames:
        request.getfixturevalue("ia_archive").reset()
