"""Joining a video that an archive holds only in pieces: several ``206`` captures, each
holding one range of the file, fetched once each and written at their offsets.

1. ``spans.cover`` picks few pieces that together hold the whole file;
2. each piece owns the bytes no earlier piece in the plan holds, and writes them into the
   usual ``.part`` (so an interrupted assembly resumes: the state file records how far each
   piece got, under a fingerprint of the plan); the bytes it shares with earlier pieces are
   hashed as they stream by, never stored;
3. once every piece is in, each shared region is hashed again from the file (what the earlier
   piece wrote) and compared with what the later piece carried. Two captures that disagree
   cannot both be the file: the newer one is left out, the choice is reported, and the plan
   is made again from what remains; if the rest no longer covers the file, the run ends
   saying which bytes are missing (``ArchivedInPieces``, exit 3);
4. the usual checks follow: the ``ftyp`` box, the sha256 of the whole file, the atomic rename.

Pieces come in parallel, as many at a time as the archive host's slots allow (``hostslots``:
the same cap as every other download from that host in the process). Memory stays flat: bodies
stream through one read buffer at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tenacity import AsyncRetrying

from ..errors import ArchivedInPieces, FetchError, IncompleteDownload
from ..models import MediaPiece, ProgressCallback
from ..options import ARCHIVE_HOST_CONNECTIONS
from ..spans import cover, describe, inclusive, merged, missing
from .hostslots import first_connection, slots_for
from .partfile import PartFile, PartState, Piece
from .ranges import RangeAnswer, RangeRequest, open_range
from .tasks import all_or_none
from .writer import Writer, hash_file

SAVE_EVERY = 0.5


@dataclass
class Assembly:
    """One output file joined from ``candidates`` (pieces of one file, one total size)."""

    request: RangeRequest
    part: PartFile
    candidates: list[MediaPiece]
    retrying: Callable[[], AsyncRetrying]
    read_size: int
    progress: ProgressCallback | None = None
    connections: int = ARCHIVE_HOST_CONNECTIONS
    """The archive host's cap (``hostslots.host_limit``)."""
    dropped: list[str] = field(default_factory=list)
    """What was left out and why, in words, for the final message."""
    attempts: int = 0
    resumed_from: int | None = None
    """Bytes the ``.part`` already held for this plan when the run started."""
    used: int = 0
    """Pieces fetched by the last plan."""
    _saved_at: float = 0.0

    @property
    def total(self) -> int:
        return self.candidates[0].total

    async def run(self) -> None:
        """Join the pieces into the ``.part``; it then holds the whole file, checked."""
        while True:
            plan = cover(self.candidates, self.total)
            if plan is None:
                raise self._gaps()
            owned = self._prepare(plan)
            if self.resumed_from is None:
                self.resumed_from = self.part.done()
            self.used = sum(1 for own in owned if own.remaining)
            await self._fetch_all(plan, owned)
            conflict = await self._conflict(plan, owned)
            if conflict is None:
                return
            self._leave_out(*conflict)

    # -- the plan and its state ------------------------------------------------------------

    def _prepare(self, plan: list[MediaPiece]) -> list[Piece]:
        """What each planned piece writes; a ``.part`` from another plan starts over."""
        fingerprint = _fingerprint(plan)
        state = self.part.state
        if state.etag != fingerprint or state.pieces is None or len(state.pieces) != len(plan):
            self.part.reset()
            owned, covered = [], 0
            for piece in plan:
                owned.append(Piece(covered, piece.end, covered))
                covered = piece.end
            self.part.state = PartState(etag=fingerprint, total=self.total, pieces=owned)
            self.part.preallocate(self.total)
            self.part.save_state()
        assert self.part.state.pieces is not None
        return self.part.state.pieces

    async def _fetch_all(self, plan: list[MediaPiece], owned: list[Piece]) -> None:
        slots = slots_for(plan[0].url)

        async def one(piece: MediaPiece, own: Piece) -> None:
            # Each piece waits in line as a download's first connection would: with the
            # pieces of other videos and whole files from the same archive, in turn.
            async with first_connection(slots, self.connections):
                await self._fetch(piece, own)

        try:
            await all_or_none(one(p, o) for p, o in zip(plan, owned, strict=True) if o.remaining)
        finally:
            self.part.save_state()  # a later run resumes each piece from where it stopped

    # -- one piece -------------------------------------------------------------------------

    async def _fetch(self, piece: MediaPiece, own: Piece) -> None:
        async for attempt in self.retrying():
            with attempt:
                self.attempts += 1
                async with open_range(self.request, piece.url, piece.start, piece.end, None) as got:
                    if got.start != piece.start or got.total not in (None, piece.total):
                        raise FetchError(
                            f"The archive replayed other bytes than it recorded for {piece.url}",
                            url=piece.url,
                        )
                    digest = await self._pump(got, piece, own)
        if own.start > piece.start:
            self.part.state.checks.append([piece.start, own.start, digest])

    async def _pump(self, answer: RangeAnswer, piece: MediaPiece, own: Piece) -> str:
        """Stream the body: the shared head into a hash, the owned rest into the file."""
        shared = hashlib.sha256()

        def written(end: int) -> None:
            own.pos = end
            self._moved()

        writer = Writer(self.part.fd, None, written)
        at = piece.start
        try:
            while at < piece.end:
                data = await answer.read(min(self.read_size, piece.end - at))
                if not data:
                    break
                head = min(len(data), max(0, own.start - at))
                shared.update(data[:head])
                skip = max(head, min(len(data), own.pos - at))  # on disk from an earlier run
                if skip < len(data):
                    await writer.write(at + skip, data[skip:])
                at += len(data)
        finally:
            await writer.flush()
        if at < piece.end:
            raise IncompleteDownload(
                f"Piece {piece.start}-{piece.end} ended at {at}", url=piece.url
            )
        return shared.hexdigest()

    def _moved(self) -> None:
        done = self.part.done()
        if self.progress is not None:
            self.progress(done, self.total)
        now = time.monotonic()
        if now - self._saved_at >= SAVE_EVERY:
            self.part.save_state()
            self._saved_at = now

    # -- checking the shared bytes ---------------------------------------------------------

    async def _conflict(
        self, plan: list[MediaPiece], owned: list[Piece]
    ) -> tuple[MediaPiece, MediaPiece, int, int] | None:
        """The first shared region whose two captures disagree, as (later piece, owner, a, b)."""
        for start, end, digest in self.part.state.checks:
            again = hashlib.sha256()
            await asyncio.to_thread(hash_file, self.part.fd, again, start, end)
            if again.hexdigest() != digest:
                later = next(p for p in plan if p.start == start)
                owner = next(
                    p for p, o in zip(plan, owned, strict=True) if o.start <= start < o.end
                )
                return later, owner, start, end
        return None

    def _leave_out(self, one: MediaPiece, other: MediaPiece, start: int, end: int) -> None:
        newer = max((one, other), key=_when)
        self.candidates = [p for p in self.candidates if p is not newer]
        self.dropped.append(
            f"captures of {_day(one)} and {_day(other)} disagree on bytes {start}-{end - 1}"
            f" (the {_day(newer)} capture was left out)"
        )
        self.part.reset()

    def _gaps(self) -> ArchivedInPieces:
        held = merged((p.start, p.end) for p in self.candidates)
        gaps = missing(held, self.total)
        why = f"; {'; '.join(self.dropped)}" if self.dropped else ""
        url = self.candidates[0].url if self.candidates else ""
        return ArchivedInPieces(
            f"Archived in pieces{why}; bytes {describe(gaps)} of {self.total} were never archived",
            url=url,
            archive=urlsplit(url).netloc,
            ranges_held=inclusive(held),
            total=self.total,
        )


def _fingerprint(plan: Sequence[MediaPiece]) -> str:
    text = "\n".join(f"{p.url} {p.start} {p.end} {p.total}" for p in plan)
    return "pieces:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _when(piece: MediaPiece) -> float:
    return piece.captured_at.timestamp() if piece.captured_at is not None else 0.0


def _day(piece: MediaPiece) -> str:
    return piece.captured_at.strftime("%Y-%m-%d %H:%M") if piece.captured_at else "unknown date"
