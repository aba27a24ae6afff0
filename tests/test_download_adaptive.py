"""Issue 13: a per-host cap on connections for the whole process.

Against the fixture CDN on loopback, counting connections as the server sees them
(``SiteStats.cdn_peak``), never timing anything: the cap holds across a batch of eight and
covers an archive's whole files and pieces together. The slots' queueing (``hostslots``) is
checked on its own, without a network.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import sora

from sora_browser.download import VideoDownloader
from sora_browser.download.hostslots import HostSlots, host_limit
from sora_browser.models import MediaPiece
from sora_browser.options import DownloadOptions
from sora_browser.testing.media import FakeVideo, sha256_of, signed_url
from sora_browser.testing.site import FixtureSite

MiB = 1024 * 1024
OPTIONS = DownloadOptions(
    allow_hosts=frozenset({"127.0.0.1"}),
    backoff_initial=0.01,
    backoff_max=0.05,
    retries=3,
    read_timeout=10,
    connect_timeout=5,
)


@pytest.fixture
def video(site: FixtureSite, request: pytest.FixtureRequest) -> Iterator[FakeVideo]:
    """Register the video named by the test's parameter; removed after the test."""
    chosen: FakeVideo = request.param
    site.videos[chosen.name] = chosen
    yield chosen
    del site.videos[chosen.name]


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the per-host cap ------------------------------------------------------------------------

PAGE = (
    "<!-- Test share page: og:video meta only, like testing/pages/og_video.html -->\n"
    "<!-- fixture: path=/p/{share_id} -->\n"
    '<html><head><meta property="og:video" content="{{{{media:{name}|html}}}}"></head></html>\n'
)


async def test_the_host_cap_holds_across_a_batch_of_eight(tmp_path: Path) -> None:
    # Eight jobs at once on one CDN whose connections are throttled (each would grow): the
    # server never sees more than --host-connections of them open at once.
    videos = [FakeVideo(f"batch{n}", 3 * MiB + n) for n in range(8)]
    pages = _share_pages(tmp_path / "pages", videos)
    async with FixtureSite(pages_dir=pages, videos={v.name: v for v in videos}) as site:
        for each in videos:
            site.cdn.configure(each.name, throttle=2 * MiB)
        links = [f"{site.url}/p/s_{n:032x}" for n in range(8)]
        out = tmp_path / "out"
        args = ("--jobs", "8", "--host-connections", "3", "--output-dir", str(out))
        run = await sora("batch", *links, *args, "--allow-host", "127.0.0.1", "-q")
        assert run.code == 0, run.err
        assert site.stats.cdn_peak == 3
    for n, each in enumerate(videos):
        assert _file_sha(out / f"s_{n:032x}.mp4") == sha256_of(each)


def _share_pages(folder: Path, videos: list[FakeVideo]) -> Path:
    """A share page ``/p/s_<n as 32 hex>`` for each video, in a fixture pages folder."""
    folder.mkdir()
    for n, each in enumerate(videos):
        page = PAGE.format(share_id=f"s_{n:032x}", name=each.name)
        (folder / f"{each.name}.html").write_text(page)
    return folder


@pytest.mark.parametrize("video", [FakeVideo("adaptive_archive", 12 * MiB + 9)], indirect=True)
async def test_an_archive_host_cap_covers_whole_files_and_pieces_together(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    # A whole file and a video held in four pieces, both from one archive host at once: its
    # cap (3) counts both, where the pieces alone used to take three slots of their own.
    held = FakeVideo("adaptive_archive_pieces", 4 * MiB + 1)
    site.videos[held.name] = held
    for each in (video, held):
        site.cdn.configure(each.name, throttle=2 * MiB)
    url = signed_url(site.url, held)
    quarter = held.size // 4
    pieces = [
        MediaPiece(url=url, start=n * quarter, end=held.size if n == 3 else (n + 1) * quarter,
                   total=held.size)
        for n in range(4)
    ]  # fmt: skip
    options = OPTIONS.trusting(frozenset({"127.0.0.1"}))  # the fixture site as an archive
    async with VideoDownloader(options) as downloader:
        whole = downloader.fetch(signed_url(site.url, video), tmp_path / "whole.mp4")
        joined = downloader.fetch_pieces(pieces, tmp_path / "joined.mp4")
        results = await asyncio.gather(whole, joined)
    del site.videos[held.name]
    assert [r.sha256 for r in results] == [sha256_of(video), sha256_of(held)]
    assert site.stats.cdn_peak == 3


# -- the slots on their own ---------------------------------------------------------------


async def test_first_connections_wait_in_line_and_extras_never_jump_it() -> None:
    slots = HostSlots()
    await slots.first(2)
    assert slots.extra(2)
    waiting = asyncio.create_task(slots.first(2))
    await asyncio.sleep(0)
    assert not waiting.done()
    assert not slots.extra(3)  # someone waits: no extra, whatever the caller's own cap
    assert slots.should_yield()  # one extra gives its slot to the waiter...
    assert not slots.should_yield()  # ...and only one
    slots.release(yielded=True)
    await waiting
    assert (slots.in_use, slots.peak) == (2, 2)


async def test_later_waits_behind_first_connections() -> None:
    slots = HostSlots()
    await slots.first(1)
    later = asyncio.create_task(slots.later(1))
    await asyncio.sleep(0)
    first = asyncio.create_task(slots.first(1))
    await asyncio.sleep(0)
    slots.release()
    await first
    assert not later.done()
    slots.release()
    await later
    assert slots.in_use == 1


async def test_a_cancelled_waiter_leaves_the_line_and_hands_on_a_granted_slot() -> None:
    slots = HostSlots()
    await slots.first(1)
    gone = asyncio.create_task(slots.first(1))
    behind = asyncio.create_task(slots.first(1))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    slots.release()
    await behind
    granted = asyncio.create_task(slots.first(1))
    await asyncio.sleep(0)
    slots.release()  # granted to the waiter...
    granted.cancel()  # ...which is cancelled before it runs: the slot goes back
    await asyncio.gather(granted, return_exceptions=True)
    assert slots.in_use == 0


def test_an_archive_host_gets_the_smaller_cap() -> None:
    archives = DownloadOptions().archive_hosts
    assert host_limit("https://web.archive.org/web/2025id_/x", 8, archives) == 3
    assert host_limit("https://videos.openai.com/az/files/x", 8, archives) == 8
    assert host_limit("https://web.archive.org/web/2025id_/x", 2, archives) == 2
    trusted = DownloadOptions().trusting(frozenset({"pywb.example"}))
    assert host_limit("http://pywb.example:8080/coll/x", 8, trusted.archive_hosts) == 3


def test_the_option_is_on_every_downloading_command_with_the_library_default() -> None:
    from sora_browser.cli.batch import batch
    from sora_browser.cli.links import download

    for command in (download, batch):
        (option,) = [p for p in command.params if p.name == "host_connections"]
        assert option.default == DownloadOptions().host_connections
    with pytest.raises(ValueError, match="host_connections"):
        DownloadOptions(host_connections=0)


async def test_a_cap_of_zero_is_refused_before_anything_starts() -> None:
    run = await sora("download", "https://sora.chatgpt.com/p/s_1", "--host-connections", "0")
    assert run.code == 2
    assert "--host-connections" in run.err
