"""Shared fixtures: the fixture site on loopback (real aiohttp server, port 0), and the test
archive (one scenario, written as a WARC for a real pywb and fed to the IA stand-in).

Every subprocess a test starts (the CLI, a worker, the demo) inherits an environment that
names the local pywb as the archive (the tool's default is web.archive.org), keeps its index
cache in a session folder, and puts the loopback-only guard on its Python path, so nothing a
test runs can reach beyond loopback; the test process itself is held there by pytest-socket.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import site as site_module
import sys
import sysconfig
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sora_browser.testing.captures import write_warc
from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.pywb import PywbArchive, loopback_only_env
from sora_browser.testing.scenario import Scenario, sora_scenario
from sora_browser.testing.site import FixtureSite

if TYPE_CHECKING:
    from playwright.async_api import Playwright


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
def browser_type_launch_args(playwright: Playwright) -> dict[str, object]:
    """pytest-playwright-asyncio's browser (``page``, ``new_context``): the Chromium the tool
    itself would use, found the same way (Playwright's own if installed, else the system's:
    ``playwright install`` cannot download here), with the same flags."""
    from playwright.async_api import Error as PlaywrightError

    from sora_browser.resolvers.browser.launch import LAUNCH_ARGS, find_chromium

    try:
        own: str | None = playwright.chromium.executable_path
    except PlaywrightError:
        own = None
    executable = find_chromium(None, own)
    return {"executable_path": str(executable), "headless": True, "args": list(LAUNCH_ARGS)}


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
    # No settings file but a test's own: a developer's ~/.config/sora-browser stays out.
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(params=["pywb", "ia"])
def archive(request: pytest.FixtureRequest) -> PywbArchive | IAStandIn:
    """Each archive in turn: a test that takes it runs against both."""
    name = "pywb_archive" if request.param == "pywb" else "ia_archive"
    running: PywbArchive | IAStandIn = request.getfixturevalue(name)
    return running


# -- the package as a user installs it: a wheel in a scratch virtualenv --------------------

REPO = Path(__file__).resolve().parents[1]
WHEEL_SOURCES = ("sora_browser", "yt_dlp_plugins")


async def run_quietly(*args: str | Path, cwd: Path, limit: float = 300) -> str:
    """Run a build step with a bare environment; its output, or a failure that shows it."""
    proc = await asyncio.create_subprocess_exec(
        *map(str, args),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), limit)
    text = out.decode()
    assert proc.returncode == 0, text
    return text


@pytest.fixture(scope="session")
async def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch virtualenv with this package installed from its wheel; its folder.

    The wheel is built without build isolation (setuptools comes from the dev extra, so
    nothing is downloaded). The scratch environment borrows the dependencies (aiohttp,
    Playwright, yt-dlp, ...) from this one through a ``.pth`` line: a ``.pth`` only adds a
    path, so this environment's editable hook for the source tree is not run there, and
    ``sora_browser`` and ``yt_dlp_plugins`` can only come from the wheel.
    """
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in WHEEL_SOURCES:
        shutil.copytree(REPO / package, source / package, ignore=ignore)
    pip = (sys.executable, "-m", "pip")
    build = ("wheel", "-q", "--no-build-isolation", "--no-deps", "-w", tmp, source)
    await run_quietly(*pip, *build, cwd=tmp)
    (wheel,) = await asyncio.to_thread(lambda: list(tmp.glob("sora_browser-*.whl")))
    venv = tmp / "venv"
    await run_quietly(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv)}))
    (purelib / "borrowed-deps.pth").write_text("\n".join(site_module.getsitepackages()) + "\n")
    pip_there = (*pip, "--python", venv / "bin" / "python")
    await run_quietly(*pip_there, "install", "-q", "--no-index", "--no-deps", wheel, cwd=tmp)
    return venv
