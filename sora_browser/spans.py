"""Byte ranges of a file held in pieces: which are covered, which are missing, which pieces
to fetch. Pure functions, shared by the archive resolver (is the file all there?) and the
assembler (which captures to join).

Ranges here are half-open, ``[start, end)``; messages and JSON show them inclusive, as HTTP's
``Content-Range`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .models import MediaPiece

Span = tuple[int, int]


def merged(spans: Iterable[Span]) -> list[Span]:
    """The spans joined where they touch or overlap, in order."""
    joined: list[Span] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def missing(spans: Iterable[Span], total: int) -> list[Span]:
    """The parts of ``[0, total)`` no span covers."""
    gaps: list[Span] = []
    at = 0
    for start, end in merged(spans):
        if start > at:
            gaps.append((at, min(start, total)))
        at = max(at, end)
    if at < total:
        gaps.append((at, total))
    return [g for g in gaps if g[0] < g[1]]


def inclusive(spans: Iterable[Span]) -> tuple[tuple[int, int], ...]:
    """``[start, end)`` spans as ``(first, last)`` byte numbers."""
    return tuple((start, end - 1) for start, end in spans)


def describe(spans: Iterable[Span]) -> str:
    """``bytes 700000-899999`` (or several, comma-separated) for a message."""
    return ", ".join(f"{first}-{last}" for first, last in inclusive(spans))


def cover(pieces: Sequence[MediaPiece], total: int) -> list[MediaPiece] | None:
    """Few pieces that together hold ``[0, total)``, in file order, or None if none can.

    Greedy: from the end of what is covered so far, take the piece that starts inside it and
    reaches furthest (the older capture on a tie, for the same bytes the original page saw).
    """
    chosen: list[MediaPiece] = []
    covered = 0
    while covered < total:
        reaching = [p for p in pieces if p.start <= covered < p.end]
        if not reaching:
            return None
        best = max(reaching, key=lambda p: (p.end, -_when(p)))
        chosen.append(best)
        covered = best.end
    return chosen


def _when(piece: MediaPiece) -> float:
    return piece.captured_at.timestamp() if piece.captured_at is not None else 0.0
