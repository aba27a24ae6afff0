"""The Wayback client core: CDX records and parsing, SURT keys, politeness, cache, client.

Layers, bottom up: ``cdx`` (pure parsing, no network), ``limiter`` (the process-wide request
budget per archive endpoint), ``cache`` (CDX answers on disk), ``query`` and ``options``
(frozen inputs), ``client`` (``WaybackClient``, the only module that talks to the network).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .cache import CdxCache, cache_key
    from .cdx import CdxAnswer, CdxRecord, parse_cdx, strip_query, surt
    from .client import WaybackClient
    from .limiter import ArchiveLimiter, Grant, limiter_for
    from .options import WaybackOptions
    from .query import CdxQuery, MatchType

# Loaded on first use: ``options`` imports ``archive.options`` for every run, and the client
# brings aiohttp with it.
__getattr__ = lazy_names(
    __name__,
    {
        "CdxCache": ".cache",
        "cache_key": ".cache",
        "CdxAnswer": ".cdx",
        "CdxRecord": ".cdx",
        "parse_cdx": ".cdx",
        "strip_query": ".cdx",
        "surt": ".cdx",
        "WaybackClient": ".client",
        "ArchiveLimiter": ".limiter",
        "Grant": ".limiter",
        "limiter_for": ".limiter",
        "WaybackOptions": ".options",
        "CdxQuery": ".query",
        "MatchType": ".query",
    },
)

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
