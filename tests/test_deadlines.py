"""Issue: hostile input, item 7. ``--resolve-timeout`` and ``--timeout`` bound every attempt
together, a wait that would not fit is not taken, and each retry says so in one line on stderr
(``retrying in 2.0 s: HTTP 503 ...``), except with ``-q``; the library only calls a callback.

Timing checks are generous bounds that the old behaviour (a limit per attempt, times the
retries, plus the backoff) cannot meet, never tight measurements.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_cli import assert_one_clean_line, sora

from sora_browser.deadline import Deadline, not_counted, remaining
from sora_browser.download import VideoDownloader
from sora_browser.errors import HTTPStatusError
from sora_browser.models import RetryNotice
from sora_browser.options import DownloadOptions
from sora_browser.testing.hostile import HostileServer, Media, Page, mp4_body

SHARE_PATH = "/p/s_" + "d" * 32
ALLOW = ("--allow-host", "127.0.0.1")


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    async with HostileServer() as running:
        yield running


async def test_resolve_timeout_bounds_all_attempts(server: HostileServer) -> None:
    url = server.add_page(SHARE_PATH, Page("<html>" + "x" * 100, trickle=1.0))
    started = time.monotonic()
    run = await sora("resolve", url, "--mode", "static", "--resolve-timeout", "3", *ALLOW)
    elapsed = time.monotonic() - started
    assert run.code == 4, run.err
    assert "within 3 s (--resolve-timeout)" in run.err
    assert elapsed < 15  # was 6 attempts of 3 s each plus ~15 s of backoff
    assert server.hits(SHARE_PATH) == 1


async def test_each_retry_prints_one_line(server: HostileServer) -> None:
    url = server.add_page(SHARE_PATH, Page("<html>no video</html>"))
    server.fail(SHARE_PATH, 503, times=10, retry_after=0)
    run = await sora("resolve", url, "--mode", "static", "--retries", "2", *ALLOW)
    assert run.code == 4
    lines = run.err.strip().splitlines()
    assert len(lines) == 3, run.err
    assert all(line.startswith("retrying in 0.0 s: HTTP 503") for line in lines[:2])
    assert lines[2].startswith("error: HTTP 503")
    assert server.hits(SHARE_PATH) == 3


async def test_quiet_prints_no_retry_lines(server: HostileServer) -> None:
    url = server.add_page(SHARE_PATH, Page("<html>no video</html>"))
    server.fail(SHARE_PATH, 503, times=10, retry_after=0)
    run = await sora("resolve", url, "--mode", "static", "--retries", "2", "-q", *ALLOW)
    assert run.code == 4
    assert_one_clean_line(run)
    assert server.hits(SHARE_PATH) == 3


async def test_a_wait_past_the_deadline_is_not_taken(server: HostileServer, tmp_path: Path) -> None:
    url = server.add_media("/v.mp4", Media(mp4_body(1024 * 1024)))
    server.fail("/v.mp4", 503, times=10, retry_after=25)
    heard: list[RetryNotice] = []
    options = DownloadOptions(
        allow_hosts=frozenset({"127.0.0.1"}), total_timeout=10, on_retry=heard.append
    )
    started = time.monotonic()
    async with VideoDownloader(options) as downloader:
        with pytest.raises(HTTPStatusError) as caught:
            await downloader.fetch(url, tmp_path / "v.mp4")
    assert time.monotonic() - started < 8  # was: a 25 s sleep cut off at the 10 s deadline
    assert caught.value.status == 503
    assert "no time left to retry in 25.0 s" in str(caught.value)
    assert heard == []
    assert server.hits("/v.mp4") == 1


async def test_the_library_calls_back_and_prints_nothing(
    server: HostileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = mp4_body(512 * 1024)
    url = server.add_media("/v.mp4", Media(body))
    server.fail("/v.mp4", 503, times=2, retry_after=0)
    heard: list[RetryNotice] = []
    options = DownloadOptions(
        allow_hosts=frozenset({"127.0.0.1"}), backoff_initial=0.01, on_retry=heard.append
    )
    async with VideoDownloader(options) as downloader:
        result = await downloader.fetch(url, tmp_path / "v.mp4")
    assert result.size == len(body)
    assert [(n.attempt, n.attempts) for n in heard] == [(1, 6), (2, 6)]
    assert str(heard[0]).startswith("retrying in 0.0 s: HTTP 503")
    assert capsys.readouterr() == ("", "")


async def test_waits_not_counted_move_the_deadline() -> None:
    async with Deadline(0.5) as outer:
        with not_counted():
            await asyncio.sleep(0.8)  # an archive's rate limiter, say
        assert outer.remaining() > 0.3
        await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError):
        async with Deadline(0.2):
            await asyncio.sleep(0.5)


async def test_nested_deadlines_report_the_tightest() -> None:
    assert remaining() is None
    async with Deadline(30), Deadline(100):
        left = remaining()
        assert left is not None
        assert left <= 30
