"""One result shape: the models' JSON records, and the Temporal dataclasses built from them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sora_browser import SoraClient, SoraExtractionService, VideoDownloader
from sora_browser.models import Cookie, DownloadResult, ResolvedVideo
from sora_browser.options import DownloadOptions, ResolveOptions
from sora_browser.service import Extraction
from sora_browser.temporal.data import (
    SoraExtractionOutput,
    SoraResolvedVideo,
    from_record,
    to_record,
)
from sora_browser.testing.media import VIDEOS, sha256_of, signed_url
from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite

VIDEO = ResolvedVideo(
    share_url="https://sora.chatgpt.com/p/s_1",
    share_id="s_1",
    mp4_url="https://videos.openai.com/az/files/x%2Fraw?se=2026-01-01&sig=abc",
    resolver="static",
    strategy="og:video",
    variant="source",
    width=1280,
    height=720,
    title="A title",
    expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    cookies=(Cookie("cf_clearance", "ok", ".sora.chatgpt.com"),),
    referer="https://sora.chatgpt.com/p/s_1",
)
RESULT = DownloadResult(
    path=Path("/tmp/x/s_1.mp4"),
    url="https://videos.openai.com/az/files/x%2Fraw?se=2026-01-02&sig=def",
    size=42,
    sha256="0" * 64,
    resumed_from=7,
    connections=2,
    elapsed=1.23456,
)


def test_resolved_video_record_uses_the_field_vocabulary() -> None:
    record = VIDEO.to_json()
    assert record["expires_at"] == "2026-01-01T00:00:00+00:00"
    assert "cookies" not in record
    assert "referer" not in record
    assert ResolvedVideo.from_json(VIDEO.to_json(private=True)) == VIDEO


def test_download_result_record_names_and_round_trip() -> None:
    record = RESULT.to_json()
    assert record == {
        "local_path": "/tmp/x/s_1.mp4",
        "mp4_url": RESULT.url,
        "file_size_bytes": 42,
        "sha256": "0" * 64,
        "resumed_from": 7,
        "connections": 2,
        "elapsed_seconds": 1.235,
        "downloaded_at": None,
    }
    assert DownloadResult.from_json(record).path == RESULT.path


def test_extraction_record_names_the_url_actually_fetched() -> None:
    record = Extraction(VIDEO, RESULT).to_json()
    assert record["mp4_url"] == RESULT.url  # a refreshed signature, not the page's first one
    assert record["share_id"] == "s_1"
    assert record["local_path"] == "/tmp/x/s_1.mp4"
    assert list(record)[:3] == ["share_url", "share_id", "mp4_url"]


def test_temporal_dataclasses_carry_fields_they_do_not_name() -> None:
    record = {**Extraction(VIDEO, RESULT).to_json(), "worker": "w1", "n_frames": 300}
    output = from_record(SoraExtractionOutput, record)
    assert output.local_path == "/tmp/x/s_1.mp4"
    assert output.worker == "w1"
    assert output.extra["n_frames"] == 300  # a field added to the models later
    assert "replay_url" in output.extra  # the archive's fields, added after the dataclass
    assert to_record(output)["n_frames"] == 300
    video = from_record(SoraResolvedVideo, {**VIDEO.to_json(private=True), "worker": "w1"})
    assert video.cookies == [["cf_clearance", "ok", ".sora.chatgpt.com", "/"]]
    assert ResolvedVideo.from_json(to_record(video)) == VIDEO


async def test_the_original_design_calls(site: FixtureSite, tmp_path: Path) -> None:
    allow = frozenset({site.host})
    url = share_url(site, "variants_wrong_first")
    async with SoraClient(ResolveOptions(allow_hosts=allow)) as client:
        assert "/az/files/" in await client.get_mp4_url(url)
    service = SoraExtractionService(
        resolve_options=ResolveOptions(allow_hosts=allow),
        download_options=DownloadOptions(allow_hosts=allow),
    )
    async with service:
        path = await service.extract_and_download(
            sora_share_url=url, output_path=tmp_path / "my_video.mp4"
        )
    assert path == tmp_path / "my_video.mp4"
    async with VideoDownloader(DownloadOptions(allow_hosts=allow)) as downloader:
        got = await downloader.download(
            url=signed_url(site.url, VIDEOS["md"]), output_path=tmp_path / "video.mp4"
        )
    assert got == tmp_path / "video.mp4"
    assert hashlib.sha256(got.read_bytes()).hexdigest() == sha256_of(VIDEOS["md"])
