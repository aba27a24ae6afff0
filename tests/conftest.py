"""Shared fixtures: the fixture site on loopback (real aiohttp server, port 0), and the test
archive (one scenario, written as a WARC for a real pywb and fed to the IA stand-in).

Every subprocess a test starts (the CLI, a worker, the demo) inherits an environment that
names the local pywb as the archive (the tool's default is web.archive.org), keeps its index
cache in a session folder, and puts the loopback-only guard on its Python path, so nothing a
test runs can reach beyond loopback; the test process itself is held there by pytest-socket.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sora_browser.testing.captures import write_warc
from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.pywb import PywbArchive, loopback_only_env
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


@pytest.fixture(scope="session", autouse=True)
def _subprocesses_stay_local(
    pywb_archive: PywbArchive, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(loopback_only_env())
    os.environ["SORA_BROWSER_WAYBACK"] = pywb_archive.prefix
    os.environ["SORA_BROWSER_WAYBACK_CDX"] = pywb_archive.cdx_url
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(params=["pywb", "ia"])
def archive(request: pytest.FixtureRequest) -> PywbArchive | IAStandIn:
    """Each archive in turn: a test that takes it runs against both."""
    name = "pywb_archive" if request.param == "pywb" else "ia_archive"
    running: PywbArchive | IAStandIn = request.getfixturevalue(name)
    return running
