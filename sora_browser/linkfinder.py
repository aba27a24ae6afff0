"""Share links in any text: a links file, a chat export, a CSV or JSON export, a Markdown note.

Every URL in the text (JSON's ``\\/`` escapes undone first) and every bare
``sora.chatgpt.com/...`` or ``sora.com/...`` is tried as a share link (or, when the archive
may be used, as a Sora CDN link); what parses is kept in order of first appearance, one per
share id, and what does not is counted as ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import BadInput
from .urls import UrlPolicy, parse_share_url

_URL = re.compile(r"""https?://[^\s"'<>\[\]()`{}|\\^]+""", re.IGNORECASE)
_BARE = re.compile(
    r"""(?<![\w./-])(?:www\.)?(?:sora\.chatgpt\.com|sora\.com)/[^\s"'<>\[\]()`{}|\\^]+""",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\""


@dataclass
class FoundLinks:
    links: list[str] = field(default_factory=list)
    """One per share id, as written in the text, in order of first appearance."""
    repeats: int = 0
    """Links naming a video already found."""
    ignored: int = 0
    """URLs that are no share link (an image, an article, a profile page...)."""


def find_links(
    texts: Iterable[str], policy: UrlPolicy | None = None, *, media: bool = False
) -> FoundLinks:
    """The share links in ``texts`` (``media``: Sora CDN links too, for the archive)."""
    found = FoundLinks()
    seen: set[str] = set()
    for text in texts:
        for raw in _candidates(text.replace("\\/", "/")):
            share_id = _share_id(raw, policy or UrlPolicy(), media)
            if share_id is None:
                found.ignored += 1
            elif share_id in seen:
                found.repeats += 1
            else:
                seen.add(share_id)
                found.links.append(raw)
    return found


def _candidates(text: str) -> list[str]:
    spans = [(m.start(), m.group(0)) for m in _URL.finditer(text)]
    taken = [(start, start + len(url)) for start, url in spans]
    for match in _BARE.finditer(text):
        if not any(low <= match.start() < high for low, high in taken):
            spans.append((match.start(), match.group(0)))
    return [url.rstrip(_TRAILING) for _, url in sorted(spans)]


def _share_id(raw: str, policy: UrlPolicy, media: bool) -> str | None:
    try:
        return parse_share_url(raw, policy=policy, accept_media=media).share_id
    except BadInput:
        return None
