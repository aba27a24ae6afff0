"""Issue 13: a download picks its own parallelism from what the link does, under a per-host cap.

Against the fixture CDN on loopback, counting connections as the server sees them
(``SiteStats.connections``, ``peak``, ``cdn_peak``), never timing anything: a file whose every
connection is throttled grows to the cap; a fast one, a link all connections share and a
server without ranges stay on one; the per-host cap holds across a batch of eight and covers
an archive's whole files and pieces together; a run killed mid-split resumes with what is on
disk. The rules' arithmetic (``growth``) and the slots' queueing (``hostslots``) are checked
on their own, without a network.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import sora

from sora_browser.download import VideoDownloader, partfile
from sora_browser.download.growth import Meter, kept, step, worth_more
from sora_browser.download.hostslots import HostSlots, host_limit
from sora_browser.download.partfile import PartFile
from sora_browser.models import MediaPiece
from sora_browser.options import ARCHIVE_HOST_CONNECTIONS, HOST_CONNECTIONS, DownloadOptions
from sora_browser.testing.media import FakeVideo, sha256_of, signed_url, video_bytes
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
THROTTLED = FakeVideo("adaptive_throttled", 48 * MiB + 5)
FAST = FakeVideo("adaptive_fast", 48 * MiB + 7)


@pytest.fixture
def video(site: FixtureSite, request: pytest.FixtureRequest) -> Iterator[FakeVideo]:
    """Register the video named by the test's parameter; removed after the test."""
    chosen: FakeVideo = request.param
    site.videos[chosen.name] = chosen
    yield chosen
    del site.videos[chosen.name]


async def _download(site: FixtureSite, video: FakeVideo, out: Path, **options: object) -> int:
    """Download ``video`` and check it; the connections the result reports."""
    chosen = dataclasses.replace(OPTIONS, **options)  # type: ignore[arg-type]
    async with VideoDownloader(chosen) as downloader:
        result = await downloader.fetch(signed_url(site.url, video), out)
    assert result.sha256 == sha256_of(video) == _file_sha(out)
    assert not _exists(out.with_name(out.name + ".part.json"))
    return result.connections


def _file_sha(path: Path) -> str:
    return hashlib.sha256(_read(path)).hexdigest()


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _exists(path: Path) -> bool:
    return path.exists()


# -- how many connections --------------------------------------------------------------------


@pytest.mark.parametrize("video", [THROTTLED], indirect=True)
async def test_a_throttled_file_grows_to_the_cap(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    # A CDN that gives each connection 8 MiB/s: the download starts on one and doubles while
    # doubling doubles the rate, up to the host's cap.
    site.cdn.configure(video.name, throttle=8 * MiB)
    used = await _download(site, video, tmp_path / "v.mp4", host_connections=4)
    assert site.stats.peak[video.name] == 4
    assert used == 4
    assert site.stats.bytes_served[video.name] < video.size * 1.05  # little fetched twice


@pytest.mark.parametrize("video", [FakeVideo("adaptive_nokeep", 12 * MiB + 11)], indirect=True)
async def test_without_fallocate_keep_size_a_throttled_file_still_grows(
    site: FixtureSite, video: FakeVideo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # macOS has no fallocate(2): nothing is reserved ahead, and the first split preallocates.
    monkeypatch.setattr(partfile, "_fallocate", None)
    site.cdn.configure(video.name, throttle=4 * MiB)
    used = await _download(site, video, tmp_path / "v.mp4", host_connections=4)
    assert site.stats.peak[video.name] > 1
    assert used > 1


@pytest.mark.parametrize("video", [FAST], indirect=True)
async def test_a_fast_file_stays_on_one_connection(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    # Loopback with nothing throttled: one connection fills what this machine can take.
    used = await _download(site, video, tmp_path / "v.mp4")
    assert site.stats.connections[video.name] == 1
    assert used == 1


@pytest.mark.parametrize("video", [FakeVideo("adaptive_no_range", 12 * MiB + 1)], indirect=True)
async def test_a_server_without_ranges_stays_on_one_connection(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    site.cdn.configure(video.name, throttle=4 * MiB)
    assert await _download(site, video, tmp_path / "ranges.mp4") > 1  # with ranges it grows
    site.stats.reset()
    site.cdn.configure(video.name, no_range=True)
    used = await _download(site, video, tmp_path / "no-ranges.mp4")
    assert site.stats.connections[video.name] == 1
    assert used == 1


@pytest.mark.parametrize("video", [FakeVideo("adaptive_shared", 16 * MiB + 3)], indirect=True)
async def test_a_connection_that_adds_nothing_is_closed(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    # 8 MiB/s for all connections together (the user's own downlink): the second connection
    # is tried, the total does not rise, it is closed and no third is tried.
    site.cdn.configure(video.name, link_rate=8 * MiB)
    used = await _download(site, video, tmp_path / "v.mp4")
    assert site.stats.peak[video.name] == 2
    assert used == 1


@pytest.mark.parametrize("video", [FakeVideo("adaptive_limited", 12 * MiB + 9)], indirect=True)
async def test_a_download_held_to_limit_rate_tries_no_more_connections(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    # --limit-rate caps all connections together: at the cap, another connection could only
    # share it, so none is tried (the server sees one), though the rest takes seconds.
    site.cdn.configure(video.name, throttle=4 * MiB)
    assert await _download(site, video, tmp_path / "free.mp4") > 1  # unlimited, it grows
    site.stats.reset()
    used = await _download(site, video, tmp_path / "held.mp4", limit_rate=3 * MiB)
    assert site.stats.connections[video.name] == 1
    assert used == 1


@pytest.mark.parametrize("video", [FakeVideo("adaptive_forced", 8 * MiB + 1)], indirect=True)
async def test_connections_given_stay_fixed(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    site.cdn.configure(video.name, throttle=4 * MiB)
    assert await _download(site, video, tmp_path / "one.mp4", connections=1) == 1
    assert site.stats.connections[video.name] == 1
    site.stats.reset()
    assert await _download(site, video, tmp_path / "three.mp4", connections=3) == 3
    assert site.stats.peak[video.name] == 3


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("video", [FakeVideo("adaptive_reserved", 6 * MiB + 5)], indirect=True)
async def test_one_connection_reserves_the_whole_file_and_keeps_its_length_as_progress(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    # Before any split the .part is the plain sequential file (its length is its progress),
    # yet the disk space of the whole file is held, so a full disk cannot stop a split later.
    out = tmp_path / "v.mp4"

    def stop_early(done: int, total: int | None) -> None:
        raise Interrupted

    async with VideoDownloader(OPTIONS) as downloader:
        with pytest.raises(Interrupted):
            await downloader.fetch(signed_url(site.url, video), out, progress=stop_early)
    part = out.with_name("v.mp4.part")
    held, length = _stat(part)
    state = PartFile(out).saved_state()
    assert state is not None
    assert state.pieces is None  # sequential: no split yet
    assert 0 < length < video.size <= held


def _stat(path: Path) -> tuple[int, int]:
    """Bytes of disk ``path`` holds, and its length."""
    found = path.stat()
    return found.st_blocks * 512, found.st_size


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


@pytest.mark.parametrize("video", [FakeVideo("adaptive_first", 24 * MiB + 1)], indirect=True)
async def test_a_waiting_download_gets_a_slot_from_another_s_extra_connections(
    site: FixtureSite, video: FakeVideo, tmp_path: Path
) -> None:
    # One download has grown to the cap; a second one arrives: an extra connection of the
    # first gives its slot up, so the second starts long before the first ends.
    second = FakeVideo("adaptive_second", 1 * MiB + 3)
    site.videos[second.name] = second
    site.cdn.configure(video.name, throttle=4 * MiB)
    site.cdn.configure(second.name, throttle=4 * MiB)
    async with VideoDownloader(dataclasses.replace(OPTIONS, host_connections=3)) as downloader:
        first = asyncio.create_task(
            downloader.fetch(signed_url(site.url, video), tmp_path / "first.mp4")
        )
        async with asyncio.timeout(60):
            await site.stats.wait_for_connections(video.name, 3)
        await downloader.fetch(signed_url(site.url, second), tmp_path / "second.mp4")
        served_meanwhile = site.stats.bytes_served[video.name]
        await first
    del site.videos[second.name]
    assert served_meanwhile < video.size  # the second finished while the first still ran
    assert site.stats.cdn_peak == 3


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


# -- killed mid-split ------------------------------------------------------------------------

CHILD = r"""
import asyncio, sys
from pathlib import Path
from sora_browser.download import VideoDownloader
from sora_browser.options import DownloadOptions

async def main():
    options = DownloadOptions(allow_hosts=frozenset({"127.0.0.1"}), retries=0)
    async with VideoDownloader(options) as downloader:
        await downloader.fetch(sys.argv[1], Path(sys.argv[2]))

asyncio.run(main())
"""


async def _kill_once_split(url: str, out: Path, pieces: int) -> None:
    """Start the download in a child; SIGKILL it once its state holds ``pieces`` pieces."""
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, url, str(out))
    try:
        # Another process writes the state file: there is nothing to await but the file.
        for _ in range(3000):
            state = PartFile(out).saved_state()
            if state is not None and len(state.pieces or ()) >= pieces:
                break
            assert child.returncode is None, "the child ended before it split"
            await asyncio.sleep(0.005)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()


@pytest.mark.parametrize("pieces", [2, 6])
@pytest.mark.parametrize("video", [THROTTLED], indirect=True)
async def test_a_run_killed_mid_split_resumes_with_what_is_on_disk(
    site: FixtureSite, video: FakeVideo, tmp_path: Path, pieces: int
) -> None:
    site.cdn.configure(video.name, throttle=8 * MiB)
    out = tmp_path / "v.mp4"
    await _kill_once_split(signed_url(site.url, video), out, pieces)
    state = PartFile(out).saved_state()
    assert state is not None
    assert state.pieces is not None
    assert len(state.pieces) >= pieces
    on_disk = _read(out.with_name("v.mp4.part"))
    for piece in state.pieces:  # the state never claims a byte that is not in the .part
        assert on_disk[piece.start : piece.pos] == video_bytes(video, piece.start, piece.pos)
    done = sum(p.pos - p.start for p in state.pieces)
    site.stats.reset()
    async with VideoDownloader(OPTIONS) as downloader:
        result = await downloader.fetch(signed_url(site.url, video), out)
    assert result.sha256 == sha256_of(video) == _file_sha(out)
    assert result.resumed_from == done > 0
    for _, _, headers in site.stats.requests:  # nothing already on disk was asked for again
        first, _, last = headers["Range"].removeprefix("bytes=").partition("-")
        asked = (int(first), int(last) + 1 if last else video.size)
        assert not any(asked[0] < p.pos and p.start < asked[1] for p in state.pieces)


# -- the rules on their own ------------------------------------------------------------------


def test_connections_double_up_to_the_cap() -> None:
    assert [step(n, 8) for n in (1, 2, 4, 8)] == [1, 2, 4, 0]
    assert [step(n, 3) for n in (1, 2, 3)] == [1, 1, 0]


def test_more_connections_only_while_the_link_sets_the_pace_and_enough_remains() -> None:
    assert worth_more(8 * MiB, 40 * MiB, stalled=0.0)
    assert worth_more(8 * MiB, 40 * MiB, stalled=0.1)  # a hiccup of a busy machine
    assert not worth_more(8 * MiB, 4 * MiB, stalled=0.0)  # half a second left: no trial
    assert not worth_more(300 * MiB, 900 * MiB, stalled=0.9)  # batches waited for the disk
    assert not worth_more(0.0, 40 * MiB, stalled=0.0)
    assert not worth_more(3 * MiB, 40 * MiB, stalled=0.0, limit_rate=3 * MiB)  # at --limit-rate
    assert worth_more(1 * MiB, 40 * MiB, stalled=0.0, limit_rate=3 * MiB)  # the link is slower


def test_added_connections_are_kept_only_for_a_clear_gain() -> None:
    assert kept(8.0, 16.0, running=1, added=1)
    assert not kept(8.0, 9.0, running=1, added=1)
    assert kept(32.0, 40.0, running=4, added=4)  # a quarter more: the least that counts
    assert not kept(32.0, 39.0, running=4, added=4)
    assert kept(32.0, 36.0, running=4, added=2)  # two added to four: an eighth more


def test_the_rate_runs_from_the_first_arrival_to_the_last() -> None:
    meter = Meter()
    meter.add(0.0, 0)  # not recording: ignored
    meter.start(connections=1)
    for n in range(4):
        meter.add(10.0 + n * 0.25, 1000 + n * MiB)
    assert meter.rate() == 4 * MiB
    assert meter.enough.is_set()
    for waited in (True, False, False, False):
        meter.batch(waited)
    meter.stop()
    meter.add(20.0, 999 * MiB)
    meter.batch(True)
    assert meter.rate() == 4 * MiB
    assert meter.stalled() == 0.25
    meter.start(connections=2)  # three arrivals per connection at least
    for n in range(6):
        meter.add(float(n), n * MiB)
    assert meter.rate() is None
    assert not meter.enough.is_set()


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
    from sora_browser.cli.temporal import worker

    for command in (download, batch, worker):
        (option,) = [p for p in command.params if p.name == "host_connections"]
        assert option.default == DownloadOptions().host_connections == HOST_CONNECTIONS
        assert f"at most {ARCHIVE_HOST_CONNECTIONS}." in (option.help or "")
    with pytest.raises(ValueError, match="host_connections"):
        DownloadOptions(host_connections=0)


async def test_a_cap_of_zero_is_refused_before_anything_starts() -> None:
    run = await sora("download", "https://sora.chatgpt.com/p/s_1", "--host-connections", "0")
    assert run.code == 2
    assert "--host-connections" in run.err
