"""The page strategies: each reads one kind of place a page may keep its video URL.

``STRATEGIES`` is the one place that says which strategies exist and in which order (which
is also the tie-break order when ranking). The page is split once (tags outside scripts, and
scripts by kind) and every strategy reads the split.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .candidates import (
    Candidate,
    absolute_url,
    as_dimension,
    as_int,
    as_text,
    decode_js_string,
    loads_or_none,
    tag_attributes,
)
from .embedded import json_objects, scan_text, urls_in_text, walk_json

__all__ = [
    "STRATEGIES",
    "STRATEGY_RANK",
    "Strategy",
    "candidates_from_json",
    "find_candidates",
    "page_json",
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
        page.scripts.append(_Script(tag_attributes(match.group(1)), match.group(2)))
    outside = _SCRIPT.sub("", text)
    for match in _TAG.finditer(outside):
        page.tags.append((match.group(1).lower(), tag_attributes(match.group(2))))
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
        width, height = as_int(meta.get("og:video:width")), as_int(meta.get("og:video:height"))
        for key in _OG_VIDEO_KEYS:
            url = absolute_url(meta.get(key, ""), base_url)
            if url:
                yield Candidate(url=url, strategy="og:video", width=width, height=height)


def _from_video_tags(page: _Page, base_url: str) -> Iterator[Candidate]:
    for tag, attrs in page.tags:
        url = absolute_url(attrs.get("src", ""), base_url) if tag == "video" else None
        if url:
            width, height = as_int(attrs.get("width")), as_int(attrs.get("height"))
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
        for item in _json_ld_items(loads_or_none(body)):
            url = absolute_url(str(item.get("contentUrl") or ""), base_url)
            if url:
                yield Candidate(
                    url=url,
                    strategy="json-ld",
                    width=as_dimension(item.get("width")),
                    height=as_dimension(item.get("height")),
                    title=as_text(item.get("name")),
                )


def _json_ld_items(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from _json_ld_items(item)
    elif isinstance(value, dict):
        yield value
        yield from _json_ld_items(value.get("@graph"))
        yield from _json_ld_items(value.get("video"))


def _from_next_data(page: _Page, base_url: str) -> Iterator[Candidate]:
    for body in _scripts(page, "next-data"):
        value = loads_or_none(body)
        if value is not None:
            yield from walk_json(value, base_url, strategy="next-data")


# Next.js App Router streams its RSC payload as ``self.__next_f.push([1,"<JS string>"])``; one
# JSON value may be split across two pushes, so the strings are joined before reading.
_FLIGHT_PUSH = re.compile(r"""__next_f\.push\(\[\s*1\s*,\s*("(?:[^"\\]|\\.)*")\s*\]\)""", re.DOTALL)


def _flight_rows(page: _Page) -> list[str]:
    """The Next.js flight payload's rows, unescaped and joined across pushes.

    Rows are "<id>:<JSON>\n" and JSON holds no raw newline, so rows are read one by one: a
    row that is not JSON then costs only its own length."""
    chunks = [
        decode_js_string(m.group(1))
        for body in _scripts(page, "next-flight")
        for m in _FLIGHT_PUSH.finditer(body)
    ]
    return "".join(chunks).split("\n")


def _from_next_flight(page: _Page, base_url: str) -> Iterator[Candidate]:
    for row in _flight_rows(page):
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
STRATEGY_RANK = {name: index for index, (name, _) in enumerate(STRATEGIES)}


def page_json(html: str) -> Iterator[Any]:
    """Every JSON object a page carries: ``__NEXT_DATA__``, flight rows, JSON in scripts."""
    page = _split_page(html)
    for body in (*_scripts(page, "next-data"), *_scripts(page, "json-ld")):
        value = loads_or_none(body)
        if value is not None:
            yield value
    for row in _flight_rows(page):
        yield from json_objects(row)
    for body in _scripts(page, "script"):
        yield from json_objects(body)


def find_candidates(html: str, base_url: str) -> list[Candidate]:
    """Every media candidate in an HTML page, by every strategy, in strategy order."""
    page = _split_page(html)
    return [c for _, strategy in STRATEGIES for c in strategy(page, base_url)]


def candidates_from_json(text: str, base_url: str, *, strategy: str = "json") -> list[Candidate]:
    """Candidates in a JSON document (e.g. the post JSON a browser saw on the network).

    Tolerates an anti-XSSI prefix (``)]}'``), RSC/NDJSON lines and plain garbage around the
    JSON: whatever JSON objects and video URLs are in the text are read.
    """
    value = loads_or_none(text)
    if isinstance(value, dict | list):
        return list(walk_json(value, base_url, strategy=strategy))
    return list(scan_text(text, base_url, json_as=strategy, urls_as=strategy))
