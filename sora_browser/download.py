"""``VideoDownloader``: a direct MP4 URL becomes a verified file on disk.

Bytes stream into ``<output>.part`` (its validators and progress in ``<output>.part.json``), are
hashed on the way, checked (length, content type, an ``ftyp`` box first) and only then renamed
into place, so the output path holds a complete video or nothing. Failures keep the ``.part``
for the next attempt, in this run (tenacity retries) or a later one; a body that is not a video
is garbage and is deleted. An expired signature is refreshed through the caller's ``refresh``
callback (the share link resolved again) and the download continues from the ``.part``.
``<output>.lock`` keeps two processes from writing the same output.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiohttp
from tenacity import AsyncRetrying

from . import _http
from ._partfile import PartFiles, PartState, local_errors
from ._ratelimit import TokenBucket
from ._segments import SegmentRun, connections_for, layout, preallocate, probe_end
from ._stream import (
    Answer,
    RangeNotSatisfiable,
    Request,
    RestartNeeded,
    check_ftyp,
    open_range,
)
from ._writer import Hasher, Writer, hash_file, pump
from .cookies import load_cookies
from .errors import FetchError, IncompleteDownload, NotAVideo, SignatureExpired
from .models import Cookie, DownloadResult, ProgressCallback
from .options import DownloadOptions
from .urls import UrlPolicy, is_expired, signed_url_expiry

Refresh = Callable[[], Awaitable[str]]
"""Resolves the share link again and returns a freshly signed media URL."""

__all__ = ["Refresh", "VideoDownloader"]


@dataclass
class _Job:
    """One call to ``fetch``: where it stands, what it has counted."""

    url: str
    files: PartFiles
    fd: int
    state: PartState
    request: Request
    progress: ProgressCallback | None
    refresh: Refresh | None
    hasher: Hasher = field(default_factory=hashlib.sha256)
    hashed: int = 0
    """The hasher has seen bytes ``[0, hashed)`` of the ``.part``."""
    attempts: int = 0
    reresolved: int = 0
    resumed_from: int = 0
    connections: int = 1
    content_type: str | None = None
    limiter: TokenBucket | None = None

    def result(self, size: int, elapsed: float) -> DownloadResult:
        return DownloadResult(
            path=self.files.output,
            url=self.url,
            size=size,
            sha256=self.hasher.hexdigest(),
            content_type=self.content_type,
            resumed_from=self.resumed_from,
            attempts=self.attempts,
            connections=self.connections,
            elapsed=elapsed,
            reresolved=self.reresolved,
        )


class VideoDownloader:
    """Downloads direct media URLs; one aiohttp session shared by every download.

    Use as ``async with VideoDownloader(options) as downloader:``. Safe to run several
    downloads at once from one downloader (to different output paths).
    """

    def __init__(self, options: DownloadOptions | None = None) -> None:
        self.options = options or DownloadOptions()
        self._policy = UrlPolicy(self.options.allow_hosts)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> VideoDownloader:
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def download(
        self,
        url: str,
        output_path: Path,
        *,
        progress: ProgressCallback | None = None,
        refresh: Refresh | None = None,
        cookies: tuple[Cookie, ...] = (),
        referer: str | None = None,
    ) -> Path:
        """Download ``url`` to ``output_path`` and return that path (see ``fetch``)."""
        result = await self.fetch(
            url, output_path, progress=progress, refresh=refresh, cookies=cookies, referer=referer
        )
        return result.path

    async def fetch(
        self,
        url: str,
        output_path: Path,
        *,
        progress: ProgressCallback | None = None,
        refresh: Refresh | None = None,
        cookies: tuple[Cookie, ...] = (),
        referer: str | None = None,
    ) -> DownloadResult:
        """Download ``url`` to ``output_path``, resuming a ``.part``; describe the result."""
        session = self._ensure_session()
        _http.add_cookies(session, cookies)
        files = PartFiles(Path(output_path))
        started = time.monotonic()
        with local_errors("create the output folder"):
            files.output.parent.mkdir(parents=True, exist_ok=True)
        files.refuse_special_output()
        with files.locked():
            job = self._new_job(url, files, self._request(session, referer), progress, refresh)
            try:
                await self._run_with_deadline(job)
                size = os.fstat(job.fd).st_size
            except NotAVideo:
                files.discard()  # not a video: nothing worth resuming
                raise
            finally:
                os.close(job.fd)
                _drop_if_empty(files)
        return job.result(size, time.monotonic() - started)

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(
                total=None,
                sock_connect=self.options.connect_timeout,
                sock_read=self.options.read_timeout,
            )
            cookies_file = self.options.cookies_file
            self._session = _http.new_session(
                policy=self._policy,
                user_agent=self.options.user_agent,
                timeout=timeout,
                cookies=load_cookies(cookies_file) if cookies_file else (),
            )
        return self._session

    def _request(self, session: aiohttp.ClientSession, referer: str | None) -> Request:
        # identity: byte counts and ranges must refer to the stored bytes, not a gzip of them.
        headers = {"Accept-Encoding": "identity"}
        if referer:
            headers["Referer"] = referer
        return Request(session, self._policy, headers, self.options.verify_video)

    def _new_job(
        self,
        url: str,
        files: PartFiles,
        request: Request,
        progress: ProgressCallback | None,
        refresh: Refresh | None,
    ) -> _Job:
        state = files.load_state()
        fd = files.open_part()
        if state is None:
            with local_errors("reset the partial file"):
                os.ftruncate(fd, 0)  # a .part without state: unknown origin, not trusted
            state = PartState()
        limit = self.options.limit_rate
        job = _Job(url, files, fd, state, request, progress, refresh)
        job.limiter = TokenBucket(limit) if limit else None
        job.resumed_from = self._done(job)
        return job

    def _done(self, job: _Job) -> int:
        if job.state.segments is not None:
            return sum(s.pos - s.start for s in job.state.segments)
        return os.fstat(job.fd).st_size

    def _retrying(self) -> AsyncRetrying:
        options = self.options
        return _http.retrying(
            retries=options.retries, initial=options.backoff_initial, maximum=options.backoff_max
        )

    async def _run_with_deadline(self, job: _Job) -> None:
        limit = self.options.total_timeout
        try:
            async with asyncio.timeout(limit):
                await self._run(job)
        except TimeoutError as exc:
            raise FetchError(
                f"Download did not finish within {limit:g} s (partial file kept for a resume)",
                url=job.url,
            ) from exc

    async def _run(self, job: _Job) -> None:
        while True:
            before = self._done(job)
            try:
                self._check_expiry(job.url)
                async for attempt in self._retrying():
                    with attempt:
                        job.attempts += 1
                        await self._attempt(job)
                break
            except SignatureExpired as exc:
                await self._reresolve(job, exc)
            except FetchError as exc:
                # Retries are for a link that is stuck, not one that keeps delivering: if the
                # failed round still moved the .part forward, it earns a fresh round.
                if not exc.retryable or self._done(job) <= before:
                    raise
        await self._finish(job)

    def _check_expiry(self, url: str) -> None:
        # A signature already past its ``se`` would only earn a 403: refresh before connecting.
        if is_expired(url):
            raise SignatureExpired(
                f"The signed video URL expired at {signed_url_expiry(url)}", url=url
            )

    async def _reresolve(self, job: _Job, exc: SignatureExpired) -> None:
        if job.refresh is None:
            raise SignatureExpired(
                f"{exc.message}: the link has expired; resolve the share link again",
                url=exc.url,
            ) from exc
        if job.reresolved >= self.options.max_reresolve:
            raise SignatureExpired(
                f"{exc.message}, even after {job.reresolved} fresh link(s)", url=exc.url
            ) from exc
        job.reresolved += 1
        job.url = await job.refresh()

    async def _attempt(self, job: _Job) -> None:
        try:
            if job.state.segments is not None:
                await self._run_segments(job, None)
                return
            offset = os.fstat(job.fd).st_size
            if offset and offset == job.state.total:
                return  # complete already (a run that stopped before renaming)
            validator = job.state.validator if offset else None
            end = None if offset else probe_end(self.options.connections)
            async with open_range(job.request, job.url, offset, end, validator) as answer:
                await self._consume(job, answer, offset, bounded=end is not None)
        except RangeNotSatisfiable as exc:
            if exc.total is not None and exc.total == os.fstat(job.fd).st_size:
                job.state.total = exc.total  # the .part already holds everything
                return
            self._start_over(job)
            raise RestartNeeded("The server refused to resume; starting over") from exc
        except RestartNeeded:
            self._start_over(job)
            raise

    async def _consume(self, job: _Job, answer: Answer, offset: int, *, bounded: bool) -> None:
        if answer.partial and answer.start != offset:
            raise RestartNeeded(f"Asked for bytes from {offset}, got from {answer.start}")
        if (
            answer.partial
            and offset
            and answer.contradicts(job.state.etag, job.state.last_modified)
        ):
            raise RestartNeeded("The file changed on the server; starting over")
        if not answer.partial and offset:
            self._start_over(job)  # a 200 is the whole file: If-Range failed or no ranges
            offset = 0
        job.content_type = answer.content_type
        job.state = PartState(
            etag=answer.etag, last_modified=answer.last_modified, total=answer.total
        )
        segments = None if offset else layout(self.options.connections, answer)
        if segments is not None and answer.total:
            job.state.segments = segments
            preallocate(job.fd, answer.total)
            job.files.save_state(job.state)
            await self._run_segments(job, answer)
            return
        job.files.save_state(job.state)
        await self._stream(job, answer, offset, bounded=bounded and answer.partial)

    async def _stream(self, job: _Job, answer: Answer, offset: int, *, bounded: bool) -> None:
        await self._catch_up_hash(job, offset)

        def written(end: int) -> None:
            if job.progress is not None:
                job.progress(end, answer.total)

        writer = Writer(job.fd, job.hasher, written)
        try:
            end = await pump(
                answer,
                writer,
                offset=offset,
                stop=None,
                read_size=self._read_size(job),
                limiter=job.limiter,
            )
        finally:
            job.hashed = offset if writer.hashed_to is None else writer.hashed_to
        if answer.total is not None and end < answer.total:
            raise IncompleteDownload(f"Got {end} of {answer.total} bytes", url=job.url)
        if job.state.total is None:
            if bounded:  # ``bytes 0-N/*``: the size is unknown, so more may follow the range
                raise IncompleteDownload("Size unknown after the first range; continuing")
            job.state.total = end  # no length announced: the end of the body is the end
            job.files.save_state(job.state)

    async def _run_segments(self, job: _Job, first: Answer | None) -> None:
        total = job.state.total

        def progress(done: int) -> None:
            if job.progress is not None:
                job.progress(done, total)

        run = SegmentRun(
            req=job.request,
            url=job.url,
            fd=job.fd,
            state=job.state,
            save_state=job.files.save_state,
            retrying=self._retrying,
            read_size=self._read_size(job),
            limiter=job.limiter,
            on_progress=progress,
            hasher=job.hasher,
            hashed_to=job.hashed,
            connections=connections_for(self.options.connections),
        )
        job.connections = max(job.connections, min(run.connections, len(run.pieces)))
        try:
            await run.run(first)
        finally:
            job.attempts += run.attempts
            job.hashed = run.hashed_to

    def _read_size(self, job: _Job) -> int:
        size = self.options.chunk_size
        return job.limiter.read_size(size) if job.limiter else size

    def _start_over(self, job: _Job) -> None:
        with local_errors("reset the partial file"):
            os.ftruncate(job.fd, 0)
        job.state = PartState()
        job.hasher, job.hashed = hashlib.sha256(), 0
        with contextlib.suppress(FileNotFoundError):
            job.files.state_path.unlink()

    async def _catch_up_hash(self, job: _Job, end: int) -> None:
        """Hash what the ``.part`` already holds (a resume), in a thread."""
        if job.hashed > end:
            job.hasher, job.hashed = hashlib.sha256(), 0
        if job.hashed < end:
            with local_errors("read the partial file"):
                await asyncio.to_thread(hash_file, job.fd, job.hasher, job.hashed, end)
            job.hashed = end

    async def _finish(self, job: _Job) -> None:
        size = os.fstat(job.fd).st_size
        if (job.state.total is not None and size != job.state.total) or any(
            s.remaining for s in job.state.segments or ()
        ):
            raise IncompleteDownload(f"Got {size} of {job.state.total} bytes", url=job.url)
        if self.options.verify_video:
            with local_errors("read the partial file"):
                head = os.pread(job.fd, 8, 0)
            check_ftyp(head.ljust(8, b"\0"), job.url)
        await self._catch_up_hash(job, size)
        job.files.commit(job.fd)


def _drop_if_empty(files: PartFiles) -> None:
    """A failed first attempt should not leave an empty ``.part`` and state behind."""
    with contextlib.suppress(OSError):
        if files.part.stat().st_size == 0:
            files.discard()
