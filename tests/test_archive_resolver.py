"""Recovering videos from an archive: a real pywb and the IA stand-in, over one scenario.

The scenario (``sora_browser.testing.scenario``) mirrors what real archives hold of Sora:
pages captured at several dates (the newest sometimes a captured challenge), pages captured
only with ``?psh=`` or under ``www.``, media captured on another visit under another signature
or as a browser's whole-file ``206``, posts removed later, media never captured.
"""

from __future__ import annotations

import hashlib
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sora_browser.archive.options import WaybackOptions
from sora_browser.errors import ArchiveUnreachable, NotArchived, NoVideoFound
from sora_browser.models import ResolvedVideo
from sora_browser.options import DownloadOptions, ResolveOptions
from sora_browser.service import SoraClient, SoraExtractionService
from sora_browser.testing.cdn import Fault
from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.pages import share_url
from sora_browser.testing.pywb import PywbArchive
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite

WHOLE = (
    *("newest_challenge", "psh_only", "sora1", "other_signature", "renditions", "whole_206"),
    *("removed", "revisit", "www_host"),
)
LOOPBACK = frozenset({"127.0.0.1"})
Archive = PywbArchive | IAStandIn


def wayback(archive: Archive, **changes: object) -> WaybackOptions:
    return WaybackOptions(prefix=archive.prefix, cdx_url=archive.cdx_url, **changes)  # type: ignore[arg-type]


def archive_only(archive: Archive, **changes: object) -> ResolveOptions:
    return ResolveOptions(mode="archive", wayback=wayback(archive, **changes), timeout=15)


@pytest.fixture
def ia(ia_archive: IAStandIn) -> IAStandIn:
    return ia_archive  # reset before every test by conftest.py


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", WHOLE)
async def test_whole_copies_come_back_intact(
    archive: Archive, archive_scenario: Scenario, case: str, tmp_path: Path
) -> None:
    expected = archive_scenario.case(case)
    service = SoraExtractionService(resolve_options=archive_only(archive))
    async with service:
        done = await service.extract(expected.share_url, tmp_path / "v.mp4")
    assert sha256(done.download.path) == expected.sha256
    resolved = done.resolved
    assert resolved.resolver == "archive"
    assert resolved.variant == "source"
    assert resolved.mp4_url == resolved.replay_url
    assert resolved.mp4_url.startswith(archive.prefix + "/")
    assert resolved.original_media_url is not None
    assert resolved.original_media_url.startswith("https://videos.openai.com/")
    assert resolved.page_captured_at is not None
    assert resolved.media_captured_at is not None
    assert resolved.expires_at is None  # a replay does not expire


async def test_the_newest_good_capture_is_read_not_the_challenge(
    ia: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("newest_challenge")
    async with SoraClient(archive_only(ia)) as client:
        resolved = await client.resolve(case.share_url)
    assert resolved.page_captured_at is not None
    assert resolved.page_captured_at.date().isoformat() == "2025-12-02"
    # Polite: one index query for the page, one for its media.
    assert ia.cdx_count == 2


async def test_wayback_date_prefers_the_closest_capture(
    ia: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("newest_challenge")
    options = archive_only(ia, date=datetime(2025, 10, 1, tzinfo=UTC))
    async with SoraClient(options) as client:
        resolved = await client.resolve(case.share_url)
    assert resolved.page_captured_at is not None
    assert resolved.page_captured_at.date().isoformat() == "2025-10-14"


async def test_a_removed_newest_capture_falls_back_to_an_older_one(
    ia: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("removed")
    async with SoraClient(archive_only(ia)) as client:
        resolved = await client.resolve(case.share_url)
    replayed = [r.path for r in ia.requests_to("replay")]
    assert len(replayed) >= 2  # the removed capture was read, then an older one
    assert resolved.original_media_url is not None
    assert case.media_url is not None
    assert resolved.original_media_url.split("?")[0] == case.media_url.split("?")[0]


async def test_media_never_archived_says_so_quickly(
    ia: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("media_missing")
    async with SoraClient(archive_only(ia)) as client:
        with pytest.raises(NotArchived) as caught:
            await client.resolve(case.share_url)
    message = str(caught.value)
    assert "never archived" in message
    assert "videos.openai.com/az/files/" in message
    assert "captured 2025-" in message
    assert caught.value.exit_code == 3
    assert ia.cdx_count == 4  # the page, then each rendition it lists (source, md, ld) once


async def test_a_link_never_archived_at_all(ia: IAStandIn) -> None:
    link = "https://sora.chatgpt.com/p/s_" + "e" * 32
    async with SoraClient(archive_only(ia)) as client:
        with pytest.raises(NotArchived, match=r"holds no capture of .* \(looked for sora.chatgpt"):
            await client.resolve(link)
    assert ia.cdx_count == 1


async def test_only_a_404_was_archived(ia: IAStandIn, archive_scenario: Scenario) -> None:
    case = archive_scenario.case("not_found")
    async with SoraClient(archive_only(ia)) as client:
        with pytest.raises(NoVideoFound, match="none a page"):
            await client.resolve(case.share_url)


async def test_a_pasted_cdn_link_is_found_by_its_path(
    archive: Archive, archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("other_signature")
    assert case.media_url is not None  # the page's (expired) signature, not the media's
    service = SoraExtractionService(resolve_options=archive_only(archive))
    async with service:
        done = await service.extract(case.media_url, tmp_path / "v.mp4")
    assert sha256(done.download.path) == case.sha256
    assert done.resolved.strategy == "cdn-link"


async def test_a_429_is_honoured_before_anything_else_is_sent(
    ia: IAStandIn, archive_scenario: Scenario
) -> None:
    ia.script("cdx", [Fault.status(429, retry_after=1)])
    case = archive_scenario.case("psh_only")
    waits: list[tuple[float, str]] = []
    options = ResolveOptions(
        mode="archive",
        wayback=wayback(ia),
        on_archive_wait=lambda seconds, why: waits.append((seconds, why)),
    )
    async with SoraClient(options) as client:
        await client.resolve(case.share_url)
    first, second, *_ = ia.requests_to("cdx")
    assert first.status == 429
    assert second.at - first.at >= 1.0  # Retry-After: 1, never cut short
    assert any(why == "HTTP 429" for _, why in waits)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_archive_is_exit_4_naming_it() -> None:
    dead = f"http://127.0.0.1:{closed_port()}/sora"
    options = ResolveOptions(
        mode="archive", wayback=WaybackOptions(prefix=dead, retries=1, backoff_initial=0.01)
    )
    async with SoraClient(options) as client:
        with pytest.raises(ArchiveUnreachable) as caught:
            await client.resolve("https://sora.chatgpt.com/p/s_" + "1" * 32)
    assert caught.value.exit_code == 4
    assert "127.0.0.1" in str(caught.value)


# -- auto mode: the live site first, the archive when it has nothing -----------------------


def auto(archive: Archive) -> ResolveOptions:
    return ResolveOptions(allow_hosts=LOOPBACK, wayback=wayback(archive), retries=0, timeout=15)


async def test_auto_goes_to_the_archive_when_the_live_page_is_gone(
    site: FixtureSite, ia: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("psh_only")
    share_id = case.share_url.rsplit("/", 1)[-1]
    live = f"{site.url}/p/{share_id}"  # the fixture site answers 404: Sora is gone
    async with SoraClient(auto(ia)) as client:
        resolved = await client.resolve(live)
    assert resolved.resolver == "archive"
    assert resolved.share_url == live


async def test_auto_stays_live_when_the_page_has_its_video(
    site: FixtureSite, ia: IAStandIn
) -> None:
    async with SoraClient(auto(ia)) as client:
        resolved = await client.resolve(share_url(site, "variants_wrong_first"))
    assert resolved.resolver == "static"
    assert ia.requests == []


async def test_auto_goes_to_the_archive_when_the_site_is_unreachable(
    ia: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("psh_only")
    share_id = case.share_url.rsplit("/", 1)[-1]
    link = f"http://127.0.0.1:{closed_port()}/p/{share_id}"
    async with SoraClient(auto(ia)) as client:
        resolved: ResolvedVideo = await client.resolve(link)
    assert resolved.resolver == "archive"


async def test_no_wayback_keeps_auto_live(site: FixtureSite, ia: IAStandIn) -> None:
    options = ResolveOptions(allow_hosts=LOOPBACK, wayback=None, retries=0)
    async with SoraClient(options) as client:
        with pytest.raises(NoVideoFound):
            await client.resolve(share_url(site, "gone"))
    assert ia.requests == []


async def test_the_archive_host_is_trusted_for_the_download_only_by_its_own_name(
    pywb_archive: PywbArchive, archive_scenario: Scenario, tmp_path: Path
) -> None:
    # The replay is on loopback; the user allowed no host, yet the download is allowed,
    # because the archive's own host is trusted for archive requests.
    case = archive_scenario.case("whole_206")
    service = SoraExtractionService(
        resolve_options=archive_only(pywb_archive), download_options=DownloadOptions()
    )
    async with service:
        done = await service.extract(case.share_url, tmp_path / "v.mp4")
    assert sha256(done.download.path) == case.sha256
    assert "127.0.0.1" not in DownloadOptions().allow_hosts
