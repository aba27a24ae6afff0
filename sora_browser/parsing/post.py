"""Who posted a video and with which prompt, as the share page tells it.

The post JSON (docs/ARCHITECTURE.md, "Facts the code relies on") names them as
``attachments[].prompt`` and ``profile.username``; pages carry that JSON escaped inside script
strings (Next.js flight pushes, ``JSON.parse("...")``), once or twice, and split wherever the
stream flushed. So a field is read where its key and value sit together: in the raw text, then
inside each JS string literal that holds the key, one escaping level at a time. Real Sora 2
pages also say the username in ``og:title`` ("<username> on Sora"), the fallback here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .candidates import decode_js_string, tag_attributes

_FIELDS = ("prompt", "username")
# "prompt": "..." at the current escaping level: the value is a whole JSON string literal.
_FIELD = re.compile(r'"(prompt|username)"\s*:\s*("(?:[^"\\]|\\.)*")', re.DOTALL)
# A JS string literal holding one of those keys escaped one level deeper (\"prompt\").
_LITERAL_WITH_FIELD = re.compile(
    r'"((?:[^"\\]|\\.)*?\\+"(?:prompt|username)\\+"\s*:(?:[^"\\]|\\.)*)"', re.DOTALL
)
_OG_TITLE = re.compile(r"<meta\b([^>]*og:title[^>]*)>", re.IGNORECASE)
_ON_SORA = re.compile(r"^\s*(\S+) on Sora\s*$")
_DEPTH = 2
"""Escaping levels looked into: a flight push (1) holding ``JSON.parse("...")`` text (2)."""


@dataclass(frozen=True, slots=True)
class PostDetails:
    prompt: str | None = None
    username: str | None = None


def post_details(page: str) -> PostDetails:
    """The post's prompt and its author's username, when the page says them."""
    found: dict[str, str] = {}
    _collect(page, found, _DEPTH)
    return PostDetails(
        prompt=found.get("prompt"), username=found.get("username") or _og_username(page)
    )


def _collect(text: str, found: dict[str, str], depth: int) -> None:
    for match in _FIELD.finditer(text):
        value = decode_js_string(match.group(2)).strip()
        if value:
            found.setdefault(match.group(1), value)
    if depth == 0 or len(found) == len(_FIELDS):
        return
    for match in _LITERAL_WITH_FIELD.finditer(text):
        _collect(decode_js_string(f'"{match.group(1)}"'), found, depth - 1)
        if len(found) == len(_FIELDS):
            return


def _og_username(page: str) -> str | None:
    for match in _OG_TITLE.finditer(page):
        attributes = tag_attributes(match.group(1))
        said = _ON_SORA.match(attributes.get("content", ""))
        if said and (attributes.get("property") or attributes.get("name")) == "og:title":
            return said.group(1)
    return None
