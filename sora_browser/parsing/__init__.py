"""Pure parsers: page text in, candidate media URLs out. No network, no files.

- ``strategies``: ``find_candidates`` runs every strategy in ``STRATEGIES`` (og:video,
  ``<video>``, ``<source>``, JSON-LD, ``__NEXT_DATA__``, Next.js flight pushes, script JSON,
  script URLs) over an HTML page; ``candidates_from_json`` reads a JSON body (the post JSON a
  browser sees on the network).
- ``ranking``: ``rank_candidates`` drops images and duplicates and puts the best video first.
- ``classify``: ``classify_page`` tells a real page from a gone page, a login wall or a
  Cloudflare challenge; ``page_title``.
- ``metadata``: ``page_post_info``, what a page says besides the URL (prompt, creator, ids).
- ``embedded``: JSON and URLs wherever a page hides them, and Sora's ``encodings`` blocks.
- ``candidates``: ``Candidate``, the ranking vocabulary, the one "looks like a video" rule, and
  unescaping (``%2F`` is never decoded: the CDN signs the path with it).
"""

from .candidates import (
    Candidate,
    decode_js_string,
    looks_like_video,
    unescape_html,
    unescape_url,
)
from .classify import PageState, classify_page, is_login_url, page_title, post_state
from .embedded import json_values, scan_text, walk_json
from .identity import page_share_url
from .metadata import PostInfo, json_post_info, page_post_info
from .ranking import QUALITIES, prefer, rank_candidates
from .strategies import STRATEGIES, candidates_from_json, find_candidates

__all__ = [
    "QUALITIES",
    "STRATEGIES",
    "Candidate",
    "PageState",
    "PostInfo",
    "candidates_from_json",
    "classify_page",
    "decode_js_string",
    "find_candidates",
    "is_login_url",
    "json_post_info",
    "json_values",
    "looks_like_video",
    "page_post_info",
    "page_share_url",
    "page_title",
    "post_state",
    "prefer",
    "rank_candidates",
    "scan_text",
    "unescape_html",
    "unescape_url",
    "walk_json",
]
