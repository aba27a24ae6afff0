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
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.worker import Worker

from .activities import SoraActivities
from .workflows import SoraBatchDownloadWorkflow, SoraDownloadWorkflow

DEFAULT_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "sora-browser"
WORKFLOWS = [SoraDownloadWorkflow, SoraBatchDownloadWorkflow]
# A workflow's next task first goes to the worker that ran the last one (its "sticky" queue).
# If that worker died, the task waits this long before any worker may take it; the SDK's 10 s
# default adds 10 s to every workflow a crash touches, while replaying these short histories
# elsewhere costs milliseconds.
STICKY_TIMEOUT = timedelta(seconds=2)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectOptions:
    """Where the cluster is and how to prove who we are (TLS/mTLS or an API key)."""

    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    api_key: str | None = None
    identity: str | None = None

    def tls_config(self) -> TLSConfig | bool:
        if self.tls_cert is None and self.tls_ca is None:
            # Temporal Cloud with an API key needs TLS, so turn it on for the user.
            return self.tls or self.api_key is not None
        return TLSConfig(
            server_root_ca_cert=self.tls_ca.read_bytes() if self.tls_ca else None,
            client_cert=self.tls_cert.read_bytes() if self.tls_cert else None,
            client_private_key=self.tls_key.read_bytes() if self.tls_key else None,
        )


async def connect(options: ConnectOptions) -> Client:
    return await Client.connect(
        options.address,
        namespace=options.namespace,
        tls=options.tls_config(),
        api_key=options.api_key,
        identity=options.identity,
    )


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
