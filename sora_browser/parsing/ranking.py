"""Ranking: which of the candidates a page gave is the video to download.

Duplicates (one URL found by several strategies) are merged, keeping the richest metadata;
images (thumbnails, gifs, spritesheets, posters) are dropped, even when only one strategy
called the URL an image; the rest are ordered: video-looking URLs first, then Sora's quality
order (``VARIANT_RANK``), then width, then strategy order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .candidates import (
    FULL_SIZE_VARIANTS,
    IMAGE_VARIANTS,
    NOT_VIDEO_EXT,
    VARIANT_RANK,
    Candidate,
    looks_like_video,
)
from .strategies import STRATEGIES, STRATEGY_RANK

__all__ = ["QUALITIES", "prefer", "rank_candidates"]


def rank_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """Usable candidates, best first; thumbnails, gifs, spritesheets, posters dropped.

    Among files of one quality a clean one goes before a watermarked one."""
    merged = _with_watermarks(_dedupe(candidates), candidates)
    usable = [c for c in merged if _is_usable(c)]
    order = {id(c): index for index, c in enumerate(merged)}
    return sorted(usable, key=lambda c: (*_rank_key(c), order[id(c)]))


QUALITIES = ("best", "source", "md", "ld")
_DRVS = re.compile(r"/drvs/([a-z_]+)/")


def prefer(
    ranked: list[Candidate], quality: str = "best", *, clean: bool = False
) -> list[Candidate]:
    """``ranked`` narrowed to what the user asked: a quality (``source`` means the full-size
    file, clean before watermarked; ``md``, ``ld`` exactly), and only clean files with
    ``clean``. ``NoVideoFound`` saying what the page has when nothing is left."""
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, not {quality!r}")
    pool = [c for c in ranked if _is_quality(c, quality)]
    if clean:
        pool = [c for c in pool if c.watermarked is not True]
    if pool or not ranked:
        return pool
    raise _unavailable(ranked, quality, clean)


def _is_quality(candidate: Candidate, quality: str) -> bool:
    if quality == "best":
        return True
    if quality == "source":
        return candidate.variant in FULL_SIZE_VARIANTS
    return candidate.variant == quality


def _unavailable(ranked: list[Candidate], quality: str, clean: bool) -> Exception:
    from ..errors import NoVideoFound

    has = ", ".join(dict.fromkeys(_describe(c) for c in ranked))
    if clean and any(_is_quality(c, quality) for c in ranked):
        return NoVideoFound(f"Only a watermarked file exists here (the page has {has})")
    return NoVideoFound(f"No {quality} rendition here: the page has {has}")


def _describe(candidate: Candidate) -> str:
    name = candidate.variant or "an unnamed video"
    return f"{name} (watermarked)" if candidate.watermarked else name


def _is_usable(candidate: Candidate) -> bool:
    if candidate.variant in IMAGE_VARIANTS:
        return False
    try:
        path = urlsplit(candidate.url).path
    except ValueError:  # a network URL no parser made: still never a crash
        return False
    return not NOT_VIDEO_EXT.search(path)


def _rank_key(candidate: Candidate) -> tuple[int, int, int, int, int]:
    return (
        0 if looks_like_video(candidate.url) else 1,
        VARIANT_RANK.get(candidate.variant, VARIANT_RANK[None]),
        {False: 0, None: 1, True: 2}[candidate.watermarked],
        -(candidate.width or 0),
        STRATEGY_RANK.get(candidate.strategy, len(STRATEGIES)),
    )


def _with_watermarks(merged: list[Candidate], found: list[Candidate]) -> list[Candidate]:
    """Each file marked watermarked or clean, as far as the page tells.

    Logged-out and browser sessions list the same ``_wm`` file as ``source`` and
    ``source_wm``; an app session listed a clean ``source`` beside a distinct ``source_wm``
    (docs/ARCHITECTURE.md, "Facts the code relies on")."""
    marked = {c.url for c in found if c.variant == "source_wm" or _wm_path(c.url)}
    distinct_wm = any(c.variant == "source_wm" for c in found)
    result = [replace(c, watermarked=_watermarked(c, marked, distinct_wm)) for c in merged]
    full_size = [c for c in result if c.variant in FULL_SIZE_VARIANTS and _is_usable(c)]
    if full_size and all(c.watermarked for c in full_size):
        # The session saw the video only watermarked: its smaller renditions are made from
        # that same file, so a --no-watermark run must not settle for one of them.
        result = [replace(c, watermarked=True) if c.watermarked is None else c for c in result]
    return result


def _watermarked(candidate: Candidate, marked: set[str], distinct_wm: bool) -> bool | None:
    if candidate.url in marked:
        return True
    if candidate.variant == "source" and distinct_wm:
        return False
    return None


def _wm_path(url: str) -> bool:
    return "_wm/" in unquote(urlsplit(url).path)


def _dedupe(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per file, carrying the richest metadata any strategy found for it."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(_file_of(candidate.url), []).append(candidate)
    return [_merge(group) for group in groups.values()]


def _file_of(url: str) -> str:
    """What names the file: a signed URL's signature only grants access to its path (a page
    may sign the same file twice, as og:video and in its post JSON), so it is dropped."""
    parts = urlsplit(url)
    if "sig" not in parse_qs(parts.query):
        return url
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _merge(group: list[Candidate]) -> Candidate:
    def richness(c: Candidate) -> tuple[int, int]:
        known = sum(v is not None for v in (c.variant, c.width, c.height, c.title))
        return (-known, STRATEGY_RANK.get(c.strategy, len(STRATEGIES)))

    best = min(group, key=richness)
    # An image anywhere taints the URL: the same path under "thumbnail" is never the video.
    tainted = next((c.variant for c in group if c.variant in IMAGE_VARIANTS), None)
    return replace(
        best,
        variant=tainted
        or _drvs_variant(best.url)
        or best.variant
        or _first(c.variant for c in group),
        width=best.width or _first(c.width for c in group),
        height=best.height or _first(c.height for c in group),
        title=best.title or _first(c.title for c in group),
    )


def _drvs_variant(url: str) -> str | None:
    """What a derived rendition's path says it is (``.../drvs/md/raw`` is ``md``), whatever
    the page called it: ``og:video`` often names the ``md`` rendition with no word of it."""
    try:
        match = _DRVS.search(unquote(urlsplit(url).path))
    except ValueError:
        return None
    return match[1] if match else None


def _first(values: Iterator[Any]) -> Any:
    return next((v for v in values if v is not None), None)
