"""The browser resolver: a real headless Chromium driven by Playwright.

``resolver`` (``BrowserResolver``: one resolution per fresh context), ``capture`` (what one
resolution sees on the network and in the page), ``drive`` (waiting, clicking, reading the
DOM), ``document`` (the main document, fetched under the size cap), ``gate`` (the proxy every
connection of the browser passes, policy-checked), ``har`` (replay and recording),
``launch`` (finding and sharing one Chromium per process, and Playwright's errors
translated), ``scripts`` (what runs inside the page).

``BrowserResolver`` loads on first use: ``launch`` is imported before Chromium starts in a
browser-only run, and importing the resolver (with ``errors`` and aiohttp) here would put that
cost back in front of the launch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_names

if TYPE_CHECKING:
    from .resolver import BrowserResolver

__all__ = ["BrowserResolver"]
__getattr__ = lazy_names(__name__, {"BrowserResolver": ".resolver"})
