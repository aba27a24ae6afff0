"""JSON wherever a page hides it: objects inside scripts and flight rows, JSON inside JS string
literals, Sora's ``encodings`` blocks, and bare video URLs however escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .candidates import (
    FULL_SIZE_VARIANTS,
    IMAGE_KEY_WORDS,
    IMAGE_VARIANTS,
    MEDIA_KEYS,
    TITLE_KEYS,
    URL_KEYS,
    VARIANT_RANK,
    Candidate,
    absolute_url,
    as_int,
    as_text,
    decode_js_string,
    loads_or_none,
    looks_like_video,
    might_name_video,
    unescape_url,
)

# --- JSON anywhere ----------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_OBJECT_START = re.compile(r"\{\s*\"")
# A JS string literal that carries escaped JSON: JSON.parse("{\"post\":...}").
_ESCAPED_JSON_LITERAL = re.compile(r'"((?:[^"\\]|\\.){0,64}?\{\\+"(?:[^"\\]|\\.)*)"', re.DOTALL)
_URL_IN_TEXT = re.compile(r"""(?:https?:)?//[^\s"'<>\\^`{}|]+""")
# Plain substring tests (``in`` is far faster than a regex alternation over a whole script).
_TEXT_HINTS = (
    "videos.openai.com",
    ".mp4",
    ".mov",
    ".webm",
    "raw",
    "encodings",
    "contentUrl",
    "_url",
)
# Strings that any JSON object carrying a media URL contains; others are not walked.
_MEDIA_HINT = re.compile(r'//|\\/|\\u002f|"(?:path|url|src|contenturl|\w*_url)"|encodings', re.I)
_MAX_JSON_ATTEMPTS = 4000


def json_values(text: str) -> Iterator[Any]:
    """Every JSON object embedded in ``text`` (a script, a flight payload), outermost only."""
    pos, attempts = 0, 0
    while attempts < _MAX_JSON_ATTEMPTS and (match := _OBJECT_START.search(text, pos)):
        try:
            value, pos = _DECODER.raw_decode(text, match.start())
        except RecursionError:
            return  # nested deeper than Python's stack: leave it to the URL scan
        except ValueError:
            pos, attempts = match.start() + 1, attempts + 1
            continue
        if _MEDIA_HINT.search(text, match.start(), pos):
            yield value


def json_objects(text: str, depth: int = 2) -> Iterator[Any]:
    """``json_values`` of ``text``, and of the JSON escaped inside its string literals."""
    yield from json_values(text)
    if depth > 0:
        for match in _ESCAPED_JSON_LITERAL.finditer(text):
            yield from json_objects(decode_js_string(f'"{match.group(1)}"'), depth - 1)


def scan_text(
    text: str, base_url: str, *, json_as: str, urls_as: str | None, depth: int = 2
) -> Iterator[Candidate]:
    """Candidates from JSON objects in ``text``, JSON inside its string literals, and its URLs."""
    if not any(hint in text for hint in _TEXT_HINTS):
        return  # most scripts are app code: nothing there can name a video
    for value in json_values(text):
        yield from walk_json(value, base_url, strategy=json_as)
    if depth > 0:
        for match in _ESCAPED_JSON_LITERAL.finditer(text):
            inner = decode_js_string(f'"{match.group(1)}"')
            yield from scan_text(inner, base_url, json_as=json_as, urls_as=None, depth=depth - 1)
    if urls_as is not None:
        yield from urls_in_text(text, base_url, urls_as)


def urls_in_text(text: str, base_url: str, strategy: str) -> Iterator[Candidate]:
    """Video-looking URLs anywhere in ``text``, however escaped."""
    plain = unescape_url(text)
    for match in _URL_IN_TEXT.finditer(plain):
        if not might_name_video(match.group(0)):
            continue  # cheap pre-filter: pages hold thousands of script and image URLs
        url = absolute_url(match.group(0).rstrip(".,;)"), base_url)
        if url and looks_like_video(url):
            yield Candidate(url=url, strategy=strategy, variant=_variant_near(plain, match.start()))


_KEY_BEFORE = re.compile(
    r'\\*"([A-Za-z_][\w-]*)\\*"\s*:\s*\{?\s*(?:\\*"(?:path|url|src)\\*"\s*:\s*)?\\*"?$'
)


def _variant_near(text: str, start: int) -> str | None:
    """The JSON key just before a URL found by regex, when it names a variant or an image."""
    match = _KEY_BEFORE.search(text[max(0, start - 80) : start])
    return _variant_for(match.group(1), "") if match else None


# --- walking Sora's JSON ----------------------------------------------------------------------


def walk_json(root: Any, base_url: str, *, strategy: str) -> Iterator[Candidate]:
    """Candidates in a decoded JSON value: ``encodings`` blocks, media keys, video URLs."""
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, key = stack.pop()
        if isinstance(node, list):
            stack.extend((item, key) for item in reversed(node))
        elif isinstance(node, dict):
            yield from _from_dict(node, key, base_url, strategy)
            # A dict ``encodings`` was read whole by _from_dict, with its attachment's metadata.
            children = [(v, k) for k, v in node.items() if not _is_encodings(k, v)]
            stack.extend(reversed(children))
        elif isinstance(node, str) and node[:1] in "{[" and len(node) > 2:
            # JSON serialised into a string field (double-encoded state blobs).
            nested = loads_or_none(node)
            if nested is not None:
                stack.append((nested, key))


def _is_encodings(key: str, value: Any) -> bool:
    return key == "encodings" and isinstance(value, dict)


def _from_dict(
    node: dict[str, Any], parent: str, base_url: str, strategy: str
) -> Iterator[Candidate]:
    encodings = node.get("encodings")
    if isinstance(encodings, dict):
        yield from _from_encodings(node, encodings, base_url, strategy)
    for key, value in node.items():
        if isinstance(value, str) and value:
            candidate = _string_candidate(node, key, parent, value, base_url, strategy)
            if candidate is not None:
                yield candidate


def _string_candidate(
    node: dict[str, Any], key: str, parent: str, value: str, base_url: str, strategy: str
) -> Candidate | None:
    lowered = key.lower()
    named = lowered in MEDIA_KEYS or lowered in URL_KEYS or lowered in VARIANT_RANK
    if not named and not any(word in lowered for word in IMAGE_KEY_WORDS):
        return None
    url = absolute_url(value, base_url) if "/" in value else None
    if url is None:
        return None
    variant = _variant_for(key, parent)
    if lowered not in MEDIA_KEYS and variant not in IMAGE_VARIANTS and not looks_like_video(url):
        return None  # e.g. {"url": "/p/s_..."} or {"source": "https://..."}: a link, not media
    size = variant in FULL_SIZE_VARIANTS
    return Candidate(
        url=url,
        strategy=strategy,
        variant=variant,
        width=as_int(node.get("width")) if size else None,
        height=as_int(node.get("height")) if size else None,
        title=_title_of(node),
    )


def _variant_for(key: str, parent: str) -> str | None:
    """The variant a JSON key names: ``md`` for ``"md": ...`` or ``"md": {"path": ...}``."""
    key, parent = key.lower(), parent.lower()
    if key == "downloadable_url":
        return "downloadable"
    for name in (key, parent if key in URL_KEYS else ""):
        if name in VARIANT_RANK and name:
            return name
        for word in IMAGE_KEY_WORDS:
            if word in name:
                return "gif" if word == "gif" else "thumbnail"
    return None


def _from_encodings(
    attachment: dict[str, Any], encodings: dict[str, Any], base_url: str, strategy: str
) -> Iterator[Candidate]:
    """Sora's ``attachments[].encodings.{source, source_wm, md, ld, gif, thumbnail}.path``."""
    title = _title_of(attachment)
    for name, encoding in encodings.items():
        entry = encoding if isinstance(encoding, dict) else {"path": encoding}
        raw = entry.get("path") or entry.get("url")
        url = absolute_url(raw, base_url) if isinstance(raw, str) else None
        if url is None:
            continue
        # The attachment's width/height describe the full-size video, not md/ld.
        sized = attachment if name in FULL_SIZE_VARIANTS else {}
        yield Candidate(
            url=url,
            strategy=strategy,
            variant=name,
            width=as_int(entry.get("width")) or as_int(sized.get("width")),
            height=as_int(entry.get("height")) or as_int(sized.get("height")),
            title=title,
        )


def _title_of(node: dict[str, Any]) -> str | None:
    for key in TITLE_KEYS:
        text = as_text(node.get(key))
        if text:
            return text
    return None
