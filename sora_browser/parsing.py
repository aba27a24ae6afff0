"""Pure parsers: page text in, candidate media URLs out. No network, no files.

``find_candidates`` runs every strategy in ``STRATEGIES`` (the one place that says which
strategies exist and in which order) and returns what each found; ``rank_candidates`` drops
images and duplicates and puts the best video first. ``candidates_from_json`` reads JSON bodies
(the post JSON a browser sees on the network). ``classify_page`` tells a real page from a
gone page, a login wall or a Cloudflare challenge.

Sora pages hide their media URLs inside script strings escaped once or twice (``\\u0026``,
``\\u002F``, ``\\/``, ``&amp;``). Those escapes are undone; percent-encoding is never touched,
because the CDN path ``/az/files/<uuid>%2Fraw`` is signed with the ``%2F`` in it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any
from urllib.parse import urljoin, urlsplit


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


class PageState(Enum):
    OK = "ok"
    GONE = "gone"
    LOGIN = "login"
    CHALLENGE = "challenge"


# --- ranking vocabulary -----------------------------------------------------------------------

# Sora's post JSON quality order (DESIGN.md). ``downloadable`` is the attachment's
# ``downloadable_url``; a URL whose variant is unknown sits between the full-size encodings and
# the reduced ones: it is usually the page's main video, but may be a reduced one.
VARIANT_RANK: dict[str | None, int] = {
    "source": 0,
    "source_wm": 1,
    "downloadable": 2,
    None: 3,
    "md": 4,
    "ld": 5,
}
_FULL_SIZE = frozenset({"source", "source_wm", "downloadable", None})
IMAGE_VARIANTS = frozenset({"thumbnail", "gif", "spritesheet", "poster", "image", "preview"})
_IMAGE_KEY_WORDS = ("thumbnail", "thumb", "gif", "sprite", "poster", "image", "preview", "avatar")
_NOT_VIDEO_EXT = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|heic|m3u8|mpd|vtt|srt|js|css|json|html?)$",
    re.IGNORECASE,
)
_VIDEO_EXT = re.compile(r"\.(?:mp4|m4v|mov|webm)$", re.IGNORECASE)
# Sora 2 CDN paths end in ``<uuid>%2Fraw`` (percent-encoded slash) or ``/raw``.
_RAW_PATH = re.compile(r"(?:/|%2f)raw$", re.IGNORECASE)
VIDEO_HOSTS = frozenset({"videos.openai.com"})

# JSON keys whose string value is a media URL even when it does not look like one.
_MEDIA_KEYS = frozenset(
    {"contenturl", "downloadable_url", "download_url", "video_url", "mp4_url", "playback_url"}
)
_URL_KEYS = frozenset({"url", "src", "path", "href"})
_TITLE_KEYS = ("prompt", "title", "text", "caption", "name")


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
    url = urljoin(base_url, text)
    return url if urlsplit(url).scheme in ("http", "https") else None


def looks_like_video(url: str) -> bool:
    """A known video CDN host, or a path ending in a video extension or Sora's ``/raw``."""
    parts = urlsplit(url)
    if (parts.hostname or "") in VIDEO_HOSTS and not _NOT_VIDEO_EXT.search(parts.path):
        return True
    return bool(_VIDEO_EXT.search(parts.path) or _RAW_PATH.search(parts.path))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# --- the page, split once ---------------------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<(meta|video|source)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([^\s=/>"']+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Script:
    attrs: dict[str, str]
    body: str


@dataclass(slots=True)
class _Page:
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    scripts: list[_Script] = field(default_factory=list)


def _attrs(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        value = match.group(2) or match.group(3) or match.group(4) or ""
        found.setdefault(match.group(1).lower(), unescape_html(value))
    return found


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
        yield from _urls_in_text(body, base_url, "script-url")


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
_VIDEOISH = re.compile(r"videos\.openai\.com|\.(?:mp4|m4v|mov|webm)\b|(?:/|%2f)raw\b", re.I)
# Strings that any JSON object carrying a media URL contains; others are not walked.
_MEDIA_HINT = re.compile(r'//|\\/|\\u002f|"(?:path|url|src|contenturl|\w*_url)"|encodings', re.I)
_MAX_JSON_ATTEMPTS = 4000


def _loads(text: str) -> Any:
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
        yield from _urls_in_text(text, base_url, urls_as)


def _urls_in_text(text: str, base_url: str, strategy: str) -> Iterator[Candidate]:
    """Video-looking URLs anywhere in ``text``, however escaped."""
    plain = unescape_url(text)
    for match in _URL_IN_TEXT.finditer(plain):
        if not _VIDEOISH.search(match.group(0)):
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
            nested = _loads(node)
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
    named = lowered in _MEDIA_KEYS or lowered in _URL_KEYS or lowered in VARIANT_RANK
    if not named and not any(word in lowered for word in _IMAGE_KEY_WORDS):
        return None
    url = absolute_url(value, base_url) if "/" in value else None
    if url is None:
        return None
    variant = _variant_for(key, parent)
    if lowered not in _MEDIA_KEYS and variant not in IMAGE_VARIANTS and not looks_like_video(url):
        return None  # e.g. {"url": "/p/s_..."} or {"source": "https://..."}: a link, not media
    size = variant in _FULL_SIZE
    return Candidate(
        url=url,
        strategy=strategy,
        variant=variant,
        width=_int(node.get("width")) if size else None,
        height=_int(node.get("height")) if size else None,
        title=_title_of(node),
    )


def _variant_for(key: str, parent: str) -> str | None:
    """The variant a JSON key names: ``md`` for ``"md": ...`` or ``"md": {"path": ...}``."""
    key, parent = key.lower(), parent.lower()
    if key == "downloadable_url":
        return "downloadable"
    for name in (key, parent if key in _URL_KEYS else ""):
        if name in VARIANT_RANK and name:
            return name
        for word in _IMAGE_KEY_WORDS:
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
        sized = attachment if name in _FULL_SIZE else {}
        yield Candidate(
            url=url,
            strategy=strategy,
            variant=name,
            width=_int(entry.get("width")) or _int(sized.get("width")),
            height=_int(entry.get("height")) or _int(sized.get("height")),
            title=title,
        )


def _title_of(node: dict[str, Any]) -> str | None:
    for key in _TITLE_KEYS:
        text = _text(node.get(key))
        if text:
            return text
    return None


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


# --- page classification ----------------------------------------------------------------------

_CHALLENGE_MARK = re.compile(
    r"<title>\s*(?:Just a moment\.\.\.|Attention Required! \| Cloudflare)|_cf_chl_opt|cf-chl-|"
    r"/cdn-cgi/challenge-platform/h/[bg]/orchestrate",
    re.IGNORECASE,
)
_VIDEO_HINT = re.compile(
    r"videos\.openai\.com|\.mp4\b|%2Fraw|og:video|\\*\"encodings\\*\"", re.IGNORECASE
)
_GONE_TEXT = re.compile(
    r"no longer available|(?:has been|was) (?:removed|deleted)|does(?:n't| not) exist|"
    r"(?:page|post|video|content|generation) (?:was )?not found|could not be found",
    re.IGNORECASE,
)
_LOGIN_TEXT = re.compile(
    r"(?:log|sign) ?in to (?:continue|view|see|watch|access)|type=[\"']password[\"']|"
    r"auth\.openai\.com/(?:log-?in|authorize)",
    re.IGNORECASE,
)
_LOGIN_URL = re.compile(r"^https?://auth\.openai\.com/|/(?:auth/)?log-?in\b", re.IGNORECASE)
_INVISIBLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def is_login_url(url: str) -> bool:
    """Whether a (redirect target) URL is a login page rather than content."""
    return bool(_LOGIN_URL.search(url))


def classify_page(status: int, headers: dict[str, str], text: str) -> PageState:
    """What kind of page this is: the real thing, gone, a login wall or a bot challenge."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if _is_challenge(status, lowered, text):
        return PageState.CHALLENGE
    if status in (404, 410):
        return PageState.GONE
    if status == 401 or (300 <= status < 400 and is_login_url(lowered.get("location", ""))):
        return PageState.LOGIN
    if _VIDEO_HINT.search(text):
        return PageState.OK  # a logged-out page with a video still has "Log in" buttons
    # Scripts carry every UI string of the app; only what the page shows says gone/login.
    visible = _INVISIBLE.sub(" ", text)
    if _GONE_TEXT.search(visible):
        return PageState.GONE
    if _LOGIN_TEXT.search(visible):
        return PageState.LOGIN
    return PageState.OK


def _is_challenge(status: int, headers: dict[str, str], text: str) -> bool:
    # Cloudflare marks its managed challenge with ``cf-mitigated: challenge`` (any status).
    if headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return True
    if status in (403, 429, 503):
        return bool(_CHALLENGE_MARK.search(text))
    # Normal pages may load /cdn-cgi/challenge-platform/scripts/jsd (bot detection), so a 200
    # counts only with the interstitial's own config object.
    return "_cf_chl_opt" in text and bool(_CHALLENGE_MARK.search(text))


_META_TAG = re.compile(r"<meta\b([^>]*)>", re.IGNORECASE)
_META_TITLE = re.compile(r"^(?:og|twitter):title$", re.IGNORECASE)
_GENERIC_TITLES = frozenset({"sora", "sora 2", "just a moment...", "log in", "openai"})


def page_title(html: str) -> str | None:
    """The page's own title for the video (og:title, <title>, prompt), unescaped."""
    metas = (_attrs(m.group(1)) for m in _META_TAG.finditer(html))
    titles = [
        a.get("content", "")
        for a in metas
        if _META_TITLE.match(a.get("property") or a.get("name") or "")
    ]
    match = _TITLE.search(html)
    if match:
        titles.append(unescape_html(match.group(1)))
    for title in titles:
        cleaned = re.sub(r"\s+", " ", title).strip()
        cleaned = re.sub(r"\s+[|·–-]\s+Sora$", "", cleaned)
        if cleaned and cleaned.lower() not in _GENERIC_TITLES:
            return cleaned
    return None
