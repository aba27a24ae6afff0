"""The downloader against the fixture CDN on loopback: the plain path and each way it fails."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from sora_browser.download import VideoDownloader
from sora_browser.errors import (
    HTTPStatusError,
    IncompleteDownload,
    NetworkError,
    NotAVideo,
    PolicyRefused,
    SignatureExpired,
)
from sora_browser.models import Cookie
from sora_browser.options import DownloadOptions
from sora_browser.testing.cdn import Fault
from sora_browser.testing.media import VIDEOS, FakeVideo, sha256_of, signed_url
from sora_browser.testing.site import FixtureSite

FAST = DownloadOptions(
    allow_hosts=frozenset({"127.0.0.1"}),
    backoff_initial=0.01,
    backoff_max=0.05,
    retries=3,
    read_timeout=5,
    connect_timeout=5,
)
SOURCE = VIDEOS["source"]


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def _assert_nothing_at(path: Path) -> None:
    assert not path.exists()


async def _fetch(site: FixtureSite, tmp_path: Path, video: FakeVideo = SOURCE) -> Path:
    out = tmp_path / "video.mp4"
    async with VideoDownloader(FAST) as downloader:
        result = await downloader.fetch(signed_url(site.url, video), out)
    assert result.path == out
    assert result.size == video.size
    assert result.sha256 == sha256_of(video) == _file_sha(out)
    return out


async def test_plain_download(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    seen: list[tuple[int, int | None]] = []
    async with VideoDownloader(FAST) as downloader:
        path = await downloader.download(
            signed_url(site.url, SOURCE), out, progress=lambda d, t: seen.append((d, t))
        )
    assert path == out
    assert _file_sha(out) == sha256_of(SOURCE)
    assert seen[-1] == (SOURCE.size, SOURCE.size)
    assert site.stats.bytes_served["source"] == SOURCE.size
    assert not out.with_name("video.mp4.part").exists()
    assert not out.with_name("video.mp4.part.json").exists()
    assert not out.with_name("video.mp4.lock").exists()


async def test_sora1_style_url_keeps_percent_encoded_slashes(
    site: FixtureSite, tmp_path: Path
) -> None:
    await _fetch(site, tmp_path, VIDEOS["sora1"])
    assert "%2F" in site.stats.requests[0][1]


async def test_no_content_length(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.no_content_length()])
    await _fetch(site, tmp_path)


async def test_429_with_retry_after_then_success(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.status(429, retry_after=0.01)])
    await _fetch(site, tmp_path)
    assert len(site.stats.requests) == 2


async def test_503_twice_then_success(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.status(503), Fault.status(503)])
    await _fetch(site, tmp_path)
    assert len(site.stats.requests) == 3


async def test_dropped_connection_is_retried(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.drop_after(fraction=0.5)])
    await _fetch(site, tmp_path)
    assert len(site.stats.requests) == 2


async def test_truncated_body_fails_after_retries(site: FixtureSite, tmp_path: Path) -> None:
    # Half, then nothing: the second round of retries makes no progress and gives up.
    site.cdn.script("source", [Fault.truncate(fraction=0.5)] + [Fault.truncate(fraction=0)] * 7)
    out = tmp_path / "video.mp4"
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(IncompleteDownload) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert caught.value.exit_code == 4
    _assert_nothing_at(out)
    assert out.with_name("video.mp4.part").stat().st_size > 0  # kept for a resume


async def test_html_instead_of_video(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("source", [Fault.html()])
    out = tmp_path / "video.mp4"
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(NotAVideo) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert caught.value.exit_code == 4
    assert _listing(tmp_path) == []


async def test_octet_stream_that_is_not_an_mp4(site: FixtureSite, tmp_path: Path) -> None:
    # A thumbnail served as the "video": right transport, wrong bytes (no ftyp box).
    jpeg = FakeVideo("not_mp4", 64 * 1024, content_type="application/octet-stream")
    site.videos[jpeg.name] = jpeg
    out = tmp_path / "video.mp4"
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(NotAVideo):
            await downloader.fetch(signed_url(site.url, jpeg), out)
    assert _listing(tmp_path) == []


async def test_404_is_not_retried(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    url = signed_url(site.url, FakeVideo("missing", 10))
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(HTTPStatusError) as caught:
            await downloader.fetch(url, out)
    assert caught.value.status == 404
    assert caught.value.exit_code == 4
    assert len(site.stats.requests) == 1
    assert _listing(tmp_path) == []


async def test_403_authentication_failed_without_refresh(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    url = signed_url(site.url, SOURCE).replace("sig=", "sig=0")
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(SignatureExpired) as caught:
            await downloader.fetch(url, out)
    assert caught.value.exit_code == 4
    assert "expired" in str(caught.value)
    assert len(site.stats.requests) == 1
    assert _listing(tmp_path) == []


async def test_host_refused_by_policy_never_connects(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    async with VideoDownloader(DownloadOptions()) as downloader:
        with pytest.raises(PolicyRefused) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert caught.value.exit_code == 2
    assert site.stats.requests == []
    assert _listing(tmp_path) == []


async def test_connection_refused_is_a_network_error(tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    options = DownloadOptions(allow_hosts=frozenset({"127.0.0.1"}), retries=1, backoff_initial=0.01)
    async with VideoDownloader(options) as downloader:
        with pytest.raises(NetworkError) as caught:
            await downloader.fetch("http://127.0.0.1:9/az/files/x%2Fraw", out)
    assert caught.value.exit_code == 4
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("connections", [1, 4])
async def test_batches_that_do_not_align_with_received_chunks(
    site: FixtureSite, tmp_path: Path, connections: int
) -> None:
    # Batches of 5000 bytes end inside the chunks aiohttp hands over: none may be lost.
    options = dataclasses.replace(FAST, chunk_size=5000, connections=connections)
    out = tmp_path / "video.mp4"
    async with VideoDownloader(options) as downloader:
        result = await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert result.sha256 == sha256_of(SOURCE) == _file_sha(out)


async def test_cookies_and_referer_reach_the_cdn(site: FixtureSite, tmp_path: Path) -> None:
    cookie = Cookie("cf_clearance", "token", "127.0.0.1")
    async with VideoDownloader(FAST) as downloader:
        await downloader.fetch(
            signed_url(site.url, SOURCE),
            tmp_path / "video.mp4",
            cookies=(cookie,),
            referer="https://sora.chatgpt.com/p/s_0",
        )
    headers = site.stats.requests[0][2]
    assert "cf_clearance=token" in headers.get("Cookie", "")
    assert headers["Referer"] == "https://sora.chatgpt.com/p/s_0"
    assert headers["Accept-Encoding"] == "identity"
