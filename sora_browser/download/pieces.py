"""Several connections on one file: pieces written in place at their offsets.

Two ways to share the file between connections:

- **adaptive** (the default, ``connections=0``): the download starts on one connection, the
  whole file one piece (and the ``.part`` still the plain sequential file it always was). The
  rules in ``growth`` decide, from the rate the link delivers, when to add connections; each
  new one takes the back half of the largest remaining piece (the connection on it stops where
  its piece now ends), and a connection that finishes takes the back half of the largest piece
  left, so all finish at about the same time. Added connections that did not raise the total
  clearly are closed; their pieces go to the others.
- **fixed** (``-N N``): the file is cut up front into pieces several times more numerous than
  connections (``plan``); each connection takes the lowest piece nobody has taken, fetches it
  with a bounded ``Range`` (keep-alive reuses the connection), and takes the next.

Either way pieces finish roughly in file order, which lets the sha256 follow the completed
prefix while the download runs (sha256 cannot be split and joined): the connection on the
piece at the hashed frontier hashes what it writes, and bytes written elsewhere are hashed from
the file once the frontier reaches them. Every connection holds a slot of its host
(``hostslots``): the first one the download's own, extra ones only when free, given back when
another download waits.

The state file records every piece's progress from the first split on (the ``.part`` is then
preallocated), so each piece retries and resumes on its own, and a later run continues where
each one stopped, whatever the split. An answer that is not the exact ``206`` asked for (a
``200``, another start, a new ``ETag``) means the file changed or ranges stopped working: the
whole download starts over (``RestartNeeded``), because mixing two versions would be corruption.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import AsyncRetrying

from ..errors import FetchError, IncompleteDownload, LocalFileError
from . import growth
from .hostslots import HostSlots
from .partfile import PartFile, Piece
from .ranges import RangeAnswer, RangeRequest, RestartNeeded, open_range
from .ratelimit import TokenBucket
from .tasks import Crew
from .writer import WRITEBACK_WINDOW, Hasher, Writer, pump, start_writeback

MiB = 1024 * 1024
PROBE_BYTES = 256 * 1024
MIN_PIECE = 256 * 1024
MAX_PIECE = 32 * MiB
PIECES_PER_CONNECTION = 4
MIN_SPLIT = 512 * 1024
"""Smallest half a piece is split into: below it a new request costs more than it saves."""
SPLIT_ALIGN = 64 * 1024
HASH_STEP = 4 * MiB
SAVE_EVERY_BYTES = 8 * MiB
SAVE_EVERY_SECONDS = 0.1
"""Pieces' progress is saved (and only then reported) this often: a progress bar's pace."""


def plan(total: int, connections: int, *, start: int = 0) -> list[Piece]:
    """Cut ``[start, total)`` into pieces, about ``PIECES_PER_CONNECTION`` per connection."""
    wanted = -(-(total - start) // (connections * PIECES_PER_CONNECTION))
    size = min(MAX_PIECE, max(MIN_PIECE, wanted))
    return [Piece(at, min(at + size, total), at) for at in range(start, total, size)]


def probe_end(requested: int) -> int | None:
    """Where the first request's range should stop, or None for open-ended.

    With connections asked for explicitly the first request is bounded, so no connection keeps
    streaming past its piece (filling socket buffers with bytes another connection fetches
    again). Otherwise one open-ended request: most files stay on one connection and should cost
    one round trip; a split ends that request early instead.
    """
    return PROBE_BYTES if requested > 1 else None


def layout(requested: int, answer: RangeAnswer) -> list[Piece] | None:
    """The fixed pieces for this first answer (``-N N``), or None."""
    total = answer.total
    if not answer.partial or answer.start != 0 or not total or requested <= 1:
        return None
    if not answer.has_validator:
        return None  # pieces resume on their own, which needs a validator to check them
    first_end = answer.length if answer.length is not None else total
    return [Piece(0, first_end, 0), *plan(total, requested, start=first_end)]


def can_grow(answer: RangeAnswer, offset: int) -> bool:
    """Whether this answer lets more connections join: a ``206`` for the rest of a file of
    known size, with a validator (pieces resume on their own only if it can be checked)."""
    return bool(answer.partial and answer.total and answer.has_validator) and (
        answer.start == offset
    )


@dataclass(eq=False)
class Connection:
    """One connection of a run: the piece it works on and how far its reads got."""

    anchor: bool
    """Runs on the download's own slot: never yields it, never stops early."""
    piece: Piece | None = None
    at: int = 0
    """Offset its reads reached (ahead of ``piece.pos`` by what is still in the threads)."""
    flowing: bool = False
    """Has delivered body bytes (the grower measures only once every connection does)."""
    stopping: bool = False
    yielded: bool = False

    def ahead(self) -> int:
        """Where the unread rest of its piece starts."""
        assert self.piece is not None
        return max(self.at, self.piece.pos)

    def left(self) -> int:
        """Bytes of its piece it has not read yet."""
        return 0 if self.piece is None else self.piece.end - self.ahead()


@dataclass
class PieceRun:
    """The pieces of one download and the connections working through them."""

    req: RangeRequest
    url: str
    part: PartFile
    """Its hash follows the completed prefix of the file while the pieces arrive."""
    retrying: Callable[[], AsyncRetrying]
    batch_size: int
    limiter: TokenBucket | None
    on_progress: Callable[[int], None]
    """Called with the bytes done over all pieces."""
    connections: int
    """The most connections at once: exactly this many (fixed), or the cap (adaptive)."""
    slots: HostSlots
    limit: int
    """The host's cap, as this download's options read it."""
    adaptive: bool = False
    attempts: int = 0
    peak: int = 1
    """The most connections kept at once (a rejected trial does not count)."""
    pieces: list[Piece] = field(default_factory=list)
    _running: list[Connection] = field(default_factory=list)
    _inline: Connection | None = None
    """The connection hashing as it writes (its piece starts at the hashed frontier)."""
    _hashing: asyncio.Task[None] | None = None
    _saved_at: tuple[int, float] = (0, 0.0)
    _meter: growth.Meter = field(default_factory=growth.Meter)
    _received: int = 0
    """Body bytes received over all connections (the link's side of the rate)."""
    _written_back: int = 0
    _writing_back: asyncio.Future[None] | None = None
    _trial_peak: int = 0
    _unsplittable: bool = False
    _flowing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a connection starts delivering, or ends."""

    def __post_init__(self) -> None:
        state = self.part.state
        assert state.total is not None
        # Sequential until the first split: one piece, and the .part's length is its progress.
        sequential = [Piece(0, state.total, self.part.size())]
        self.pieces = state.pieces if state.pieces is not None else sequential

    @property
    def sequential(self) -> bool:
        return self.part.state.pieces is None

    async def run(self, first: RangeAnswer | None = None) -> None:
        """Fetch every unfinished piece; ``first`` already answers the first one."""
        try:
            await self.part.hash_to(self._frontier())
            while any(p.remaining for p in self.pieces):
                await self._round(first)
                first = None
            if not self.sequential:
                self.part.save_state()
                self.on_progress(sum(p.pos - p.start for p in self.pieces))
        finally:
            if not self.sequential:
                self.part.save_state()
            if self._writing_back is not None:
                await asyncio.gather(self._writing_back, return_exceptions=True)
            await self._settle_hashing()

    async def _round(self, first: RangeAnswer | None) -> None:
        # A round ends when its connections have nothing left to take; a piece a stopped
        # connection left behind at that moment is fetched by the next round.
        crew = Crew()
        self._start(crew, Connection(anchor=True), first)
        crew.help(self._grow(crew) if self.adaptive else self._fill(crew))
        await crew.wait()
        self.peak = max(self.peak, self._trial_peak)  # a trial the end cut short counts
        self._trial_peak = 0

    # -- connections -----------------------------------------------------------------------

    def _start(self, crew: Crew, conn: Connection, first: RangeAnswer | None = None) -> None:
        self._running.append(conn)
        crew.start(self._work(conn, first))

    async def _work(self, conn: Connection, first: RangeAnswer | None) -> None:
        try:
            if first is not None:
                await self._continue_first(conn, first)
            # A connection the grower or the filler started comes with its piece claimed.
            while not conn.stopping and (piece := conn.piece or self._claim(conn)) is not None:
                async for attempt in self.retrying():
                    with attempt:
                        self.attempts += 1
                        await self._fetch(conn, piece)
                conn.piece = None
        finally:
            conn.piece = None
            self._running.remove(conn)
            self._flowing.set()
            if not conn.anchor:
                self.slots.release(yielded=conn.yielded)

    async def _continue_first(self, conn: Connection, first: RangeAnswer) -> None:
        conn.piece = self.pieces[0]
        try:
            await self._pump(conn, conn.piece, first)
        except FetchError as exc:
            if not exc.retryable or isinstance(exc, RestartNeeded):
                raise
        finally:
            first.close()  # cut short by a split: the rest of this body is someone else's
        conn.piece = None  # unfinished: any connection may take it up again

    def _claim(self, conn: Connection) -> Piece | None:
        """The lowest piece nobody works on, else (adaptive) the back half of the largest."""
        conn.piece = self._untaken()
        if conn.piece is None and self.adaptive:
            conn.piece = self._split()
        if conn.piece is not None:
            conn.at = conn.piece.pos
        return conn.piece

    def _split(self) -> Piece | None:
        """Cut the largest remaining piece in two; the new back half is returned, untaken."""
        busy = [c for c in self._running if c.piece is not None and c.piece.remaining]
        if not busy or self._unsplittable:
            return None
        owner = max(busy, key=Connection.left)
        piece = owner.piece
        assert piece is not None
        left = owner.left()
        if left < 2 * MIN_SPLIT:
            return None
        mid = -(-(owner.ahead() + left // 2) // SPLIT_ALIGN) * SPLIT_ALIGN
        back = Piece(mid, piece.end, mid)
        if not self._record_split(piece, back):
            return None
        return back

    def _record_split(self, piece: Piece, back: Piece) -> bool:
        """Save the split before anyone writes the back half; the first split turns the
        sequential ``.part`` into pieces (preallocated, so a full disk shows now)."""
        if self.sequential:
            assert self.part.state.total is not None
            try:
                self.part.preallocate(self.part.state.total)
            except LocalFileError:
                self._unsplittable = True  # no room to spread out: stay on one connection
                return False
            self.part.state.pieces = self.pieces
        piece.end = back.start
        self.pieces.insert(self.pieces.index(piece) + 1, back)
        self.part.save_state()
        return True

    async def _fetch(self, conn: Connection, piece: Piece) -> None:
        if conn.stopping:
            return  # a retry after the connection was told to stop
        async with open_range(
            self.req, self.url, piece.pos, piece.end, self.part.state.validator
        ) as answer:
            if not answer.partial or answer.start != piece.pos or self._contradicted(answer):
                raise RestartNeeded("The server no longer serves the same file; starting over")
            await self._pump(conn, piece, answer)
        if piece.remaining and not conn.stopping:
            raise IncompleteDownload(
                f"Range {piece.start}-{piece.end} ended at {piece.pos}", url=self.url
            )

    def _contradicted(self, answer: RangeAnswer) -> bool:
        state = self.part.state
        return answer.contradicts(state.etag, state.last_modified)

    async def _pump(self, conn: Connection, piece: Piece, answer: RangeAnswer) -> None:
        def written(end: int) -> None:
            piece.pos = max(piece.pos, min(end, piece.end))  # a split may have moved the end
            self._after_write()

        def until(offset: int) -> int:
            if offset > conn.at:
                self._received += offset - conn.at
                self._meter.add(time.monotonic(), self._received)
                conn.at = offset
                if not conn.flowing:
                    conn.flowing = True
                    self._flowing.set()
            return 0 if self._must_stop(conn) else piece.end  # 0: stop right here

        conn.at = piece.pos
        inline = self._take_hasher(conn, piece)
        writer = Writer(
            self.part.fd, inline, written, batch_size=self.batch_size, on_batch=self._meter.batch
        )
        try:
            await pump(answer, writer, offset=piece.pos, until=until, limiter=self.limiter)
        finally:
            if inline is not None:
                self.part.hashed = writer.hashed_to or self.part.hashed
                self._inline = None
                self._maybe_hash()

    def _must_stop(self, conn: Connection) -> bool:
        """A rejected trial stops; an extra connection gives its slot to a waiting download."""
        if not conn.stopping and not conn.anchor and self.slots.should_yield():
            conn.stopping = conn.yielded = True
        return conn.stopping

    # -- growing ---------------------------------------------------------------------------

    async def _grow(self, crew: Crew) -> None:
        """Add connections while they pay (``growth``); stop for good at the first that did not."""
        rate = await self._measure()
        while (wanted := growth.step(len(self._running), self.connections)) > 0:
            limit_rate = self.limiter.rate if self.limiter is not None else None
            if not growth.worth_more(rate, self._remaining(), self._meter.stalled(), limit_rate):
                return
            had = len(self._running)
            added = self._add(crew, wanted)
            if added is None:
                return  # no piece left worth splitting
            if not added:
                await asyncio.sleep(growth.WINDOW)  # slots all taken: look again later
                rate = await self._measure()
                continue
            self._trial_peak = len(self._running)
            after = await self._measure()
            self._trial_peak = 0
            if not growth.kept(rate, after, had, len(added)):
                for conn in added:
                    conn.stopping = True
                return
            self.peak = max(self.peak, len(self._running))
            rate = after

    def _add(self, crew: Crew, count: int) -> list[Connection] | None:
        """Start up to ``count`` connections, each on a piece of its own: those started, or
        None when no piece was left for even one."""
        added: list[Connection] = []
        for _ in range(count):
            if not self.slots.extra(self.limit):
                break
            conn = Connection(anchor=False)
            if self._claim(conn) is None:
                self.slots.release()
                return added or None
            added.append(conn)
            self._start(crew, conn)
        return added

    async def _measure(self) -> float:
        """The total rate over ``growth.WINDOW`` (and enough arrivals) once every connection
        delivers."""
        while not all(c.flowing for c in self._running):
            self._flowing.clear()
            await self._flowing.wait()
        self._meter.start(len(self._running))
        try:
            await asyncio.sleep(growth.WINDOW)
            while (rate := self._meter.rate()) is None:
                await self._meter.wait_more()
            return rate
        finally:
            self._meter.stop()

    async def _fill(self, crew: Crew) -> None:
        """Fixed mode: start the asked-for connections as the host's slots allow."""
        while len(self._running) < self.connections and self._untaken() is not None:
            await self.slots.later(self.limit)
            conn = Connection(anchor=False)
            if self._claim(conn) is None:
                self.slots.release()
                return
            self._start(crew, conn)
            self.peak = max(self.peak, len(self._running))

    def _untaken(self) -> Piece | None:
        taken = {id(c.piece) for c in self._running}
        return next((p for p in self.pieces if p.remaining and id(p) not in taken), None)

    def _remaining(self) -> int:
        return sum(p.remaining for p in self.pieces)

    # -- progress, state, hash -------------------------------------------------------------

    def _after_write(self) -> None:
        done, now = sum(p.pos - p.start for p in self.pieces), time.monotonic()
        if self.sequential:
            self.on_progress(done)  # the .part's length is its progress
        elif (
            done - self._saved_at[0] >= SAVE_EVERY_BYTES
            or now - self._saved_at[1] >= SAVE_EVERY_SECONDS
        ):
            # Progress is told once saved: a resume never keeps less than was reported.
            self.part.save_state()
            self._saved_at = (done, now)
            self.on_progress(done)
        self._maybe_hash()
        self._maybe_write_back(done)

    def _maybe_write_back(self, done: int) -> None:
        """Every ``WRITEBACK_WINDOW`` over all pieces, ask the kernel to start writing the file
        to disk (each connection's writer does so for its own stretch, but with a few MiB per
        piece none fills a window, and the final fsync would find the whole file dirty)."""
        if self.sequential or done - self._written_back < WRITEBACK_WINDOW:
            return
        if self._writing_back is None or self._writing_back.done():
            self._written_back = done
            loop = asyncio.get_running_loop()
            self._writing_back = loop.run_in_executor(None, start_writeback, self.part.fd, 0, 0)

    def _frontier(self) -> int:
        """End of the completed prefix of the file."""
        for piece in self.pieces:
            if piece.remaining:
                return piece.pos
        return self.pieces[-1].end

    def _take_hasher(self, conn: Connection, piece: Piece) -> Hasher | None:
        """The hasher, if this connection writes on from exactly where it stands."""
        if self._inline is None and self._hashing is None and piece.pos == self.part.hashed:
            self._inline = conn
            return self.part.hasher
        return None

    def _maybe_hash(self) -> None:
        if self._inline is not None or self._hashing is not None:
            return
        frontier = self._frontier()
        if frontier - self.part.hashed >= HASH_STEP:
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
