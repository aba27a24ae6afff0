"""What ``submit --wait`` prints: each link's outcome, as ``download --json`` would print it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from temporalio.client import WorkflowFailureError, WorkflowHandle

from .._cli_common import emit_json, say
from .._progress import format_size
from ..models import DownloadResult, ResolvedVideo
from ..reporting import download_json, failure_json
from .data import SoraExtractionOutput, SoraLinkResult
from .failures import describe_failure

Started = tuple[WorkflowHandle[Any, Any], str]
"""A started workflow and what it is for (a share link, or "N links" for a batch)."""


async def single_results(
    started: list[Started],
) -> AsyncIterator[tuple[SoraLinkResult, str]]:
    """Each workflow's outcome as soon as it ends, whatever the order they were started in."""
    tasks = [asyncio.ensure_future(outcome(handle, url)) for handle, url in started]
    for next_done in asyncio.as_completed(tasks):
        yield await next_done


async def outcome(handle: WorkflowHandle[Any, Any], url: str) -> tuple[SoraLinkResult, str]:
    try:
        output = await handle.result()
    except WorkflowFailureError as exc:
        return SoraLinkResult(share_url=url, error=describe_failure(exc.cause)), handle.id
    return SoraLinkResult(share_url=url, output=output), handle.id


async def batch_results(
    started: list[Started],
) -> AsyncIterator[tuple[SoraLinkResult, str]]:
    """Each batch's results in link order; ``result()`` follows a batch's continue-as-new runs."""
    for handle, _ in started:
        output = await handle.result()
        for result in output.results:
            yield result, handle.id


def report_result(
    result: SoraLinkResult, workflow_id: str, *, json_output: bool, quiet: bool
) -> int:
    """Print one link's outcome; 1 when it failed."""
    output, error = result.output, result.error
    if output is not None:
        if json_output:
            emit_json({**success_record(output), "workflow_id": workflow_id})
        else:
            click.echo(output.local_path)
        size = format_size(output.file_size_bytes)
        say(quiet, f"✓ Download complete: {output.local_path}  Size: {size}")
        return 0
    assert error is not None, "a link result holds an output or an error"
    if json_output:
        record = failure_json(result.share_url, error.type, error.message, error.exit_code)
        emit_json({**record, "workflow_id": workflow_id})
    click.echo(f"error: {result.share_url}: {error.message}", err=True)
    return 1


def success_record(output: SoraExtractionOutput) -> dict[str, Any]:
    """The ``download --json`` object for a worker's result (built by the same helper)."""
    resolved = ResolvedVideo(
        share_url=output.share_url,
        share_id=output.share_id,
        mp4_url=output.mp4_url,
        resolver=output.resolver,
        strategy=output.strategy,
        variant=output.variant,
        width=output.width,
        height=output.height,
        title=output.title,
        expires_at=datetime.fromisoformat(output.expires_at) if output.expires_at else None,
    )
    result = DownloadResult(
        path=Path(output.local_path),
        url=output.mp4_url,
        size=output.file_size_bytes,
        sha256=output.sha256,
        resumed_from=output.resumed_from,
        connections=output.connections,
        elapsed=output.elapsed_seconds,
    )
    record = download_json(resolved, result)
    record.update(worker=output.worker, activity_attempt=output.activity_attempt)
    return record
