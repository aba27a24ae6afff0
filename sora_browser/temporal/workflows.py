"""Workflows: one link (``SoraDownloadWorkflow``) and many (``SoraBatchDownloadWorkflow``).

Both call ``resolve_sora_video`` then ``download_sora_video``: the resolved URL is recorded in
the history, so a download retried on another worker does not visit the page again. Timeouts
and the ``RetryPolicy`` are set here, where the activities are called; the heartbeat timeout
is what makes a dead worker's download move to a live one quickly.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from .activities import download_sora_video, resolve_sora_video
    from .data import (
        BATCH_WORKFLOW,
        DOWNLOAD_WORKFLOW,
        ActivityPolicy,
        SoraBatchOutput,
        SoraBatchRequest,
        SoraDownloadRequest,
        SoraErrorInfo,
        SoraExtractionInput,
        SoraExtractionOutput,
        SoraLinkResult,
        download_input,
    )
    from .failures import describe_failure


@workflow.defn(name=DOWNLOAD_WORKFLOW)
class SoraDownloadWorkflow:
    """Download one share link; fails with the activity's error type when it cannot."""

    @workflow.run
    async def run(self, request: SoraDownloadRequest) -> SoraExtractionOutput:
        try:
            return await download_link(request.link, request.policy)
        except ActivityError as exc:
            info = error_info(exc)
            # Re-raised as the activity's own type so a client can match it directly.
            raise ApplicationError(
                info.message, {"exit_code": info.exit_code}, type=info.type, non_retryable=True
            ) from exc


@workflow.defn(name=BATCH_WORKFLOW)
class SoraBatchDownloadWorkflow:
    """Download many links, a few at a time; one result per link, failures included.

    Every ``links_per_run`` links the workflow continues as new with the outcomes so far, so
    its history stays short however long the list; a client waiting on the workflow id
    follows the runs to the final result.
    """

    def __init__(self) -> None:
        self._done = 0
        self._failed = 0
        self._total = 0

    @workflow.run
    async def run(self, request: SoraBatchRequest) -> SoraBatchOutput:
        results = list(request.results)
        self._total = len(request.links)
        self._done = len(results)
        self._failed = sum(r.error is not None for r in results)
        slots = asyncio.Semaphore(max(1, request.max_concurrent))

        async def one(link: SoraExtractionInput) -> SoraLinkResult:
            async with slots:
                result = await self._attempt(link, request.policy)
            self._done += 1
            self._failed += result.error is not None
            return result

        window = request.links[len(results) : len(results) + max(1, request.links_per_run)]
        results += await asyncio.gather(*(one(link) for link in window))
        if len(results) < len(request.links):
            # A fresh history for the rest; the carried results keep every outcome so far.
            workflow.continue_as_new(dataclasses.replace(request, results=results))
        return SoraBatchOutput(
            results=results, succeeded=self._done - self._failed, failed=self._failed
        )

    @staticmethod
    async def _attempt(link: SoraExtractionInput, policy: ActivityPolicy) -> SoraLinkResult:
        try:
            output = await download_link(link, policy)
        except ActivityError as exc:
            return SoraLinkResult(share_url=link.share_url, error=error_info(exc))
        return SoraLinkResult(share_url=link.share_url, output=output)

    @workflow.query
    def progress(self) -> dict[str, int]:
        """Links finished so far (``done`` includes ``failed``) out of ``total``."""
        return {"done": self._done, "failed": self._failed, "total": self._total}


async def download_link(link: SoraExtractionInput, policy: ActivityPolicy) -> SoraExtractionOutput:
    """Resolve, then download, with the policy's timeouts and retries (workflow code)."""
    options = activity_options(policy)
    video = await workflow.execute_activity(
        resolve_sora_video,
        link,
        start_to_close_timeout=timedelta(seconds=policy.resolve_timeout_seconds),
        **options,
    )
    request = download_input(link, video)
    return await workflow.execute_activity(
        download_sora_video,
        request,
        start_to_close_timeout=timedelta(seconds=policy.download_timeout_seconds),
        **options,
    )


def activity_options(policy: ActivityPolicy) -> dict[str, Any]:
    # Clamped: an inconsistent policy from a client would otherwise fail every workflow task
    # (the SDK refuses it), leaving the workflow stuck instead of running.
    initial = max(policy.initial_interval_seconds, 0.001)
    retry = RetryPolicy(
        initial_interval=timedelta(seconds=initial),
        backoff_coefficient=max(policy.backoff_coefficient, 1.0),
        maximum_interval=timedelta(seconds=max(policy.maximum_interval_seconds, initial)),
        maximum_attempts=max(policy.maximum_attempts, 0),
    )
    heartbeat = timedelta(seconds=policy.heartbeat_timeout_seconds)
    return {"heartbeat_timeout": heartbeat, "retry_policy": retry}


def error_info(exc: ActivityError) -> SoraErrorInfo:
    """Why an activity failed for good: its ``ApplicationError``, or a timeout."""
    return describe_failure(exc.cause or exc)
