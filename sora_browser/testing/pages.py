"""Share-page routes of the fixture site (skeleton; the parser work fills it in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .site import FixtureSite


def add_routes(site: FixtureSite) -> None:
    """Register share-page routes on ``site.app``."""


def share_urls(site: FixtureSite) -> dict[str, str]:
    """Page name -> share URL on this site, for every fixture page."""
    return {}
