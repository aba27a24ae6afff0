"""Ranking: which of the candidates a page gave is the video to download.

Duplicates (one URL found by several strategies) are merged, keeping the richest metadata;
images (thumbnails, gifs, spritesheets, posters) are dropped, even when only one strategy
called the URL an image; the rest are ordered: video-looking URLs first, then Sora's quality
order (``VARIANT_RANK``), then width, then strategy order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from .candidates import IMAGE_VARIANTS, NOT_VIDEO_EXT, VARIANT_RANK, Candidate, looks_like_video
from .strategies import STRATEGIES, STRATEGY_RANK

__all__ = ["rank_candidates"]


def rank_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """Usable candidates, best first; thumbnails, gifs, spritesheets, posters dropped."""
    merged = _dedupe(candidates)
    usable = [c for c in merged if _is_usable(c)]
    order = {id(c): index for index, c in enumerate(merged)}
    return sorted(usable, key=lambda c: (*_rank_key(c), order[id(c)]))


def _is_usable(candidate: Candidate) -> bool:
    if candidate.variant in IMAGE_VARIANTS:
        return False
    try:
        path = urlsplit(candidate.url).path
    except ValueError:  # a network URL no parser made: still never a crash
        return False
    return not NOT_VIDEO_EXT.search(path)


def _rank_key(candidate: Candidate) -> tuple[int, int, int, int]:
    return (
        0 if looks_like_video(candidate.url) else 1,
        VARIANT_RANK.get(candidate.variant, VARIANT_RANK[None]),
        -(candidate.width or 0),
        STRATEGY_RANK.get(candidate.strategy, len(STRATEGIES)),
    )


def _dedupe(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per URL, carrying the richest metadata any strategy found for it."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.url, []).append(candidate)
    return [_merge(group) for group in groups.values()]


def _merge(group: list[Candidate]) -> Candidate:
    def richness(c: Candidate) -> tuple[int, int]:
        known = sum(v is not None for v in (c.variant, c.width, c.height, c.title))
        return (-known, STRATEGY_RANK.get(c.strategy, len(STRATEGIES)))

    best = min(group, key=richness)
    # An image anywhere taints the URL: the same path under "thumbnail" is never the video.
    tainted = next((c.variant for c in group if c.variant in IMAGE_VARIANTS), None)
    return replace(
        best,
        variant=tainted or best.variant or _first(c.variant for c in group),
        width=best.width or _first(c.width for c in group),
        height=best.height or _first(c.height for c in group),
        title=best.title or _first(c.title for c in group),
    )


def _first(values: Iterator[Any]) -> Any:
    return next((v for v in values if v is not None), None)
