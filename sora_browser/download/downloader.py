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

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import aiohttp
from tenacity import AsyncRetrying

from .. import _http
from ..cookies import load_cookies
from ..deadline import Deadline
from ..errors import (
    FetchError,
    FileTooLarge,
    IncompleteDownload,
    NotAVideo,
    SignatureExpired,
    SoraBrowserError,
    local_errors,
)
from ..models import Cookie, DownloadResult, MediaPiece, ProgressCallback, ResolvedVideo
from ..options import ARCHIVE_HOST_CONNECTIONS, DownloadOptions
from ..urls import UrlPolicy, is_expired, signed_url_expiry
from .assemble import Assembly
from .hostslots import first_connection, host_limit, slots_for
from .localmedia import is_local_url
from .partfile import PartFile, PartState
from .pieces import PieceRun, can_grow, layout, probe_end
from .ranges import (
    OVERLAP_BYTES,
    RangeAnswer,
    RangeNotSatisfiable,
    RangeRequest,
    RestartNeeded,
    check_overlap,
    open_range,
)
from .ratelimit import TokenBucket
from .writer import Writer, pump

Refresh = Callable[[], Awaitable[str]]
"""Resolves the share link again and returns a freshly signed media URL."""

__all__ = ["Refresh", "VideoDownloader"]


@dataclass
class _Job:
    """One call to ``fetch``: where it stands on the network side, what it has counted."""

    url: str
    part: PartFile
    request: RangeRequest
    progress: ProgressCallback | None
    refresh: Refresh | None
    limiter: TokenBucket | None
    wanted: int
    """Connections asked for (0: the downloader decides), as ``DownloadOptions.connections``."""
    attempts: int = 0
    reresolved: int = 0
    resumed_from: int = 0
    connections: int = 1
    content_type: str | None = None

    def result(self, elapsed: float) -> DownloadResult:
        return DownloadResult(
            downloaded_at=datetime.now(UTC),
            path=self.part.output,
            url=self.url,
            size=self.part.size(),
            sha256=self.part.hasher.hexdigest(),
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
        self._proxy = _http.Proxy.of(self.options.proxy, self.options.no_proxy)
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
        connections: int | None = None,
    ) -> Path:
        """Download ``url`` to ``output_path`` and return that path (see ``fetch``)."""
        result = await self.fetch(
            url,
            output_path,
            progress=progress,
            refresh=refresh,
            cookies=cookies,
            referer=referer,
            connections=connections,
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
        connections: int | None = None,
    ) -> DownloadResult:
        """Download ``url`` to ``output_path``, resuming a ``.part``; describe the result.

        ``connections`` overrides ``DownloadOptions.connections`` for this file (an archive
        replay that ignores ranges wants 1)."""
        session = self._ensure_session()
        _http.add_cookies(session, cookies)
        started = time.monotonic()
        async with self._opened(output_path) as part:
            wanted = self.options.connections if connections is None else connections
            request = self._request(session, referer)
            job = self._new_job(url, part, request, progress, refresh, wanted)
            await self._run_with_deadline(job.url, self._run(job))
            return job.result(time.monotonic() - started)

    async def fetch_video(
        self,
        video: ResolvedVideo,
        output_path: Path,
        *,
        progress: ProgressCallback | None = None,
        refresh: Refresh | None = None,
    ) -> DownloadResult:
        """Download what a resolver found: one URL, or the pieces an archive holds."""
        if video.pieces:
            return await self.fetch_pieces(video.pieces, output_path, progress=progress)
        return await self.fetch(
            video.mp4_url,
            output_path,
            progress=progress,
            refresh=refresh,
            cookies=video.cookies,
            referer=video.referer,
            connections=video.max_connections,
        )

    async def remote_size(self, video: ResolvedVideo) -> int | None:
        """The size of the video as its source announces it, without fetching a byte of it
        (a ``HEAD``; a saved record's headers; the pieces' total): None when it will not say.

        Used to tell whether a file already at OUTPUT is this video (``placement``).
        """
        if video.pieces:
            return video.pieces[0].total
        request = self._request(self._ensure_session(), video.referer)
        try:
            if is_local_url(video.mp4_url):
                async with open_range(request, video.mp4_url, 0, None, None) as answer:
                    return answer.total if answer.total is not None else answer.length
            async with _http.open_url(
                request.session,
                video.mp4_url,
                policy=self._policy,
                headers=request.headers,
                proxy=self._proxy,
                method="HEAD",
            ) as response:
                return response.content_length if response.status == 200 else None
        except (SoraBrowserError, aiohttp.ClientError, OSError):
            return None  # it will not say: the caller treats the file as another one

    async def fetch_pieces(
        self,
        pieces: Sequence[MediaPiece],
        output_path: Path,
        *,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Join a video an archive holds in pieces (``download.assemble``) at ``output_path``."""
        if not pieces:
            raise ValueError("fetch_pieces needs at least one piece")
        started = time.monotonic()
        async with self._opened(output_path) as part:
            assembly = Assembly(
                request=self._request(self._ensure_session(), None),
                part=part,
                candidates=list(pieces),
                retrying=self._retrying,
                read_size=self.options.chunk_size,
                progress=progress,
                # Pieces come from an archive by definition, named in archive_hosts or not.
                connections=min(self.options.host_connections, ARCHIVE_HOST_CONNECTIONS),
            )
            await self._run_with_deadline(assembly.candidates[0].url, self._join(assembly))
            return DownloadResult(
                downloaded_at=datetime.now(UTC),
                path=part.output,
                url=assembly.candidates[0].url,
                size=part.size(),
                sha256=part.hasher.hexdigest(),
                resumed_from=assembly.resumed_from or 0,
                attempts=assembly.attempts,
                connections=min(assembly.connections, max(assembly.used, 1)),
                elapsed=time.monotonic() - started,
            )

    async def _join(self, assembly: Assembly) -> None:
        await assembly.run()
        await self._verify_and_commit(assembly.part, assembly.candidates[0].url)

    @contextlib.asynccontextmanager
    async def _opened(self, output_path: Path) -> AsyncIterator[PartFile]:
        """The locked, open ``.part`` of ``output_path``; closed (and dropped if empty) after."""
        with local_errors("create the output folder"):
            Path(output_path).parent.mkdir(parents=True, exist_ok=True)
        part = PartFile(Path(output_path))
        part.refuse_special_output()
        with part.locked():
            part.open()
            try:
                yield part
            except (NotAVideo, FileTooLarge):
                part.discard()  # not a video, or not one of ours: nothing worth resuming
                raise
            finally:
                part.close()
                part.drop_if_empty()

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
                proxy=self._proxy,
            )
        return self._session

    def _request(self, session: aiohttp.ClientSession, referer: str | None) -> RangeRequest:
        # identity: byte counts and ranges must refer to the stored bytes, not a gzip of them.
        headers = {"Accept-Encoding": "identity"}
        if referer:
            headers["Referer"] = referer
        options = self.options
        return RangeRequest(
            session,
            self._policy,
            headers,
            options.verify_video,
            options.local_files,
            options.max_filesize,
            self._proxy,
        )

    def _new_job(
        self,
        url: str,
        part: PartFile,
        request: RangeRequest,
        progress: ProgressCallback | None,
        refresh: Refresh | None,
        wanted: int,
    ) -> _Job:
        limit = self.options.limit_rate
        limiter = TokenBucket(limit) if limit else None
        job = _Job(url, part, request, progress, refresh, limiter, wanted)
        job.resumed_from = part.done()
        return job

    def _retrying(self) -> AsyncRetrying:
        options = self.options
        return _http.retrying(
            retries=options.retries,
            initial=options.backoff_initial,
            maximum=options.backoff_max,
            on_retry=options.on_retry,
        )

    async def _run_with_deadline(self, url: str, work: Awaitable[None]) -> None:
        limit = self.options.total_timeout
        try:
            async with Deadline(limit):
                await work
        except TimeoutError as exc:
            raise FetchError(
                f"Download did not finish within {limit:g} s (partial file kept for a resume)",
                url=url,
            ) from exc

    async def _run(self, job: _Job) -> None:
        while True:
            before = job.part.done()
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
                if not exc.retryable or job.part.done() <= before:
                    raise
        await self._verify_and_commit(job.part, job.url)

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
        if is_local_url(job.url):
            await self._attempt_on_slot(job)  # a file, not a host: no connection to count
            return
        limit = self._host_limit(job.url)
        async with first_connection(slots_for(job.url), limit):
            await self._attempt_on_slot(job)

    def _host_limit(self, url: str) -> int:
        return host_limit(url, self.options.host_connections, self.options.archive_hosts)

    async def _attempt_on_slot(self, job: _Job) -> None:
        part = job.part
        try:
            if part.state.pieces is not None and part.state.validator is None:
                raise RestartNeeded("Pieces saved without a validator cannot be trusted")
            if part.state.pieces is not None:
                await self._run_pieces(job, None)
            else:
                await self._attempt_sequential(job)
        except RangeNotSatisfiable as exc:
            if exc.total is not None and exc.total == part.size():
                part.state.total = exc.total  # the .part already holds everything
                return
            part.reset()
            raise RestartNeeded("The server refused to resume; starting over") from exc
        except RestartNeeded:
            part.reset()
            raise

    async def _attempt_sequential(self, job: _Job) -> None:
        part = job.part
        offset = part.size()
        if offset and offset == part.state.total:
            return  # complete already (a run that stopped before renaming)
        validator = part.state.validator if offset else None
        # Without a validator a resume must prove the server still serves these bytes.
        overlap = min(offset, OVERLAP_BYTES) if offset and validator is None else 0
        end = None if offset else probe_end(job.wanted)
        at = offset - overlap
        async with open_range(job.request, job.url, at, end, validator) as answer:
            if overlap:
                answer = await check_overlap(answer, part.read(at, overlap), part.state.total)
            await self._consume(job, answer, offset, bounded=end is not None)

    async def _consume(self, job: _Job, answer: RangeAnswer, offset: int, *, bounded: bool) -> None:
        part = job.part
        if answer.partial and answer.start != offset:
            raise RestartNeeded(f"Asked for bytes from {offset}, got from {answer.start}")
        state = part.state
        if answer.partial and offset and answer.contradicts(state.etag, state.last_modified):
            raise RestartNeeded("The file changed on the server; starting over")
        if not answer.partial and offset:
            part.reset()  # a 200 is the whole file: If-Range failed or no ranges
            offset = 0
        job.content_type = answer.content_type
        part.state = PartState(
            etag=answer.etag, last_modified=answer.last_modified, total=answer.total
        )
        pieces = None if offset else layout(job.wanted, answer)
        if pieces is not None and answer.total:
            part.state.pieces = pieces
            part.preallocate(answer.total)
            part.save_state()
            await self._run_pieces(job, answer)
            return
        part.save_state()
        # One connection, more if the link wants them, once the disk holds the whole file.
        if job.wanted == 0 and can_grow(answer, offset) and part.reserve(answer.total or 0):
            await self._run_pieces(job, answer)
            return
        await self._stream(job, answer, offset, bounded=bounded and answer.partial)

    async def _stream(self, job: _Job, answer: RangeAnswer, offset: int, *, bounded: bool) -> None:
        part = job.part
        await part.hash_to(offset)

        def written(end: int) -> None:
            if job.progress is not None:
                job.progress(end, answer.total)

        writer = Writer(part.fd, part.hasher, written, batch_size=self._batch_size(job))
        try:
            end = await pump(
                answer, writer, offset=offset, limiter=job.limiter, limit=self.options.max_filesize
            )
        finally:
            part.hashed = offset if writer.hashed_to is None else writer.hashed_to
        if answer.total is not None and end < answer.total:
            raise IncompleteDownload(f"Got {end} of {answer.total} bytes", url=job.url)
        if part.state.total is None:
            if bounded:  # ``bytes 0-N/*``: the size is unknown, so more may follow the range
                raise IncompleteDownload("Size unknown after the first range; continuing")
            part.state.total = end  # no length announced: the end of the body is the end
            part.save_state()

    async def _run_pieces(self, job: _Job, first: RangeAnswer | None) -> None:
        total = job.part.state.total

        def progress(done: int) -> None:
            if job.progress is not None:
                job.progress(done, total)

        limit = self._host_limit(job.url)
        run = PieceRun(
            req=job.request,
            url=job.url,
            part=job.part,
            retrying=self._retrying,
            batch_size=self._batch_size(job),
            limiter=job.limiter,
            on_progress=progress,
            connections=job.wanted or limit,
            slots=slots_for(job.url),
            limit=limit,
            adaptive=job.wanted == 0,
        )
        try:
            await run.run(first)
        finally:
            job.attempts += run.attempts
            job.connections = max(job.connections, run.peak)

    def _batch_size(self, job: _Job) -> int:
        size = self.options.chunk_size
        return job.limiter.read_size(size) if job.limiter else size

    async def _verify_and_commit(self, part: PartFile, url: str) -> None:
        """The last steps of every download: whole, a video, hashed, then in place."""
        if not part.complete():
            raise IncompleteDownload(f"Got {part.size()} of {part.state.total} bytes", url=url)
        if self.options.verify_video:
            part.check_ftyp(url)
        await part.hash_to(part.size())
        part.commit()
