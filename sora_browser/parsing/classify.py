"""What kind of page came back: the real thing, gone, a login wall or a bot challenge."""

from __future__ import annotations

import re
from enum import Enum

from .candidates import tag_attributes, unescape_html


class PageState(Enum):
    OK = "ok"
    GONE = "gone"
    LOGIN = "login"
    CHALLENGE = "challenge"


# --- page classification ----------------------------------------------------------------------

_CHALLENGE_MARK = re.compile(
    r"<title>\s*(?:Just a moment\.\.\.|Attention Required! \| Cloudflare)|_cf_chl_opt|cf-chl-|"
    r"/cdn-cgi/challenge-platform/h/[bg]/orchestrate",
    re.IGNORECASE,
)
_VIDEO_HINT = re.compile(
    r"videos\.openai\.com|\.mp4\b|%2Fraw|og:video|\\*\"encodings\\*\"", re.IGNORECASE
)
# The last line covers the notice that replaced the app when Sora was switched off
# (2026-04-26): "Sora has been discontinued", "... is no longer available", "shut down".
_GONE_TEXT = re.compile(
    r"no longer available|(?:has been|was) (?:removed|deleted)|does(?:n't| not) exist|"
    r"(?:page|post|video|content|generation) (?:was )?not found|could not be found|"
    r"(?:has been|was|is being|is) (?:discontinued|shut down|switched off|sunset)",
    re.IGNORECASE,
)
_LOGIN_TEXT = re.compile(
    r"(?:log|sign) ?in to (?:continue|view|see|watch|access)|type=[\"']password[\"']|"
    r"auth\.openai\.com/(?:log-?in|authorize)",
    re.IGNORECASE,
)
_LOGIN_URL = re.compile(r"^https?://auth\.openai\.com/|/(?:auth/)?log-?in\b", re.IGNORECASE)
_INVISIBLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)

# Every match of the pattern above contains one of these (lower case). An alternation with
# IGNORECASE costs ~0.25 µs per character in CPython's re: 13 s over a 20 MB page of spaces.
# ``str.find`` skips to the hints, and the pattern only runs around them.
_HINTS = {
    "challenge": (
        b"just a moment",
        b"attention required",
        b"_cf_chl_opt",
        b"cf-chl-",
        b"/cdn-cgi/",
    ),
    "video": (b"videos.openai.com", b".mp4", b"%2fraw", b"og:video", b"encodings"),
    "gone": (
        b"no longer available",
        b"removed",
        b"deleted",
        b"exist",
        b"not found",
        b"not be found",
    ),
    "login": (b"in to ", b"password", b"auth.openai.com/"),
}
_REACH = 80
"""How far a match may extend on either side of its hint."""


def _search(pattern: re.Pattern[str], kind: str, text: str, lowered: bytes) -> bool:
    """``pattern.search(text)``, run only in windows around the hints of ``kind``."""
    spans: list[tuple[int, int]] = []
    for hint in _HINTS[kind]:
        at = lowered.find(hint)
        while at != -1:
            spans.append((max(0, at - _REACH), at + len(hint) + _REACH))
            at = lowered.find(hint, at + 1)
    return any(pattern.search(text, start, end) for start, end in _merged(spans))


def _lower(text: str) -> bytes:
    """The text in ASCII lower case, one byte per character, so every index stays the same
    (``str.lower`` makes "İ" two characters; the hints are ASCII, which is all that counts)."""
    return text.encode("ascii", "replace").lower()


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def is_login_url(url: str) -> bool:
    """Whether a (redirect target) URL is a login page rather than content."""
    return bool(_LOGIN_URL.search(url))


def classify_page(status: int, headers: dict[str, str], text: str) -> PageState:
    """What kind of page this is: the real thing, gone, a login wall or a bot challenge."""
    lowered_headers = {k.lower(): v for k, v in headers.items()}
    lowered = _lower(text)
    if _is_challenge(status, lowered_headers, text, lowered):
        return PageState.CHALLENGE
    if status in (404, 410):
        return PageState.GONE
    location = lowered_headers.get("location", "")
    if status == 401 or (300 <= status < 400 and is_login_url(location)):
        return PageState.LOGIN
    if _search(_VIDEO_HINT, "video", text, lowered):
        return PageState.OK  # a logged-out page with a video still has "Log in" buttons
    # Scripts carry every UI string of the app; only what the page shows says gone/login.
    visible = _INVISIBLE.sub(" ", text) if b"<s" in lowered else text
    shown = _lower(visible)
    if _search(_GONE_TEXT, "gone", visible, shown):
        return PageState.GONE
    if _search(_LOGIN_TEXT, "login", visible, shown):
        return PageState.LOGIN
    return PageState.OK


# Post JSON fields (docs/ARCHITECTURE.md, "Facts the code relies on"), found however many
# times the JSON around them was escaped into script strings.
_Q = r'\\*"'
_TOMBSTONED = re.compile(_Q + r"tombstoned_at" + _Q + r"\s*:\s*(?!null\b)" + _Q + r"?\w")
_PRIVATE = re.compile(
    _Q + r"(?:can_read" + _Q + r"\s*:\s*false|output_blocked" + _Q + r"\s*:\s*true)"
)


def post_state(text: str) -> str | None:
    """``removed`` or ``private`` when the post JSON in a page or body says so, else None.

    A removed post has ``tombstoned_at`` set; ``permissions.can_read: false`` and
    ``output_blocked`` mean the viewer may not see it.
    """
    if _TOMBSTONED.search(text):
        return "removed"
    if _PRIVATE.search(text):
        return "private"
    return None


def _is_challenge(status: int, headers: dict[str, str], text: str, lowered: bytes) -> bool:
    # Cloudflare marks its managed challenge with ``cf-mitigated: challenge`` (any status).
    if headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return True
    if status in (403, 429, 503):
        return _search(_CHALLENGE_MARK, "challenge", text, lowered)
    # Normal pages may load /cdn-cgi/challenge-platform/scripts/jsd (bot detection), so a 200
    # counts only with the interstitial's own config object.
    return "_cf_chl_opt" in text and _search(_CHALLENGE_MARK, "challenge", text, lowered)


_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_META_TAG = re.compile(r"<meta\b([^>]*)>", re.IGNORECASE)
_META_TITLE = re.compile(r"^(?:og|twitter):title$", re.IGNORECASE)
_GENERIC_TITLES = frozenset({"sora", "sora 2", "just a moment...", "log in", "openai"})


def page_title(html: str) -> str | None:
    """The page's own title for the video (og:title, <title>, prompt), unescaped."""
    metas = (tag_attributes(m.group(1)) for m in _META_TAG.finditer(html))
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
