"""Issue: hostile input, item 5. A resume trusts the ``.part`` only when the server can say it is
still the same file: with a validator (``If-Range``), or, without one, when the bytes just
before the ``.part``'s end come back the same. A download killed with SIGKILL, a file changed
on the server, a rerun: the result is the new file (or an error), never a mix of both.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sora_browser.download import VideoDownloader
from sora_browser.download.partfile import PartFile, PartState, Piece
from sora_browser.options import DownloadOptions
from sora_browser.testing.hostile import HostileServer, Media, mp4_body

MiB = 1024 * 1024
OPTIONS = DownloadOptions(
    allow_hosts=frozenset({"127.0.0.1"}), retries=2, backoff_initial=0.01, read_timeout=5
)
OLD = mp4_body(3 * MiB + 11, seed=1)
NEW = mp4_body(3 * MiB + 11, seed=2)  # same size, other bytes: only the content tells them apart

# The download in a child process, so it can be killed with SIGKILL mid-body.
CHILD = r"""
import asyncio, sys
from pathlib import Path
from sora_browser.download import VideoDownloader
from sora_browser.options import DownloadOptions

async def main():
    connections = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    options = DownloadOptions(
        allow_hosts=frozenset({"127.0.0.1"}), retries=0, connections=connections
    )
    async with VideoDownloader(options) as downloader:
        await downloader.fetch(sys.argv[1], Path(sys.argv[2]))

asyncio.run(main())
"""


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    async with HostileServer() as running:
        yield running


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _kill_halfway(url: str, out: Path, connections: int = 0) -> int:
    """Start the download in a child, SIGKILL it once its ``.part`` holds some bytes."""
    argv = [url, str(out), str(connections)]
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, *argv)
    part = out.with_name(out.name + ".part")
    # Another process writes the .part: there is nothing to await but its size.
    for _ in range(1000):
        if part.exists() and part.stat().st_size >= MiB:
            break
        assert child.returncode is None, "the child ended before the .part grew"
        await asyncio.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    await child.wait()
    return part.stat().st_size


def _ranges(server: HostileServer) -> list[str | None]:
    return [headers.get("Range") for _, _, headers in server.requests]


async def test_a_file_changed_between_runs_without_validators_is_fetched_anew(
    server: HostileServer, tmp_path: Path
) -> None:
    media = Media(OLD, validators=False, rate=2 * MiB)
    url = server.add_media("/v.mp4", media)
    out = tmp_path / "v.mp4"
    kept = await _kill_halfway(url, out)
    assert 0 < kept < len(OLD)
    media.body, media.rate = NEW, None  # the file is replaced on the server
    server.requests.clear()
    async with VideoDownloader(OPTIONS) as downloader:
        result = await downloader.fetch(url, out)
    assert _sha(out.read_bytes()) == _sha(NEW) == result.sha256
    overlap_start = kept - 64 * 1024
    assert _ranges(server) == [f"bytes={overlap_start}-", "bytes=0-"]


async def test_an_unchanged_file_without_validators_still_resumes(
    server: HostileServer, tmp_path: Path
) -> None:
    media = Media(OLD, validators=False, rate=2 * MiB)
    url = server.add_media("/v.mp4", media)
    out = tmp_path / "v.mp4"
    kept = await _kill_halfway(url, out)
    media.rate, media.served = None, 0
    async with VideoDownloader(OPTIONS) as downloader:
        result = await downloader.fetch(url, out)
    assert result.resumed_from == kept
    assert _sha(out.read_bytes()) == _sha(OLD) == result.sha256
    assert media.served == len(OLD) - kept + 64 * 1024  # the rest, plus the overlap checked


async def test_a_file_that_changed_size_starts_over(server: HostileServer, tmp_path: Path) -> None:
    media = Media(OLD, validators=False, rate=2 * MiB)
    url = server.add_media("/v.mp4", media)
    out = tmp_path / "v.mp4"
    await _kill_halfway(url, out)
    media.body, media.rate = mp4_body(4 * MiB, seed=3), None
    async with VideoDownloader(OPTIONS) as downloader:
        result = await downloader.fetch(url, out)
    assert result.sha256 == _sha(media.body) == _sha(out.read_bytes())


async def test_with_validators_the_changed_file_is_caught_by_if_range(
    server: HostileServer, tmp_path: Path
) -> None:
    media = Media(OLD, rate=2 * MiB)
    url = server.add_media("/v.mp4", media)
    out = tmp_path / "v.mp4"
    # One connection, so the .part is the sequential kind whose resume this checks (a run
    # split into pieces is killed and resumed in test_download_adaptive.py).
    kept = await _kill_halfway(url, out, connections=1)
    media.body, media.rate = NEW, None
    server.requests.clear()
    async with VideoDownloader(OPTIONS) as downloader:
        result = await downloader.fetch(url, out)
    assert result.sha256 == _sha(NEW)
    assert _ranges(server) == [f"bytes={kept}-"]  # If-Range failed: the 200 was the new file


async def test_pieces_saved_without_a_validator_are_not_resumed(
    server: HostileServer, tmp_path: Path
) -> None:
    url = server.add_media("/v.mp4", Media(NEW, validators=False))
    out = tmp_path / "v.mp4"
    part = PartFile(out)
    part.part.write_bytes(OLD[: 2 * MiB] + b"\0" * (len(OLD) - 2 * MiB))
    half = len(OLD) // 2
    pieces = [Piece(0, half, 2 * MiB if 2 * MiB < half else half), Piece(half, len(OLD), half)]
    part.state = PartState(total=len(OLD), pieces=pieces)
    part.save_state()
    assert json.loads(part.state_path.read_text())["etag"] is None
    async with VideoDownloader(OPTIONS) as downloader:
        result = await downloader.fetch(url, out)
    assert result.sha256 == _sha(NEW) == _sha(out.read_bytes())
