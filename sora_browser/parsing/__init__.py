"""Pure parsers: page text in, candidate media URLs out. No network, no files.

``find_candidates`` runs every strategy in ``STRATEGIES`` (the one place that says which
strategies exist and in which order) and returns what each found; ``rank_candidates`` drops
images and duplicates and puts the best video first. ``candidates_from_json`` reads JSON bodies
(the post JSON a browser sees on the network). ``classify_page`` tells a real page from a
gone page, a login wall or a Cloudflare challenge.

Inside the package: ``_text`` (Candidate, ranking vocabulary, unescaping; ``%2F`` is never
decoded), ``_json`` (JSON and URLs inside scripts, Sora's ``encodings``), ``_classify`` (page
state and title). This module holds the page split, the strategies and the ranking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ._classify import PageState, classify_page, is_login_url, page_title
from ._json import json_values, scan_text, urls_in_text, walk_json
from ._text import (
    _NOT_VIDEO_EXT,
    IMAGE_VARIANTS,
    VARIANT_RANK,
    Candidate,
    _attrs,
    _int,
    _loads,
    _text,
    absolute_url,
    decode_js_string,
    looks_like_video,
    unescape_html,
    unescape_url,
)

__all__ = [
    "STRATEGIES",
    "Candidate",
    "PageState",
    "candidates_from_json",
    "classify_page",
    "decode_js_string",
    "find_candidates",
    "is_login_url",
    "json_values",
    "looks_like_video",
    "page_title",
    "rank_candidates",
    "scan_text",
    "unescape_html",
    "unescape_url",
    "walk_json",
]


# --- the page, split once ---------------------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<(meta|video|source)\b([^>]*)>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Script:
    attrs: dict[str, str]
    body: str


@dataclass(slots=True)
class _Page:
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    scripts: list[_Script] = field(default_factory=list)


def _split_page(page_html: str) -> _Page:
    text = _COMMENT.sub("", page_html)
    page = _Page()
    for match in _SCRIPT.finditer(text):
        page.scripts.append(_Script(_attrs(match.group(1)), match.group(2)))
    outside = _SCRIPT.sub("", text)
    for match in _TAG.finditer(outside):
        page.tags.append((match.group(1).lower(), _attrs(match.group(2))))
    return page


# --- strategies over tags ---------------------------------------------------------------------

_OG_VIDEO_KEYS = ("og:video:secure_url", "og:video:url", "og:video", "twitter:player:stream")


def _from_meta(page: _Page, base_url: str) -> Iterator[Candidate]:
    meta = {
        (a.get("property") or a.get("name") or "").lower(): a.get("content", "")
        for tag, a in page.tags
        if tag == "meta"
    }
    # og:video:type may say text/html (an embeddable player page), which is no MP4.
    if meta.get("og:video:type", "video/").lower().startswith(("video/", "application/octet")):
        width, height = _int(meta.get("og:video:width")), _int(meta.get("og:video:height"))
        for key in _OG_VIDEO_KEYS:
            url = absolute_url(meta.get(key, ""), base_url)
            if url:
                yield Candidate(url=url, strategy="og:video", width=width, height=height)


def _from_video_tags(page: _Page, base_url: str) -> Iterator[Candidate]:
    for tag, attrs in page.tags:
        url = absolute_url(attrs.get("src", ""), base_url) if tag == "video" else None
        if url:
            width, height = _int(attrs.get("width")), _int(attrs.get("height"))
            yield Candidate(url=url, strategy="video-src", width=width, height=height)


def _from_source_tags(page: _Page, base_url: str) -> Iterator[Candidate]:
    for tag, attrs in page.tags:
        kind = attrs.get("type", "video/mp4").lower()
        if tag != "source" or not kind.startswith("video/"):
            continue  # HLS (application/x-mpegURL) and DASH are no single MP4 file
        url = absolute_url(attrs.get("src", ""), base_url)
        if url:
            yield Candidate(url=url, strategy="source-src")


# --- strategies over scripts ------------------------------------------------------------------


def _script_kind(script: _Script) -> str:
    kind = script.attrs.get("type", "").lower()
    if kind == "application/ld+json":
        return "json-ld"
    if script.attrs.get("id") == "__NEXT_DATA__":
        return "next-data"
    if "__next_f" in script.body:
        return "next-flight"
    if "src" in script.attrs or kind not in ("", "text/javascript", "module", "application/json"):
        return "other"
    return "script"


def _scripts(page: _Page, kind: str) -> Iterator[str]:
    return (s.body for s in page.scripts if _script_kind(s) == kind)


def _from_json_ld(page: _Page, base_url: str) -> Iterator[Candidate]:
    for body in _scripts(page, "json-ld"):
        for item in _json_ld_items(_loads(body)):
            url = absolute_url(str(item.get("contentUrl") or ""), base_url)
            if url:
                yield Candidate(
                    url=url,
                    strategy="json-ld",
                    width=_dimension(item.get("width")),
                    height=_dimension(item.get("height")),
                    title=_text(item.get("name")),
                )


def _json_ld_items(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from _json_ld_items(item)
    elif isinstance(value, dict):
        yield value
        yield from _json_ld_items(value.get("@graph"))
        yield from _json_ld_items(value.get("video"))


def _dimension(value: Any) -> int | None:
    # schema.org allows a QuantitativeValue object as well as a plain number.
    return _int(value.get("value")) if isinstance(value, dict) else _int(value)


def _from_next_data(page: _Page, base_url: str) -> Iterator[Candidate]:
    for body in _scripts(page, "next-data"):
        value = _loads(body)
        if value is not None:
            yield from walk_json(value, base_url, strategy="next-data")


# Next.js App Router streams its RSC payload as ``self.__next_f.push([1,"<JS string>"])``; one
# JSON value may be split across two pushes, so the strings are joined before reading.
_FLIGHT_PUSH = re.compile(r"""__next_f\.push\(\[\s*1\s*,\s*("(?:[^"\\]|\\.)*")\s*\]\)""", re.DOTALL)


def _from_next_flight(page: _Page, base_url: str) -> Iterator[Candidate]:
    chunks = [
        decode_js_string(m.group(1))
        for body in _scripts(page, "next-flight")
        for m in _FLIGHT_PUSH.finditer(body)
    ]
    # Rows are "<id>:<JSON>\n" and JSON holds no raw newline, so rows are scanned one by one:
    # a row that is not JSON then costs only its own length.
    for row in "".join(chunks).split("\n"):
        yield from scan_text(row, base_url, json_as="next-flight", urls_as="next-flight")


def _from_script_json(page: _Page, base_url: str) -> Iterator[Candidate]:
    for body in _scripts(page, "script"):
        yield from scan_text(body, base_url, json_as="script-json", urls_as=None)


def _from_script_urls(page: _Page, base_url: str) -> Iterator[Candidate]:
    for body in _scripts(page, "script"):
        yield from urls_in_text(body, base_url, "script-url")


Strategy = Callable[[_Page, str], Iterator[Candidate]]

# The order strategies run in, which is also the tie-break order when ranking.
STRATEGIES: tuple[tuple[str, Strategy], ...] = (
    ("og:video", _from_meta),
    ("video-src", _from_video_tags),
    ("source-src", _from_source_tags),
    ("json-ld", _from_json_ld),
    ("next-data", _from_next_data),
    ("next-flight", _from_next_flight),
    ("script-json", _from_script_json),
    ("script-url", _from_script_urls),
)
_STRATEGY_RANK = {name: index for index, (name, _) in enumerate(STRATEGIES)}


# --- public entry points ----------------------------------------------------------------------


def find_candidates(html: str, base_url: str) -> list[Candidate]:
    """Every media candidate in an HTML page, by every strategy, in strategy order."""
    page = _split_page(html)
    return [c for _, strategy in STRATEGIES for c in strategy(page, base_url)]


def candidates_from_json(text: str, base_url: str, *, strategy: str = "json") -> list[Candidate]:
    """Candidates in a JSON document (e.g. the post JSON a browser saw on the network).

    Tolerates an anti-XSSI prefix (``)]}'``), RSC/NDJSON lines and plain garbage around the
    JSON: whatever JSON objects and video URLs are in the text are read.
    """
    value = _loads(text)
    if isinstance(value, dict | list):
        return list(walk_json(value, base_url, strategy=strategy))
    return list(scan_text(text, base_url, json_as=strategy, urls_as=strategy))


def rank_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """Usable candidates, best first; thumbnails, gifs, spritesheets, posters dropped."""
    merged = _dedupe(candidates)
    usable = [c for c in merged if _is_usable(c)]
    order = {id(c): index for index, c in enumerate(merged)}
    return sorted(usable, key=lambda c: (*_rank_key(c), order[id(c)]))


def _is_usable(candidate: Candidate) -> bool:
    if candidate.variant in IMAGE_VARIANTS:
        return False
    return not _NOT_VIDEO_EXT.search(urlsplit(candidate.url).path)


def _rank_key(candidate: Candidate) -> tuple[int, int, int, int]:
    return (
        0 if looks_like_video(candidate.url) else 1,
        VARIANT_RANK.get(candidate.variant, VARIANT_RANK[None]),
        -(candidate.width or 0),
        _STRATEGY_RANK.get(candidate.strategy, len(STRATEGIES)),
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
        return (-known, _STRATEGY_RANK.get(c.strategy, len(STRATEGIES)))

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
