"""CDN routes of the fixture site (skeleton; the downloader work fills it in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .site import FixtureSite


def add_routes(site: FixtureSite) -> None:
    """Register CDN routes on ``site.app``."""
