"""Resume, restarts, expired signatures and parallel pieces, asserting bytes served too."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sora_browser.download import Refresh, VideoDownloader
from sora_browser.download.partfile import PartFile, PartState
from sora_browser.errors import HTTPStatusError, SignatureExpired
from sora_browser.models import DownloadResult
from sora_browser.options import DownloadOptions
from sora_browser.testing.cdn import Fault
from sora_browser.testing.media import VIDEOS, FakeVideo, sha256_of, signed_url, video_bytes
from sora_browser.testing.site import FixtureSite

FAST = DownloadOptions(
    allow_hosts=frozenset({"127.0.0.1"}),
    backoff_initial=0.01,
    backoff_max=0.05,
    retries=3,
    read_timeout=5,
    connect_timeout=5,
)
NO_RETRY = dataclasses.replace(FAST, retries=0)
# Half the body, then an error no retry helps: the run fails with a .part to resume later.
STOP_HALFWAY = [Fault.truncate(fraction=0.5), Fault.status(404)]
SOURCE = VIDEOS["source"]
MiB = 1024 * 1024
# 8 MiB, for the throughput comparison: big enough that a connection's start-up cost is noise.
BIG = FakeVideo("big_throttled", 8 * MiB + 3)


async def _fetch(
    site: FixtureSite,
    out: Path,
    options: DownloadOptions = FAST,
    video: FakeVideo = SOURCE,
    url: str | None = None,
) -> DownloadResult:
    async with VideoDownloader(options) as downloader:
        result = await downloader.fetch(url or signed_url(site.url, video), out)
    assert result.sha256 == sha256_of(video)
    assert _file_sha(out) == sha256_of(video)
    assert not out.with_name(out.name + ".part").exists()
    assert not out.with_name(out.name + ".part.json").exists()
    return result


class Interrupted(Exception):
    pass


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def _range_headers(site: FixtureSite) -> list[str | None]:
    return [headers.get("Range") for _, _, headers in site.stats.requests]


async def test_drop_after_a_third_resumes_with_range_and_if_range(
    site: FixtureSite, tmp_path: Path
) -> None:
    site.cdn.script("source", [Fault.drop_after(fraction=1 / 3)])
    result = await _fetch(site, tmp_path / "v.mp4")
    assert result.attempts == 2
    first, second = site.stats.requests
    assert first[2]["Range"] == "bytes=0-"
    assert second[2]["Range"] != "bytes=0-"
    assert second[2]["If-Range"] == site.cdn.etag(SOURCE)
    assert site.stats.bytes_served["source"] < 1.5 * SOURCE.size


async def test_drop_repeatedly(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.drop_after(fraction=0.3)] * 3)
    result = await _fetch(site, tmp_path / "v.mp4")
    assert result.attempts == 4
    assert site.stats.bytes_served["source"] < 1.5 * SOURCE.size


async def test_resume_in_a_later_run(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    site.cdn.script("source", STOP_HALFWAY)
    async with VideoDownloader(NO_RETRY) as downloader:
        with pytest.raises(HTTPStatusError):
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    kept = out.with_name("v.mp4.part").stat().st_size
    assert kept > 0
    assert out.with_name("v.mp4.part.json").exists()
    result = await _fetch(site, out)
    assert result.resumed_from == kept
    assert _range_headers(site)[-1] == f"bytes={kept}-"
    assert site.stats.bytes_served["source"] < 1.5 * SOURCE.size


async def test_etag_change_between_runs_restarts_cleanly(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    site.cdn.script("md", STOP_HALFWAY)
    async with VideoDownloader(NO_RETRY) as downloader:
        with pytest.raises(HTTPStatusError):
            await downloader.fetch(signed_url(site.url, VIDEOS["md"]), out)
    site.cdn.script("md", [Fault.etag_change()])
    result = await _fetch(site, out, video=VIDEOS["md"])
    # If-Range no longer matched: the server sent the whole (new) file, which was kept.
    assert result.attempts == 1
    assert site.stats.bytes_served["md"] == VIDEOS["md"].size * 3 // 2


async def test_server_without_range_support_restarts_from_zero(
    site: FixtureSite, tmp_path: Path
) -> None:
    site.cdn.configure("source", no_range=True)
    site.cdn.script("source", [Fault.drop_after(fraction=0.5)])
    result = await _fetch(site, tmp_path / "v.mp4")
    assert result.attempts == 2
    assert SOURCE.size * 1.4 < site.stats.bytes_served["source"] <= SOURCE.size * 1.5 + 1


def _leave_part(out: Path, body: bytes, state: PartState) -> None:
    part = PartFile(out)
    part.part.write_bytes(body)
    part.state = state
    part.save_state()


async def test_416_when_the_part_is_already_complete(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    _leave_part(out, video_bytes(SOURCE), PartState(etag=site.cdn.etag(SOURCE)))
    result = await _fetch(site, out)
    assert _range_headers(site) == [f"bytes={SOURCE.size}-"]
    assert result.resumed_from == SOURCE.size
    assert site.stats.bytes_served["source"] == 0


async def test_416_with_an_overlong_part_restarts(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    _leave_part(out, video_bytes(SOURCE) + b"junk", PartState(etag=site.cdn.etag(SOURCE)))
    await _fetch(site, out)
    assert _range_headers(site) == [f"bytes={SOURCE.size + 4}-", "bytes=0-"]
    assert site.stats.bytes_served["source"] == SOURCE.size


async def test_part_without_state_is_not_trusted(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    out.with_name("v.mp4.part").write_bytes(b"something else entirely")
    await _fetch(site, out)
    assert _range_headers(site) == ["bytes=0-"]


def _refresher(site: FixtureSite, video: FakeVideo) -> tuple[list[str], Refresh]:
    handed: list[str] = []

    async def refresh() -> str:
        # A later expiry than the first URL, so the signature really differs.
        expiry = datetime.now(tz=UTC) + timedelta(days=4, minutes=len(handed))
        handed.append(signed_url(site.url, video, expires_at=expiry))
        return handed[-1]

    return handed, refresh


async def test_signature_expires_after_a_third_then_refresh(
    site: FixtureSite, tmp_path: Path
) -> None:
    out = tmp_path / "v.mp4"
    site.cdn.script("source", [Fault.expire_after(fraction=1 / 3)])
    handed, refresh = _refresher(site, SOURCE)
    async with VideoDownloader(FAST) as downloader:
        result = await downloader.fetch(
            signed_url(site.url, SOURCE),
            out,
            refresh=refresh,
        )
    assert result.sha256 == sha256_of(SOURCE)
    assert result.reresolved == 1
    assert result.url == handed[0]
    assert (
        len(site.stats.requests) == 3
    )  # a third, the 403 on the old signature, the rest with the new one
    assert site.stats.bytes_served["source"] < 1.5 * SOURCE.size


async def test_already_expired_url_is_refreshed_before_connecting(
    site: FixtureSite, tmp_path: Path
) -> None:
    past = datetime.now(tz=UTC) - timedelta(hours=1)
    stale = signed_url(site.url, SOURCE, expires_at=past)
    handed, refresh = _refresher(site, SOURCE)
    async with VideoDownloader(FAST) as downloader:
        result = await downloader.fetch(stale, tmp_path / "v.mp4", refresh=refresh)
    assert result.reresolved == 1
    assert [_sig(path) for _, path, _ in site.stats.requests] == [_sig(handed[0])]


def _sig(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sig"][0]


async def test_expired_url_without_refresh_fails_clearly(site: FixtureSite, tmp_path: Path) -> None:
    past = datetime.now(tz=UTC) - timedelta(hours=1)
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(SignatureExpired) as caught:
            await downloader.fetch(
                signed_url(site.url, SOURCE, expires_at=past), tmp_path / "v.mp4"
            )
    assert "expired" in str(caught.value)
    assert caught.value.exit_code == 4
    assert site.stats.requests == []
    assert _listing(tmp_path) == []


async def test_refresh_gives_up_after_max_reresolve(site: FixtureSite, tmp_path: Path) -> None:
    calls = 0

    async def refresh() -> str:
        nonlocal calls
        calls += 1
        return signed_url(site.url, SOURCE).replace("sig=", "sig=0")

    options = dataclasses.replace(FAST, max_reresolve=2)
    async with VideoDownloader(options) as downloader:
        with pytest.raises(SignatureExpired):
            await downloader.fetch(
                signed_url(site.url, SOURCE).replace("sig=", "sig=0"),
                tmp_path / "v.mp4",
                refresh=refresh,
            )
    assert calls == 2
    assert len(site.stats.requests) == 3


async def test_parallel_pieces_write_the_same_file(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.ok(), Fault.drop_after(fraction=0.5)])
    result = await _fetch(site, tmp_path / "v.mp4", dataclasses.replace(FAST, connections=4))
    assert result.connections == 4
    ranges = _range_headers(site)
    assert ranges[0] == "bytes=0-262143"  # a bounded first request, then the pieces
    # 256 KiB pieces: the first, eight more, and the rest of the dropped one, resumed mid-piece
    assert len(ranges) == 10
    starts = [int((r or "").split("=")[1].split("-")[0]) for r in ranges]
    assert sum(start % (256 * 1024) != 0 for start in starts) == 1
    assert site.stats.bytes_served["source"] < 1.5 * SOURCE.size


async def test_parallel_pieces_resume_in_a_later_run(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    options = dataclasses.replace(NO_RETRY, connections=4)

    def stop_halfway(done: int, total: int | None) -> None:
        # The run is interrupted (as by Ctrl-C) with several pieces part-written.
        if done >= SOURCE.size // 2:
            raise Interrupted

    async with VideoDownloader(options) as downloader:
        with pytest.raises(Interrupted):
            await downloader.fetch(signed_url(site.url, SOURCE), out, progress=stop_halfway)
    state = PartFile(out).saved_state()
    assert state is not None
    assert state.pieces is not None
    done = sum(p.pos - p.start for p in state.pieces)
    site.stats.reset()  # the first run's count includes bytes socket buffers swallowed
    result = await _fetch(site, out, options)
    assert result.resumed_from == done > 0
    assert site.stats.bytes_served["source"] == SOURCE.size - done


async def test_parallel_pieces_restart_when_ranges_stop_working(
    site: FixtureSite, tmp_path: Path
) -> None:
    site.cdn.script("source", [Fault.ok(), Fault.no_range()])
    result = await _fetch(site, tmp_path / "v.mp4", dataclasses.replace(FAST, connections=4))
    assert result.sha256 == sha256_of(SOURCE)


async def test_four_connections_share_a_throttled_file(site: FixtureSite, tmp_path: Path) -> None:
    # Four connections at once, each on its own pieces, and no byte fetched twice. How much
    # faster that is lives in the benchmark (bench_download.py), not in a timed test: this
    # machine is slow and noisy.
    site.videos[BIG.name] = BIG
    site.cdn.configure(BIG.name, throttle=4 * MiB)
    options = dataclasses.replace(FAST, connections=4)
    async with VideoDownloader(options) as downloader:
        result = await downloader.fetch(signed_url(site.url, BIG), tmp_path / "v.mp4")
    assert result.sha256 == sha256_of(BIG)
    assert result.connections == 4
    assert site.stats.bytes_served[BIG.name] == BIG.size
    ranges = [h.get("Range") for _, path, h in site.stats.requests if path.startswith("/az/")]
    assert len(set(ranges)) == len(ranges) > 4  # distinct pieces, more than one per connection


async def test_limit_rate_caps_all_connections_together(site: FixtureSite, tmp_path: Path) -> None:
    options = dataclasses.replace(FAST, connections=4, limit_rate=2 * MiB)
    started = time.monotonic()
    await _fetch(site, tmp_path / "v.mp4", options)
    elapsed = time.monotonic() - started
    # 2 MiB at 2 MiB/s with a quarter-second burst: at least ~0.75 s however many connections.
    assert 0.7 <= elapsed < 3, elapsed


async def test_retries_are_per_stall_not_per_download(site: FixtureSite, tmp_path: Path) -> None:
    # Six drops with two retries allowed: every round still makes progress, so it completes.
    site.cdn.script("source", [Fault.drop_after(fraction=0.2)] * 6)
    options = dataclasses.replace(FAST, retries=2)
    result = await _fetch(site, tmp_path / "v.mp4", options)
    assert result.attempts == 7


async def test_retries_run_out_when_nothing_moves(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.status(503)] * 3)
    async with VideoDownloader(dataclasses.replace(FAST, retries=2)) as downloader:
        with pytest.raises(HTTPStatusError) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), tmp_path / "v.mp4")
    assert caught.value.status == 503
    assert len(site.stats.requests) == 3


async def test_first_range_without_a_total_is_continued(site: FixtureSite, tmp_path: Path) -> None:
    # ``bytes 0-262143/*``: the bounded first request cannot tell where the file ends.
    site.cdn.script("source", [Fault.unknown_total()])
    result = await _fetch(site, tmp_path / "v.mp4", dataclasses.replace(FAST, connections=4))
    assert _range_headers(site) == ["bytes=0-262143", "bytes=262144-"]
    assert result.size == SOURCE.size
