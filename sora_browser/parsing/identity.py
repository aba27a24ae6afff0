"""Which share link a page is: for pages that come without their address (saved to a file).

A saved page still says what it is: ``og:url`` and the canonical link carry the share link,
and the post JSON carries the post's id. Each is tried in that order.
"""

from __future__ import annotations

import re

from .candidates import tag_attributes, unescape_url

_META = re.compile(r"<(meta|link)\b([^>]*)>", re.IGNORECASE)
_POST_ID = re.compile(r'\\*"id\\*"\s*:\s*\\*"(s_[0-9a-fA-F]{32})\\*"')
_SHARE_PATH = re.compile(r"/(?:p|g|d|t|share)/[A-Za-z0-9_-]+")


def page_share_url(html: str) -> str | None:
    """The share link the page says it is, or None."""
    for tag, attrs in ((m[1].lower(), tag_attributes(m[2])) for m in _META.finditer(html)):
        if tag == "meta" and (attrs.get("property") or attrs.get("name", "")).lower() == "og:url":
            found = _share_link(attrs.get("content", ""))
        elif tag == "link" and "canonical" in attrs.get("rel", "").lower().split():
            found = _share_link(attrs.get("href", ""))
        else:
            continue
        if found:
            return found
    post = _POST_ID.search(html)
    return f"https://sora.chatgpt.com/p/{post[1]}" if post else None


def _share_link(url: str) -> str | None:
    text = unescape_url(url.strip())
    return text if _SHARE_PATH.search(text) else None
