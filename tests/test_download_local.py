"""Local-file trouble for real: a full disk, a read-only mount, a user without write permission,
two processes on one output, and a process killed with SIGKILL halfway.

Disk-full and read-only use small tmpfs mounts (we run as root in CI and in the sandbox); if
mounting is not permitted the tests skip and say so. Permission denied drops to ``nobody`` in a
child process, since root ignores mode bits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sora_browser.download import VideoDownloader
from sora_browser.errors import DownloadLocked, LocalFileError
from sora_browser.options import DownloadOptions
from sora_browser.testing.media import VIDEOS, sha256_of, signed_url
from sora_browser.testing.site import FixtureSite

FAST = DownloadOptions(
    allow_hosts=frozenset({"127.0.0.1"}),
    backoff_initial=0.01,
    backoff_max=0.05,
    retries=2,
    read_timeout=5,
    connect_timeout=5,
)
SOURCE = VIDEOS["source"]
MD = VIDEOS["md"]

# A download in a child process: prints one JSON line, the result or the error.
CHILD = r"""
import asyncio, json, os, pwd, sys
from pathlib import Path
from sora_browser.download import VideoDownloader
from sora_browser.errors import SoraBrowserError
from sora_browser.options import DownloadOptions

url, out, user = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
if user:  # after the imports: the interpreter lives under /root, which nobody cannot read
    entry = pwd.getpwnam(user)
    os.setgroups([]); os.setgid(entry.pw_gid); os.setuid(entry.pw_uid)

async def main():
    options = DownloadOptions(allow_hosts=frozenset({"127.0.0.1"}), retries=0)
    async with VideoDownloader(options) as downloader:
        try:
            result = await downloader.fetch(url, out)
        except SoraBrowserError as exc:
            return {"error": type(exc).__name__, "exit_code": exc.exit_code, "message": str(exc)}
    return {"size": result.size, "sha256": result.sha256}

print(json.dumps(asyncio.run(main())), flush=True)
"""


def _mount(where: Path, options: str) -> None:
    where.mkdir(exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); no real disk limit")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small"
    _mount(where, "size=1m")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "ro"
    _mount(where, "ro,size=1m")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_disk_full_keeps_the_part_and_resumes_once_there_is_room(
    site: FixtureSite, small_disk: Path
) -> None:
    out = small_disk / "v.mp4"
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(LocalFileError) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert caught.value.exit_code == 5
    assert caught.value.errno == errno.ENOSPC
    assert "no space left on device" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not out.exists()
    kept = _size(out.with_name("v.mp4.part"))
    assert kept > 512 * 1024
    remount = ["mount", "-o", "remount,size=4m", str(small_disk)]
    await asyncio.to_thread(subprocess.run, remount, check=True)
    site.stats.reset()  # the first run's count includes what socket buffers swallowed
    async with VideoDownloader(FAST) as downloader:
        result = await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert result.resumed_from == kept
    assert _sha(out) == sha256_of(SOURCE)
    assert site.stats.bytes_served["source"] == SOURCE.size - kept


async def test_disk_full_with_pieces_fails_up_front(site: FixtureSite, small_disk: Path) -> None:
    out = small_disk / "v.mp4"
    options = dataclasses.replace(FAST, connections=4)
    async with VideoDownloader(options) as downloader:
        with pytest.raises(LocalFileError) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert caught.value.errno == errno.ENOSPC
    assert not out.exists()
    assert site.stats.bytes_served["source"] < SOURCE.size / 2


async def test_read_only_file_system(site: FixtureSite, read_only_disk: Path) -> None:
    out = read_only_disk / "v.mp4"
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(LocalFileError) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert caught.value.exit_code == 5
    assert "read-only file system" in str(caught.value)
    assert site.stats.requests == []


async def _child(url: str, out: Path, user: str = "") -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, str(out), user, stdout=asyncio.subprocess.PIPE
    )


async def _child_result(child: asyncio.subprocess.Process) -> dict[str, Any]:
    stdout, _ = await child.communicate()
    result: dict[str, Any] = json.loads(stdout)
    return result


def _root_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "root_only"
    folder.mkdir(mode=0o755)
    tmp_path.chmod(0o755)  # nobody may reach the folder, just not write in it
    return folder


async def test_permission_denied(site: FixtureSite, tmp_path: Path) -> None:
    folder = _root_only_folder(tmp_path)
    child = await _child(signed_url(site.url, SOURCE), folder / "v.mp4", user="nobody")
    result = await _child_result(child)
    assert result["error"] == "LocalFileError"
    assert result["exit_code"] == 5
    assert "permission denied" in result["message"]
    assert list(folder.iterdir()) == []


async def _wait_for_growth(path: Path, at_least: int, child: asyncio.subprocess.Process) -> None:
    # Another process writes this file; there is nothing to await but its size.
    for _ in range(500):
        if _size(path) >= at_least:
            return
        assert child.returncode is None, "the child ended before the file grew"
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} did not reach {at_least} bytes")


async def test_second_process_is_locked_out(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    site.cdn.configure("md", throttle=1024 * 1024)
    child = await _child(signed_url(site.url, MD), out)
    try:
        await _wait_for_growth(out.with_name("v.mp4.part"), 64 * 1024, child)
        async with VideoDownloader(FAST) as downloader:
            with pytest.raises(DownloadLocked) as caught:
                await downloader.fetch(signed_url(site.url, MD), out)
        assert caught.value.exit_code == 5
        assert "Another download" in str(caught.value)
    finally:
        site.cdn.configure("md", throttle=0)
    result = await _child_result(child)
    assert result["sha256"] == sha256_of(MD)
    assert _sha(out) == sha256_of(MD)


async def test_process_killed_halfway_resumes_on_rerun(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    site.cdn.configure("md", throttle=1024 * 1024)
    child = await _child(signed_url(site.url, MD), out)
    await _wait_for_growth(out.with_name("v.mp4.part"), MD.size // 3, child)
    os.kill(child.pid, signal.SIGKILL)
    await child.wait()
    site.cdn.configure("md", throttle=0)
    kept = _size(out.with_name("v.mp4.part"))
    async with VideoDownloader(FAST) as downloader:
        result = await downloader.fetch(signed_url(site.url, MD), out)
    assert result.resumed_from == kept >= MD.size // 3
    assert result.sha256 == sha256_of(MD) == _sha(out)
    assert site.stats.bytes_served["md"] < 1.5 * MD.size
