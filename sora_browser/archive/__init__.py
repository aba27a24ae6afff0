"""The Wayback client core: CDX records and parsing, SURT keys (more layers to come)."""

from __future__ import annotations

from .cdx import CdxAnswer, CdxRecord, parse_cdx, strip_query, surt

__all__ = ["CdxAnswer", "CdxRecord", "parse_cdx", "strip_query", "surt"]
