"""Parallel range segments: one file, N connections, each writing in place at its offsets.

The ``.part`` is preallocated to the full size and every segment records in the state file how
far it got, so each connection retries and resumes on its own, and a later run picks up every
segment where it stopped. Any answer that is not the exact ``206`` asked for (a ``200``, another
start, a new ``ETag``) means the file changed or the server stopped honouring ranges: then the
whole download starts over (``RestartNeeded``), because mixing two versions would be corruption.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import AsyncRetrying

from ._partfile import PartState, Segment, local_errors
from ._ratelimit import TokenBucket
from ._stream import Answer, Request, RestartNeeded, open_range
from ._writer import Writer, pump
from .errors import FetchError, IncompleteDownload

MiB = 1024 * 1024
MIN_SEGMENT = 256 * 1024
PROBE_BYTES = 256 * 1024
AUTO_THRESHOLD = 64 * MiB
AUTO_CONNECTIONS = 4
SAVE_EVERY_BYTES = 8 * MiB
SAVE_EVERY_SECONDS = 0.5


def plan(total: int, connections: int, *, start: int = 0) -> list[Segment]:
    """Split ``[start, total)`` into ``connections`` near-equal segments."""
    size = -(-(total - start) // connections)
    return [Segment(at, min(at + size, total), at) for at in range(start, total, size)]


def probe_end(requested: int) -> int | None:
    """Where the first request's range should stop, or None for open-ended.

    With connections asked for explicitly the first request is bounded, so a connection that
    would otherwise keep streaming past its share (until it is closed, filling socket buffers
    with bytes another connection fetches again) never exists. Auto mode keeps one open-ended
    request, because most files stay single-connection and should cost one round trip.
    """
    return PROBE_BYTES if requested > 1 else None


def layout(requested: int, answer: Answer) -> list[Segment] | None:
    """The segments for this first answer, or None to stay on one connection."""
    total = answer.total
    if not answer.partial or answer.start != 0 or not total or requested == 1:
        return None
    first_end = answer.length if answer.length is not None else total
    if first_end < total:  # a bounded probe: it is segment 0, the rest is split
        rest = max(1, min(requested, (total - first_end) // MIN_SEGMENT))
        return [Segment(0, first_end, 0), *plan(total, rest, start=first_end)]
    if requested == 0 and total >= AUTO_THRESHOLD:
        return plan(total, AUTO_CONNECTIONS)
    return None


@dataclass
class SegmentRun:
    """What the segment workers share."""

    req: Request
    url: str
    fd: int
    state: PartState
    save_state: Callable[[PartState], None]
    retrying: Callable[[], AsyncRetrying]
    read_size: int
    limiter: TokenBucket | None
    on_progress: Callable[[int], None]
    """Called with the bytes done over all segments."""
    attempts: int = 0
    _saved_at: tuple[int, float] = field(default=(0, 0.0))

    @property
    def segments(self) -> list[Segment]:
        assert self.state.segments is not None
        return self.state.segments

    def done(self) -> int:
        return sum(s.pos - s.start for s in self.segments)

    async def run(self, first: Answer | None = None) -> None:
        """Fetch every unfinished segment concurrently; ``first`` already answers segment 0."""
        work = [s for s in self.segments if s.remaining]
        tasks = [
            asyncio.create_task(self._worker(s, first if s.start == 0 else None)) for s in work
        ]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            self.save_state(self.state)

    async def _worker(self, segment: Segment, first: Answer | None) -> None:
        if first is not None:
            try:
                await self._pump(segment, first)
            except FetchError as exc:
                if not exc.retryable or isinstance(exc, RestartNeeded):
                    raise
        if not segment.remaining:
            return
        async for attempt in self.retrying():
            with attempt:
                self.attempts += 1
                await self._fetch(segment)

    async def _fetch(self, segment: Segment) -> None:
        async with open_range(
            self.req, self.url, segment.pos, segment.end, self.state.validator
        ) as answer:
            if not answer.partial or answer.start != segment.pos or self._changed(answer):
                raise RestartNeeded("The server no longer serves the same file; starting over")
            await self._pump(segment, answer)
        if segment.remaining:
            raise IncompleteDownload(
                f"Segment {segment.start}-{segment.end} ended at {segment.pos}", url=self.url
            )

    def _changed(self, answer: Answer) -> bool:
        return bool(answer.etag and self.state.etag and answer.etag != self.state.etag)

    async def _pump(self, segment: Segment, answer: Answer) -> None:
        def written(end: int) -> None:
            segment.pos = end
            self._maybe_save()

        writer = Writer(self.fd, None, written)
        await pump(
            answer,
            writer,
            offset=segment.pos,
            stop=segment.end,
            read_size=self.read_size,
            limiter=self.limiter,
        )

    def _maybe_save(self) -> None:
        done, now = self.done(), time.monotonic()
        self.on_progress(done)
        last_done, last_time = self._saved_at
        if done - last_done >= SAVE_EVERY_BYTES or now - last_time >= SAVE_EVERY_SECONDS:
            self.save_state(self.state)
            self._saved_at = (done, now)


def preallocate(fd: int, total: int) -> None:
    """Reserve the whole file now, so a full disk fails up front rather than at 97 %."""
    with local_errors("reserve space for the download"):
        try:
            os.posix_fallocate(fd, 0, total)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            os.ftruncate(fd, total)
