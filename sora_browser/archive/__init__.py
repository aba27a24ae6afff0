"""The Wayback client core: CDX records and parsing, SURT keys, politeness, cache, client.

Layers, bottom up: ``cdx`` (pure parsing, no network), ``limiter`` (the process-wide request
budget per archive endpoint), ``cache`` (CDX answers on disk), ``query`` and ``options``
(frozen inputs), ``client`` (``WaybackClient``, the only module that talks to the network).
"""

from __future__ import annotations

from .cache import CdxCache, cache_key
from .cdx import CdxAnswer, CdxRecord, parse_cdx, strip_query, surt
from .client import WaybackClient
from .limiter import ArchiveLimiter, Grant, limiter_for
from .options import WaybackOptions
from .query import CdxQuery, MatchType

__all__ = [
    "ArchiveLimiter",
    "CdxAnswer",
    "CdxCache",
    "CdxQuery",
    "CdxRecord",
    "Grant",
    "MatchType",
    "WaybackClient",
    "WaybackOptions",
    "cache_key",
    "limiter_for",
    "parse_cdx",
    "strip_query",
    "surt",
]
