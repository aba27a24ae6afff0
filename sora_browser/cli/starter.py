"""Starting workflows for ``sora-browser submit`` and waiting for them (the samples' starter).

Imported only when ``submit`` runs, so temporalio loads here and not with the CLI. Workflows
are started by name with their result type: importing the workflow classes would load the
activities and everything they import.
"""

from __future__ import annotations

import uuid

import click
from temporalio.client import Client

from ..temporal.connection import ConnectOptions, connect
from ..temporal.data import (
    BATCH_WORKFLOW,
    DOWNLOAD_WORKFLOW,
    ActivityPolicy,
    SoraBatchOutput,
    SoraBatchRequest,
    SoraDownloadRequest,
    SoraExtractionInput,
    SoraExtractionOutput,
)
from .results import Started, batch_results, report_result, single_results
from .runner import Voice, emit_json


async def submit_links(
    connect_options: ConnectOptions,
    links: list[SoraExtractionInput],
    policy: ActivityPolicy,
    *,
    task_queue: str,
    batch_size: int | None,
    max_concurrent: int,
    wait: bool,
    voice: Voice,
) -> int:
    """One workflow per link, or batches of ``batch_size``; with ``wait``, print each outcome."""
    client = await connect(connect_options)
    if batch_size is None:
        started = [await start_one(client, task_queue, link, policy) for link in links]
    else:
        started = [
            await start_batch(client, task_queue, links[i : i + batch_size], policy, max_concurrent)
            for i in range(0, len(links), batch_size)
        ]
    voice.say(f"Started {len(started)} workflow(s) on task queue {task_queue!r}")
    if not wait:
        for handle, what in started:
            record = {"share_url": what, "workflow_id": handle.id, "run_id": handle.result_run_id}
            emit_json(record) if voice.json_output else click.echo(handle.id)
        return 0
    results = single_results(started) if batch_size is None else batch_results(started)
    failed = 0
    async for result, workflow_id in results:
        failed += report_result(result, workflow_id, voice)
    return 1 if failed else 0


async def start_one(
    client: Client, task_queue: str, link: SoraExtractionInput, policy: ActivityPolicy
) -> Started:
    handle = await client.start_workflow(
        DOWNLOAD_WORKFLOW,
        SoraDownloadRequest(link=link, policy=policy),
        id=workflow_id_for(link.share_url),
        task_queue=task_queue,
        result_type=SoraExtractionOutput,
    )
    return handle, link.share_url


async def start_batch(
    client: Client,
    task_queue: str,
    links: list[SoraExtractionInput],
    policy: ActivityPolicy,
    max_concurrent: int,
) -> Started:
    request = SoraBatchRequest(links=links, max_concurrent=max_concurrent, policy=policy)
    handle = await client.start_workflow(
        BATCH_WORKFLOW,
        request,
        id=workflow_id_for(f"{len(links)}-links", "batch"),
        task_queue=task_queue,
        result_type=SoraBatchOutput,
    )
    return handle, f"{len(links)} links"


def workflow_id_for(url: str, kind: str = "download") -> str:
    """Readable and unique: ``sora-download-<last path segment>-<8 hex>``."""
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    slug = "".join(c for c in tail if c.isalnum() or c in "_-")[:64] or "link"
    return f"sora-{kind}-{slug}-{uuid.uuid4().hex[:8]}"
