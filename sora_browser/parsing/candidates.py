"""What every parsing strategy shares: ``Candidate``, the ranking vocabulary, unescaping.

Sora pages hide media URLs inside script strings escaped once or twice (``\\u0026``,
``\\u002F``, ``\\/``, ``&amp;``). Those escapes are undone here; percent-encoding is never
touched, because the CDN path ``/az/files/<uuid>%2Fraw`` is signed with the ``%2F`` in it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..urls import VIDEO_HOSTS


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    url: str
    """Absolute, unescaped URL."""
    strategy: str
    """Which strategy found it: ``og:video``, ``video-src``, ``source-src``, ``json-ld``,
    ``next-data``, ``next-flight``, ``script-json``, ``script-url``, ``network``, ``dom``..."""
    variant: str | None = None
    """``source``, ``source_wm``, ``md``, ``ld`` when the JSON said so."""
    width: int | None = None
    height: int | None = None
    title: str | None = None
    watermarked: bool | None = None
    """Set by ranking: True for a watermarked file (``_wm`` in its path, or listed as
    ``source_wm``), False for a source the page lists beside a distinct watermarked one,
    None when the page does not tell."""


# --- ranking vocabulary -----------------------------------------------------------------------

# Sora's post JSON quality order (docs/ARCHITECTURE.md, "Facts the code relies on").
# ``downloadable`` is the attachment's ``downloadable_url``; a URL whose variant is unknown
# sits between the full-size encodings and the reduced ones: it is usually the page's main
# video, but may be a reduced one.
VARIANT_RANK: dict[str | None, int] = {
    "source": 0,
    "source_wm": 1,
    "downloadable": 2,
    None: 3,
    "md": 4,
    "ld": 5,
}
FULL_SIZE_VARIANTS = frozenset({"source", "source_wm", "downloadable", None})
IMAGE_VARIANTS = frozenset({"thumbnail", "gif", "spritesheet", "poster", "image", "preview"})
IMAGE_KEY_WORDS = ("thumbnail", "thumb", "gif", "sprite", "poster", "image", "preview", "avatar")
NOT_VIDEO_EXT = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|heic|m3u8|mpd|vtt|srt|js|css|json|html?)$",
    re.IGNORECASE,
)
# The one rule for "this URL looks like a video" (``looks_like_video``) is built from these;
# ``might_name_video`` is its cheap pre-test on raw text, before a URL is even parsed.
VIDEO_EXTENSIONS = ("mp4", "m4v", "mov", "webm")
_EXTENSIONS = "|".join(VIDEO_EXTENSIONS)
_VIDEO_EXT = re.compile(rf"\.(?:{_EXTENSIONS})$", re.IGNORECASE)
# Sora 2 CDN paths end in ``<uuid>%2Fraw`` (percent-encoded slash) or ``/raw``.
_RAW_PATH = re.compile(r"(?:/|%2f)raw$", re.IGNORECASE)
_VIDEOISH = re.compile(
    "|".join(
        [*(re.escape(h) for h in sorted(VIDEO_HOSTS)), rf"\.(?:{_EXTENSIONS})\b", r"(?:/|%2f)raw\b"]
    ),
    re.IGNORECASE,
)

# JSON keys whose string value is a media URL even when it does not look like one.
MEDIA_KEYS = frozenset(
    {"contenturl", "downloadable_url", "download_url", "video_url", "mp4_url", "playback_url"}
)
URL_KEYS = frozenset({"url", "src", "path", "href"})
TITLE_KEYS = ("prompt", "title", "text", "caption", "name")


# --- small helpers ----------------------------------------------------------------------------

_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_SLASH_ESC = re.compile(r"\\+/")
_UNICODE_ESC = re.compile(r"\\+u([0-9a-fA-F]{4})")


def unescape_html(text: str) -> str:
    """Undo character references that end in ``;`` only.

    ``html.unescape`` also expands legacy references without ``;``, which turns a raw
    ``&region=`` in a URL query into ``®ion=``; browsers do not do that inside attributes.
    """
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def unescape_url(text: str) -> str:
    """Undo JS/JSON/HTML escapes of a URL, however many times they were applied.

    ``%2F`` is left alone: it is part of the signed CDN path.
    """
    if "\\" not in text and "&amp;" not in text:
        return text  # the common case, and whole scripts go through here
    for _ in range(4):
        before = text
        text = _SLASH_ESC.sub("/", text)
        text = _UNICODE_ESC.sub(lambda m: chr(int(m.group(1), 16)), text)
        text = text.replace("&amp;", "&")
        if text == before:
            break
    return text


def absolute_url(raw: str, base_url: str) -> str | None:
    """The absolute http(s) URL for ``raw`` on a page at ``base_url``, or None."""
    text = unescape_url(raw.strip())
    if not text or text.startswith(("blob:", "data:", "javascript:")):
        return None
    try:
        url = urljoin(base_url, text)
        scheme = urlsplit(url).scheme
    except ValueError:  # "http://[::1/x": a broken IPv6 literal is no URL at all
        return None
    return url if scheme in ("http", "https") else None


def might_name_video(text: str) -> bool:
    """False when ``text`` surely holds no URL that ``looks_like_video`` (a fast pre-filter)."""
    return _VIDEOISH.search(text) is not None


def looks_like_video(url: str) -> bool:
    """A known video CDN host, or a path ending in a video extension or Sora's ``/raw``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if (parts.hostname or "") in VIDEO_HOSTS and not NOT_VIDEO_EXT.search(parts.path):
        return True
    return bool(_VIDEO_EXT.search(parts.path) or _RAW_PATH.search(parts.path))


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def as_dimension(value: Any) -> int | None:
    """A width or height: a number, or schema.org's QuantitativeValue object holding one."""
    return as_int(value.get("value")) if isinstance(value, dict) else as_int(value)


def as_text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


_ATTR = re.compile(r"""([^\s=/>"']+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


def tag_attributes(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        value = match.group(2) or match.group(3) or match.group(4) or ""
        found.setdefault(match.group(1).lower(), unescape_html(value))
    return found


def loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting depth
        return None


def decode_js_string(literal: str) -> str:
    """The value of a double-quoted JS string literal (JSON syntax, plus ``\\x..`` and ``\\'``)."""
    try:
        value = json.loads(literal)
    except ValueError:
        fixed = re.sub(r"\\x([0-9a-fA-F]{2})", r"\\u00\1", literal).replace("\\'", "'")
        try:
            value = json.loads(fixed)
        except ValueError:
            return unescape_url(literal[1:-1])
    return value if isinstance(value, str) else literal
