"""Temporal activities: thin shells over ``SoraClient`` and ``VideoDownloader``.

Worker-level settings (allowed hosts, output folder, default mode, Chromium) live in a
``SoraActivities`` instance whose bound methods the worker registers, as in the temporalio
samples; one instance means one ``SoraClient`` (so one browser) shared by every activity the
worker runs. The module-level ``extract_sora_video``, ``resolve_sora_video`` and
``download_sora_video`` carry the same activity names, so a workflow can pass them to
``workflow.execute_activity`` as the original design shows; registered by themselves they run
with default settings.

Errors: ``SoraBrowserError`` becomes ``ApplicationError`` whose ``type`` is the class name and
whose first detail is ``{"exit_code": N}``. Errors a retry cannot fix (exit codes 2 and 3, and
``NotAVideo``) are non-retryable; the rest retry under the workflow's ``RetryPolicy``. One exit-3
error is this worker's fault, not the link's: ``BrowserUnavailable`` (no Chromium here) retries,
so in a fleet where only some machines have a browser the link reaches one that does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from ..client import SoraClient
from ..download import VideoDownloader
from ..errors import (
    BadInput,
    BrowserUnavailable,
    LocalFileError,
    NotAVideo,
    SoraBrowserError,
    local_errors,
)
from ..models import DownloadResult, ResolvedVideo
from ..options import MODES, DownloadOptions, OutputOptions, ResolveOptions
from ..output import confined_folder, confined_output_path, default_output_dir, ready_default_dir
from ..placement import Claims, Where
from ..saving import Saver
from ..service import shared_policy
from .data import (
    SoraDownloadInput,
    SoraExtractionInput,
    SoraExtractionOutput,
    SoraResolvedVideo,
    download_input,
    from_record,
    to_record,
)

EXTRACT_ACTIVITY = "extract_sora_video"
RESOLVE_ACTIVITY = "resolve_sora_video"
DOWNLOAD_ACTIVITY = "download_sora_video"
NON_RETRYABLE_EXIT_CODES = frozenset({2, 3})
DEFAULT_CATEGORY = ApplicationErrorCategory.UNSPECIFIED
# Without a heartbeat timeout the server never expects one; beat now and then anyway so the
# UI shows progress.
DEFAULT_HEARTBEAT_EVERY = 10.0


def default_worker_name() -> str:
    # Temporal's own default identity has this shape, so the two line up in the UI.
    return f"{os.getpid()}@{socket.gethostname()}"


class SoraActivities:
    """The activities with worker-level settings; register ``activities.all()``."""

    def __init__(
        self,
        resolve_options: ResolveOptions | None = None,
        download_options: DownloadOptions | None = None,
        output_dir: Path | None = None,
        *,
        worker_name: str | None = None,
        client: SoraClient | None = None,
    ) -> None:
        # One library retry: Temporal's RetryPolicy is the outer loop, and the two multiply.
        self.resolve_options, self.download_options = shared_policy(
            resolve_options, download_options or DownloadOptions(retries=1)
        )
        self.output_dir = output_dir or default_output_dir()
        self._default_dir = output_dir is None
        self.worker_name = worker_name or default_worker_name()
        # A ready client (say, with a custom resolver) serves the worker's own mode.
        self._clients: dict[tuple[str, str, bool], SoraClient] = {}
        if client is not None:
            options = self.resolve_options
            self._clients[(options.mode, options.quality, options.no_watermark)] = client
        self._downloader: VideoDownloader | None = None
        self._claims = Claims()
        """Paths the worker's downloads have taken: two links, one templated name."""

    def all(self) -> list[Any]:
        """The bound activity methods, for ``Worker(activities=...)``."""
        return [self.extract_sora_video, self.resolve_sora_video, self.download_sora_video]

    @activity.defn(name=RESOLVE_ACTIVITY)
    async def resolve_sora_video(self, input: SoraExtractionInput) -> SoraResolvedVideo:
        """Find the direct MP4 URL behind a share link."""
        with application_errors():
            async with heartbeating({"stage": "resolve"}):
                return await self._resolve(input)

    @activity.defn(name=DOWNLOAD_ACTIVITY)
    async def download_sora_video(self, input: SoraDownloadInput) -> SoraExtractionOutput:
        """Download a resolved video, resuming what an earlier attempt left behind."""
        with application_errors():
            return await self._download(input)

    @activity.defn(name=EXTRACT_ACTIVITY)
    async def extract_sora_video(self, input: SoraExtractionInput) -> SoraExtractionOutput:
        """Resolve and download in one activity (the original design's call)."""
        with application_errors():
            video = video_from_heartbeat()
            if video is None:
                async with heartbeating({"stage": "resolve"}):
                    video = await self._resolve(input)
            return await self._download(download_input(input, video))

    async def _resolve(self, link: SoraExtractionInput | SoraDownloadInput) -> SoraResolvedVideo:
        share_url = (
            link.share_url if isinstance(link, SoraExtractionInput) else link.video.share_url
        )
        resolved = await self.client(link.mode, link.quality, link.no_watermark).resolve(share_url)
        return video_data(resolved, worker=self.worker_name)

    async def _download(self, request: SoraDownloadInput) -> SoraExtractionOutput:
        # A URL refreshed by an earlier attempt (expired signature) beats the input's.
        video = video_from_heartbeat() or request.video
        if self._default_dir:
            ready_default_dir()  # in the shared temp folder: made private, or refused
        resolved = ResolvedVideo.from_json(to_record(video))
        saver = await self._saver(request)
        target, skip = await saver.target(self._where(video.share_id, request), resolved)
        if skip is not None:
            return self._output(saver, *skip, skipped=True)
        details = {"stage": "download", "video": to_record(video), "path": str(target)}
        async with heartbeating(details) as beat:

            async def refresh() -> str:
                fresh = await self._resolve(request)
                beat.update(video=to_record(fresh))
                return fresh.mp4_url

            result = await saver.downloader.fetch_video(
                resolved,
                target,
                progress=lambda done, total: beat.update(bytes_done=done, total=total),
                refresh=refresh,
            )
        return self._output(saver, resolved, result, skipped=False)

    def _where(self, share_id: str, request: SoraDownloadInput) -> Where:
        """Where the file may go: inside the worker's folder whatever the input says."""
        if request.output_template is None:
            target = self.target_path(share_id, request.output_path, request.output_dir)
            with local_errors("create the output folder"):
                target.parent.mkdir(parents=True, exist_ok=True)
            return Where(target, None)
        if request.output_path is not None:
            raise BadInput("output_template names files inside output_dir; drop output_path")
        folder = confined_folder(self.output_dir, request.output_dir)
        with local_errors("create the output folder"):
            folder.mkdir(parents=True, exist_ok=True)
        return Where(folder, None, request.output_template)

    async def _saver(self, request: SoraDownloadInput) -> Saver:
        options = OutputOptions(
            template=request.output_template,
            write_info_json=request.write_info_json,
            force_overwrites=request.force_overwrites,
        )
        return Saver(options, await self.downloader(), self._claims)

    def _output(
        self, saver: Saver, resolved: ResolvedVideo, result: DownloadResult, *, skipped: bool
    ) -> SoraExtractionOutput:
        record = {**resolved.to_json(), **result.to_json(), "skipped": skipped}
        info = saver.info_json(record, result.path, skipped=skipped)
        record.update(worker=self.worker_name, activity_attempt=activity.info().attempt)
        return from_record(SoraExtractionOutput, {**record, "info_json": info and str(info)})

    def client(self, mode: str, quality: str = "best", no_watermark: bool = False) -> SoraClient:
        """The shared client for ``mode`` and that choice of file; ``auto`` means the worker's
        own mode."""
        if mode not in MODES:
            raise BadInput(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        chosen = self.resolve_options.mode if mode == "auto" else mode
        key = (chosen, quality, no_watermark)
        if key not in self._clients:
            options = dataclasses.replace(
                self.resolve_options,
                mode=chosen,
                quality=quality,  # type: ignore[arg-type]
                no_watermark=no_watermark,
            )
            self._clients[key] = SoraClient(options)
        return self._clients[key]

    async def downloader(self) -> VideoDownloader:
        if self._downloader is None:
            options = self.resolve_options
            trusted = self.download_options.trusting(options.archive_hosts, options.warc_files)
            self._downloader = VideoDownloader(trusted)
            await self._downloader.__aenter__()
        return self._downloader

    def target_path(self, share_id: str, output_path: str | None, output_dir: str | None) -> Path:
        """Where the file goes; remote input never writes outside the worker's folder."""
        return confined_output_path(share_id, output_path, base=self.output_dir, folder=output_dir)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()
        if self._downloader is not None:
            await self._downloader.aclose()
            self._downloader = None

    async def __aenter__(self) -> SoraActivities:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


_default: SoraActivities | None = None


def default_activities() -> SoraActivities:
    """The instance behind the module-level activities (default settings)."""
    global _default
    if _default is None:
        _default = SoraActivities()
    return _default


@activity.defn(name=EXTRACT_ACTIVITY)
async def extract_sora_video(input: SoraExtractionInput) -> SoraExtractionOutput:
    """Resolve and download one share link (worker default settings when registered alone)."""
    return await default_activities().extract_sora_video(input)


@activity.defn(name=RESOLVE_ACTIVITY)
async def resolve_sora_video(input: SoraExtractionInput) -> SoraResolvedVideo:
    """Find the direct MP4 URL behind a share link."""
    return await default_activities().resolve_sora_video(input)


@activity.defn(name=DOWNLOAD_ACTIVITY)
async def download_sora_video(input: SoraDownloadInput) -> SoraExtractionOutput:
    """Download a resolved video, resuming what an earlier attempt left behind."""
    return await default_activities().download_sora_video(input)


def to_application_error(exc: SoraBrowserError) -> ApplicationError:
    """The Temporal form of a library error: same type name, exit code in the details."""
    non_retryable = (
        exc.exit_code in NON_RETRYABLE_EXIT_CODES and not isinstance(exc, BrowserUnavailable)
    ) or isinstance(exc, NotAVideo)
    retry_after = getattr(exc, "retry_after", None)
    delay = None
    if isinstance(retry_after, int | float) and retry_after > 0 and not non_retryable:
        delay = timedelta(seconds=retry_after)  # the server said when to come back
    return ApplicationError(
        exc.message,
        {"exit_code": exc.exit_code},
        type=type(exc).__name__,
        non_retryable=non_retryable,
        next_retry_delay=delay,
        # A bad link or a page without a video is an answer, not a fault: log it quietly.
        category=ApplicationErrorCategory.BENIGN if non_retryable else DEFAULT_CATEGORY,
    )


@contextlib.contextmanager
def application_errors() -> Iterator[None]:
    """Translate library (and stray file-system) errors into ``ApplicationError``."""
    try:
        yield
    except SoraBrowserError as exc:
        raise to_application_error(exc) from exc
    except OSError as exc:
        error = LocalFileError.from_oserror(exc, "write the output")
        raise to_application_error(error) from exc


class Heartbeat:
    """The latest progress, sent with every heartbeat (the SDK throttles the sending)."""

    def __init__(self, details: dict[str, Any]) -> None:
        self.details = dict(details)

    def update(self, **changes: Any) -> None:
        self.details.update(changes)
        self.beat()

    def beat(self) -> None:
        activity.heartbeat(dict(self.details))


@contextlib.asynccontextmanager
async def heartbeating(details: dict[str, Any]) -> AsyncIterator[Heartbeat]:
    """Heartbeat now and periodically, so a slow step is not taken for a dead worker."""
    beat = Heartbeat(details)
    timeout = activity.info().heartbeat_timeout
    every = timeout.total_seconds() / 3 if timeout else DEFAULT_HEARTBEAT_EVERY
    beat.beat()

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            beat.beat()

    task = asyncio.create_task(loop())
    try:
        yield beat
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def video_from_heartbeat() -> SoraResolvedVideo | None:
    """The video an earlier attempt of this activity was downloading, if it said so."""
    details = activity.info().heartbeat_details
    last = details[-1] if details else None
    if not isinstance(last, dict) or not isinstance(last.get("video"), dict):
        return None
    try:
        return from_record(SoraResolvedVideo, last["video"])
    except TypeError:  # an older or foreign shape: resolve again instead
        return None


def video_data(resolved: ResolvedVideo, *, worker: str) -> SoraResolvedVideo:
    return from_record(SoraResolvedVideo, {**resolved.to_json(private=True), "worker": worker})
