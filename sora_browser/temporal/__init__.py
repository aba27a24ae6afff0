"""Temporal workflows and activities for sora-browser (the ``temporal`` extra).

Use from your own workflow exactly as the original design shows::

    from sora_browser.temporal import SoraExtractionInput, extract_sora_video

    await workflow.execute_activity(
        extract_sora_video,
        SoraExtractionInput(share_url=url),
        start_to_close_timeout=timedelta(minutes=10),
    )

and run a worker with ``sora-browser worker`` (or ``build_worker`` with a ``SoraActivities``
holding the worker's settings). Names load on first use, so ``sora-browser --help`` never
imports temporalio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .activities import (
        SoraActivities,
        download_sora_video,
        extract_sora_video,
        resolve_sora_video,
    )
    from .connection import ConnectOptions, connect
    from .data import (
        ActivityPolicy,
        SoraBatchOutput,
        SoraBatchRequest,
        SoraDownloadInput,
        SoraDownloadRequest,
        SoraErrorInfo,
        SoraExtractionInput,
        SoraExtractionOutput,
        SoraLinkResult,
        SoraResolvedVideo,
    )
    from .worker import build_worker, run_worker
    from .workflows import SoraBatchDownloadWorkflow, SoraDownloadWorkflow

__getattr__ = lazy_names(
    __name__,
    {
        "SoraActivities": ".activities",
        "download_sora_video": ".activities",
        "extract_sora_video": ".activities",
        "resolve_sora_video": ".activities",
        "ActivityPolicy": ".data",
        "SoraBatchOutput": ".data",
        "SoraBatchRequest": ".data",
        "SoraDownloadInput": ".data",
        "SoraDownloadRequest": ".data",
        "SoraErrorInfo": ".data",
        "SoraExtractionInput": ".data",
        "SoraExtractionOutput": ".data",
        "SoraLinkResult": ".data",
        "SoraResolvedVideo": ".data",
        "ConnectOptions": ".connection",
        "build_worker": ".worker",
        "connect": ".connection",
        "run_worker": ".worker",
        "SoraBatchDownloadWorkflow": ".workflows",
        "SoraDownloadWorkflow": ".workflows",
    },
)


__all__ = [
    "ActivityPolicy",
    "ConnectOptions",
    "SoraActivities",
    "SoraBatchDownloadWorkflow",
    "SoraBatchOutput",
    "SoraBatchRequest",
    "SoraDownloadInput",
    "SoraDownloadRequest",
    "SoraDownloadWorkflow",
    "SoraErrorInfo",
    "SoraExtractionInput",
    "SoraExtractionOutput",
    "SoraLinkResult",
    "SoraResolvedVideo",
    "build_worker",
    "connect",
    "download_sora_video",
    "extract_sora_video",
    "resolve_sora_video",
    "run_worker",
]
