"""Pure parsers: page text in, candidate media URLs out. No network, no files.

(Skeleton: the contract other modules code against. See the foundation issue.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


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


def find_candidates(html: str, base_url: str) -> list[Candidate]:
    """Every media candidate in an HTML page, by every strategy, in document order."""
    raise NotImplementedError


def candidates_from_json(text: str, base_url: str, *, strategy: str = "json") -> list[Candidate]:
    """Candidates in a JSON document (e.g. the post JSON a browser saw on the network)."""
    raise NotImplementedError


def rank_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """Usable candidates, best first; thumbnails, gifs, spritesheets, posters dropped."""
    raise NotImplementedError


def classify_page(status: int, headers: dict[str, str], text: str) -> PageState:
    """What kind of page this is: the real thing, gone, a login wall or a bot challenge."""
    raise NotImplementedError


def page_title(html: str) -> str | None:
    """The page's own title for the video (og:title, <title>, prompt), unescaped."""
    raise NotImplementedError
