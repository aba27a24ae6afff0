"""What ``submit --wait`` prints: each link's outcome, as ``download --json`` would print it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import click
from temporalio.client import WorkflowFailureError, WorkflowHandle

from ..temporal.data import SoraLinkResult, to_record
from ..temporal.failures import describe_failure
from .json_output import failure_json
from .progress import format_size
from .runner import Voice, emit_json

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


def report_result(result: SoraLinkResult, workflow_id: str, voice: Voice) -> int:
    """Print one link's outcome (as ``download --json`` would, plus ``workflow_id``); 1 when
    it failed."""
    output, error = result.output, result.error
    if output is not None:
        if voice.json_output:
            emit_json({**to_record(output), "workflow_id": workflow_id})
        else:
            click.echo(output.local_path)
        size = format_size(output.file_size_bytes)
        voice.say(f"✓ Download complete: {output.local_path}  Size: {size}")
        return 0
    assert error is not None, "a link result holds an output or an error"
    if voice.json_output:
        record = failure_json(result.share_url, error.type, error.message, error.exit_code)
        emit_json({**record, "workflow_id": workflow_id})
    click.echo(f"error: {result.share_url}: {error.message}", err=True)
    return 1
