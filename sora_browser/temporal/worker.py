"""Connect to a Temporal cluster and run a worker for the sora-browser workflows.

``run_worker`` serves until SIGTERM or SIGINT, then shuts down gracefully: activities get
``graceful_shutdown`` to finish, and a download cut short keeps its ``.part`` file and
heartbeat, so its retry (on any worker) resumes instead of starting over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from .activities import SoraActivities
from .connection import ConnectOptions, connect
from .workflows import SoraBatchDownloadWorkflow, SoraDownloadWorkflow

__all__ = ["ConnectOptions", "build_worker", "connect", "run_worker"]

WORKFLOWS = [SoraDownloadWorkflow, SoraBatchDownloadWorkflow]
# A workflow's next task first goes to the worker that ran the last one (its "sticky" queue).
# If that worker died, the task waits this long before any worker may take it; the SDK's 10 s
# default adds 10 s to every workflow a crash touches, while replaying these short histories
# elsewhere costs milliseconds.
STICKY_TIMEOUT = timedelta(seconds=2)
log = logging.getLogger(__name__)


def build_worker(
    client: Client,
    task_queue: str,
    activities: SoraActivities,
    *,
    max_concurrent: int = 4,
    graceful_shutdown: timedelta = timedelta(seconds=10),
    sticky_timeout: timedelta = STICKY_TIMEOUT,
) -> Worker:
    """A worker running both workflows and the activities of ``activities``."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities.all(),
        max_concurrent_activities=max_concurrent,
        graceful_shutdown_timeout=graceful_shutdown,
        sticky_queue_schedule_to_start_timeout=sticky_timeout,
    )


async def run_worker(
    client: Client,
    task_queue: str,
    activities: SoraActivities,
    *,
    max_concurrent: int = 4,
    graceful_shutdown: timedelta = timedelta(seconds=10),
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, then let running activities finish (or hand them on)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(
        client,
        task_queue,
        activities,
        max_concurrent=max_concurrent,
        graceful_shutdown=graceful_shutdown,
    )
    try:
        async with activities, worker:
            if on_ready is not None:
                on_ready()
            await stop.wait()
            log.info("Stopping: waiting up to %s for running activities", graceful_shutdown)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
