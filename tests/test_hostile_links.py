"""Issue: hostile input, item 9. One address gets one refusal however it is written, before any
browser starts; ``--allow-host`` takes hosts, not URLs or ports; the library's options check
their types and the service shares one policy between resolution and download.

Everything stays on loopback: refused addresses are 127.0.0.2, where a second listener counts
every connection and must count none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_cli import GOOD_PAGE, assert_one_clean_line, sora

from sora_browser.options import DownloadOptions, ResolveOptions
from sora_browser.service import SoraExtractionService
from sora_browser.testing.hostile import HitCounter, HostileServer, Page
from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite

SHARE_PATH = "/p/s_" + "9" * 32
LOOPBACK = ("--allow-host", "127.0.0.1")


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("127.0.0.1:{port}", "allow the host alone (127.0.0.1)"),
        ("http://127.0.0.1", "allow the host alone (127.0.0.1)"),
        ("http://127.0.0.1:{port}/", "allow the host alone (127.0.0.1)"),
    ],
)
async def test_allow_host_with_a_port_or_scheme_is_exit_2_naming_the_fix(
    site: FixtureSite, tmp_path: Path, value: str, fix: str
) -> None:
    out = tmp_path / "v.mp4"
    allow = value.format(port=site.port)
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), "--allow-host", allow)
    assert run.code == 2, run.err
    assert "--allow-host" in run.err
    assert fix in run.err
    assert site.stats.requests == []
    assert not out.exists()


async def test_allow_host_env_with_a_port_is_exit_2(site: FixtureSite) -> None:
    env = {"SORA_BROWSER_ALLOW_HOSTS": f"127.0.0.1:{site.port}"}
    run = await sora("resolve", share_url(site, GOOD_PAGE), env=env)
    assert run.code == 2
    assert "SORA_BROWSER_ALLOW_HOSTS" in run.err
    assert site.stats.requests == []


async def test_allowed_host_in_another_spelling_still_works(site: FixtureSite) -> None:
    run = await sora("resolve", share_url(site, GOOD_PAGE), "--allow-host", "0x7f000001")
    assert run.code == 0, run.err
    assert run.out.startswith(site.url)


# -- one refusal for one address, however a page writes it -------------------------------------


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as running:
        yield running


@pytest.fixture
async def refused_listener() -> AsyncIterator[HitCounter]:
    async with HitCounter("127.0.0.2") as counter:
        yield counter


def marking_chromium(tmp_path: Path) -> tuple[Path, Path]:
    """A "browser" that leaves a mark when started: the run must not start it."""
    marker, chromium = tmp_path / "browser-started", tmp_path / "chromium"
    chromium.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    chromium.chmod(0o755)
    return chromium, marker


@pytest.mark.parametrize(
    "host",
    ["127.0.0.2", "0x7f000002", "2130706434", "0177.0.0.2", "127.0.0.2.", "[::ffff:127.0.0.2]"],
)
async def test_a_refused_media_address_is_refused_once_whatever_its_spelling(
    hostile: HostileServer, refused_listener: HitCounter, tmp_path: Path, host: str
) -> None:
    media = f"http://{host}:{refused_listener.port}/az/files/v.mp4?sig=x"
    url = hostile.add_page(SHARE_PATH, Page(f'<html><video src="{media}"></video></html>'))
    chromium, marker = marking_chromium(tmp_path)
    out = tmp_path / "v.mp4"
    run = await sora("download", url, str(out), "--chromium", str(chromium), *LOOPBACK)
    assert run.code == 3, run.err
    assert "media URLs refused by the URL policy: 127.0.0.2)" in run.err
    assert_one_clean_line(run)
    assert not marker.exists()  # decided before any browser starts
    assert refused_listener.connections == 0
    assert not out.exists()


# -- one policy for resolution and download ----------------------------------------------------


async def test_the_service_shares_one_policy(site: FixtureSite, tmp_path: Path) -> None:
    # Allowed for resolution only, as a library caller would write it: the CDN on the same
    # loopback host must be allowed for the download too.
    options = ResolveOptions(mode="static", allow_hosts=frozenset({"127.0.0.1"}))
    async with SoraExtractionService(resolve_options=options) as service:
        path = await service.extract_and_download(share_url(site, GOOD_PAGE), tmp_path / "v.mp4")
    assert path.stat().st_size == site.videos["source"].size
    download_only = DownloadOptions(allow_hosts=frozenset({"127.0.0.1"}))
    async with SoraExtractionService(
        resolve_options=ResolveOptions(mode="static"), download_options=download_only
    ) as service:
        assert service.client.options.allow_hosts == {"127.0.0.1"}
