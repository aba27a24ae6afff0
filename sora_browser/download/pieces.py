"""Parallel ranges: one file, N connections, pieces written in place at their offsets.

The file is cut into pieces several times more numerous than connections; each connection takes
the lowest piece nobody has taken, fetches it with a bounded ``Range`` (keep-alive reuses the
connection), and takes the next. Pieces therefore finish roughly in file order, which lets the
sha256 follow the completed prefix while the download runs (sha256 cannot be split and joined),
and a slow connection delays one small piece rather than a quarter of the file.

The ``.part`` is preallocated and the state file records every piece's progress, so each piece
retries and resumes on its own, and a later run continues where each one stopped. An answer that
is not the exact ``206`` asked for (a ``200``, another start, a new ``ETag``) means the file
changed or ranges stopped working: the whole download starts over (``RestartNeeded``), because
mixing two versions would be corruption.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import AsyncRetrying

from ..deadline import not_counted
from ..errors import FetchError, IncompleteDownload
from .hostslots import HostSlots
from .partfile import PartFile, Piece
from .ranges import RangeAnswer, RangeRequest, RestartNeeded, open_range
from .ratelimit import TokenBucket
from .tasks import all_or_none
from .writer import Writer, pump

MiB = 1024 * 1024
PROBE_BYTES = 256 * 1024
MIN_PIECE = 256 * 1024
MAX_PIECE = 32 * MiB
PIECES_PER_CONNECTION = 4
AUTO_THRESHOLD = 64 * MiB
AUTO_CONNECTIONS = 4
HASH_STEP = 4 * MiB
SAVE_EVERY_BYTES = 8 * MiB
SAVE_EVERY_SECONDS = 0.5


def plan(total: int, connections: int, *, start: int = 0) -> list[Piece]:
    """Cut ``[start, total)`` into pieces, about ``PIECES_PER_CONNECTION`` per connection."""
    wanted = -(-(total - start) // (connections * PIECES_PER_CONNECTION))
    size = min(MAX_PIECE, max(MIN_PIECE, wanted))
    return [Piece(at, min(at + size, total), at) for at in range(start, total, size)]


def probe_end(requested: int) -> int | None:
    """Where the first request's range should stop, or None for open-ended.

    With connections asked for explicitly the first request is bounded, so no connection keeps
    streaming past its piece (filling socket buffers with bytes another connection fetches
    again). Auto mode keeps one open-ended request: most files stay on one connection and
    should cost one round trip.
    """
    return PROBE_BYTES if requested > 1 else None


def connections_for(requested: int) -> int:
    return AUTO_CONNECTIONS if requested == 0 else requested


def layout(requested: int, answer: RangeAnswer) -> list[Piece] | None:
    """The pieces for this first answer, or None to stay on one connection."""
    total = answer.total
    if not answer.partial or answer.start != 0 or not total or requested == 1:
        return None
    if not answer.has_validator:
        return None  # pieces resume on their own, which needs a validator to check them
    first_end = answer.length if answer.length is not None else total
    if first_end < total:  # a bounded probe (or a short answer): it is piece 0, cut the rest
        return [Piece(0, first_end, 0), *plan(total, connections_for(requested), start=first_end)]
    if requested == 0 and total >= AUTO_THRESHOLD:
        return plan(total, AUTO_CONNECTIONS)
    return None


@dataclass
class PieceRun:
    """The pieces of one download and the connections working through them."""

    req: RangeRequest
    url: str
    part: PartFile
    """Its hash follows the completed prefix of the file while the pieces arrive."""
    retrying: Callable[[], AsyncRetrying]
    read_size: int
    limiter: TokenBucket | None
    on_progress: Callable[[int], None]
    """Called with the bytes done over all pieces."""
    connections: int
    slots: HostSlots
    """The host's slots: the first connection runs on the download's own, each other one
    takes one behind every download's first connection."""
    limit: int
    """The host's cap, as this download's options read it."""
    attempts: int = 0
    _claimed: set[int] = field(default_factory=set)
    _hashing: asyncio.Task[None] | None = None
    _saved_at: tuple[int, float] = (0, 0.0)

    @property
    def pieces(self) -> list[Piece]:
        assert self.part.state.pieces is not None
        return self.part.state.pieces

    async def run(self, first: RangeAnswer | None = None) -> None:
        """Fetch every unfinished piece; ``first`` already answers piece 0."""
        workers = min(self.connections, sum(1 for p in self.pieces if p.remaining)) or 1
        try:
            extra = (self._extra() for _ in range(workers - 1))
            await all_or_none([self._worker(first), *extra])
        finally:
            self.part.save_state()
            await self._settle_hashing()

    def _claim(self) -> Piece | None:
        for index, piece in enumerate(self.pieces):
            if piece.remaining and index not in self._claimed:
                self._claimed.add(index)
                return piece
        return None

    async def _extra(self) -> None:
        with not_counted():
            await self.slots.later(self.limit)
        try:
            await self._worker(None)
        finally:
            self.slots.release()

    async def _worker(self, first: RangeAnswer | None) -> None:
        if first is not None and self.pieces[0].remaining:
            self._claimed.add(0)
            try:
                await self._pump(self.pieces[0], first)
            except FetchError as exc:
                if not exc.retryable or isinstance(exc, RestartNeeded):
                    raise
            self._claimed.discard(0)  # unfinished: any worker may take it up again
        while (piece := self._claim()) is not None:
            async for attempt in self.retrying():
                with attempt:
                    self.attempts += 1
                    await self._fetch(piece)

    async def _fetch(self, piece: Piece) -> None:
        async with open_range(
            self.req, self.url, piece.pos, piece.end, self.part.state.validator
        ) as answer:
            if not answer.partial or answer.start != piece.pos or self._contradicted(answer):
                raise RestartNeeded("The server no longer serves the same file; starting over")
            await self._pump(piece, answer)
        if piece.remaining:
            raise IncompleteDownload(
                f"Range {piece.start}-{piece.end} ended at {piece.pos}", url=self.url
            )

    def _contradicted(self, answer: RangeAnswer) -> bool:
        state = self.part.state
        return answer.contradicts(state.etag, state.last_modified)

    async def _pump(self, piece: Piece, answer: RangeAnswer) -> None:
        def written(end: int) -> None:
            piece.pos = end
            self._after_write()

        writer = Writer(self.part.fd, None, written, batch_size=self.read_size)
        await pump(
            answer, writer, offset=piece.pos, until=lambda _: piece.end, limiter=self.limiter
        )

    def _after_write(self) -> None:
        done, now = self.part.done(), time.monotonic()
        self.on_progress(done)
        last_done, last_time = self._saved_at
        if done - last_done >= SAVE_EVERY_BYTES or now - last_time >= SAVE_EVERY_SECONDS:
            self.part.save_state()
            self._saved_at = (done, now)
        self._maybe_hash()

    def _frontier(self) -> int:
        """End of the completed prefix of the file."""
        for piece in self.pieces:
            if piece.remaining:
                return piece.pos
        return self.pieces[-1].end

    def _maybe_hash(self) -> None:
        frontier = self._frontier()
        if self._hashing is None and frontier - self.part.hashed >= HASH_STEP:
            self._hashing = asyncio.create_task(self._hash_until(frontier))

    async def _hash_until(self, end: int) -> None:
        await self.part.hash_to(end)
        self._hashing = None
        self._maybe_hash()

    async def _settle_hashing(self) -> None:
        # A thread cannot be cancelled; let the running step finish so the hash is exact.
        while self._hashing is not None:
            task = self._hashing
            await asyncio.gather(task, return_exceptions=True)
            if self._hashing is task:
                self._hashing = None
