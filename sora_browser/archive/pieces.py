"""A video the archive holds in pieces: which pieces belong together, and what they cover.

A player that fetched a video in ranges leaves several ``206`` captures (docs/ARCHITECTURE.md,
"Archives"), perhaps under different signatures and on different visits. Pieces are joined
only when they agree on the file's total size: pieces naming another total are of another
file (or a broken capture) and are left out, and said so, never mixed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..models import MediaPiece
from ..spans import Span, describe, inclusive, merged, missing
from .cdx import CdxRecord


@dataclass(frozen=True, slots=True)
class HeldRange:
    """Bytes ``[start, end)`` of a file of ``total`` bytes, as one media capture holds them."""

    record: CdxRecord
    start: int
    end: int
    total: int | None

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.total is not None and self.end == self.total


@dataclass(frozen=True, slots=True)
class PiecesFound:
    """The pieces of one file (one total size), and what they leave out."""

    total: int
    pieces: tuple[MediaPiece, ...]
    other_totals: dict[int, int]
    """Pieces left out for naming another total: total -> how many."""

    @property
    def held(self) -> list[Span]:
        return merged((p.start, p.end) for p in self.pieces)

    @property
    def missing(self) -> list[Span]:
        return missing(self.held, self.total)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def share_held(self) -> float:
        return round(sum(end - start for start, end in self.held) / self.total, 4)

    @property
    def ranges_held(self) -> tuple[tuple[int, int], ...]:
        return inclusive(self.held)

    def explain(self) -> str:
        """Why these pieces are not the whole file, for a message."""
        text = (
            f"archived in pieces; bytes {describe(self.missing)} of {self.total}"
            " were never archived"
        )
        if self.other_totals:
            others = ", ".join(
                f"{n} claiming {total} bytes" for total, n in self.other_totals.items()
            )
            text += f" (pieces whose total disagrees left out: {others})"
        return text


def pieces_found(
    held: Sequence[HeldRange], url_of: Callable[[HeldRange], str]
) -> PiecesFound | None:
    """The pieces of the file most of ``held`` describes, or None when there are none."""
    sized = [(h, h.total) for h in held if h.total is not None and h.start < h.end <= h.total]
    if not sized:
        return None
    totals = Counter(total for _, total in sized)
    covered = {t: _covered([h for h, total in sized if total == t]) for t in totals}
    chosen = max(totals, key=lambda t: (covered[t], totals[t]))
    pieces = tuple(
        MediaPiece(
            url=url_of(h), start=h.start, end=h.end, total=chosen, captured_at=h.record.captured_at
        )
        for h, total in sized
        if total == chosen
    )
    others = {t: n for t, n in totals.items() if t != chosen}
    return PiecesFound(chosen, pieces, others)


def _covered(held: Sequence[HeldRange]) -> int:
    return sum(end - start for start, end in merged((h.start, h.end) for h in held))
