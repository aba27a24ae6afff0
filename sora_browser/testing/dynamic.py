"""Fixture-site endpoints that JavaScript-driven pages need, beyond static templates.

- ``/backend/project_y/post/{post_id}``: the post JSON Sora's web app fetches after load, in
  the shape Sora used (``post.attachments[].encodings.{source,md,ld,thumbnail,...}.path``;
  docs/ARCHITECTURE.md, "Facts the code relies on"), with freshly signed CDN URLs on this site.
- ``/backend/blob-src/{post_id}``: the media URL, base64-encoded as ``application/octet-stream``,
  so a page can fetch the video into a ``blob:`` URL that no parser can see in any text.
- ``/p/s_<CHALLENGE_ID>``: a Cloudflare-style interstitial (``403``, ``cf-mitigated: challenge``,
  title "Just a moment...") whose script sets ``cf_clearance`` and reloads; with the cookie the
  real page is served, so only a browser gets through, as on sora.chatgpt.com.
- ``/internal/secret``: counts hits. Pages that must be blocked by the URL policy aim at it
  through refused host names (``localhost``, ``127.0.0.2``), so a leak would show as a hit.

The JS-driven pages themselves are templates in ``testing/pages/js_*.html``.
"""

from __future__ import annotations

import base64
import json
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .media import render_template, signed_url

if TYPE_CHECKING:
    from .site import FixtureSite

CHALLENGE_ID = "s_c4a11e09e0000000000000000000c0de"
CLEARANCE_COOKIE = "cf_clearance"
POST_TITLE = "A paper boat drifting down a rain-soaked street at dusk"

# Cloudflare's interstitial, trimmed: the title, the ``_cf_chl_opt`` config object and a
# script that, once "solved", stores the clearance cookie and reloads the same URL.
CHALLENGE_HTML = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="360"></head><body><div class="main-wrapper">
<h1>sora.chatgpt.com</h1><p>Verifying you are human. This may take a few seconds.</p></div>
<script>window._cf_chl_opt = {cvId: "3", cType: "managed", cRay: "8f00000000000000"};
setTimeout(function () {
  document.cookie = "cf_clearance=ok-fixture; path=/; SameSite=Lax";
  location.reload();
}, 150);</script></body></html>"""

# The page behind the challenge: a plain server-rendered player, as the real one is once the
# browser holds ``cf_clearance``.
CLEARED_HTML = """<!DOCTYPE html><html><head><title>{title} | Sora</title>
<meta property="og:title" content="{title}"></head><body>
<video controls playsinline src="{{{{media:source|html}}}}"></video></body></html>"""


@dataclass
class DynamicState:
    secret_hits: int = 0
    post_fetches: int = 0


def add_routes(site: FixtureSite) -> None:
    """Register the dynamic endpoints on ``site.app``; ``state_of(site)`` counts their hits."""
    _STATES[site] = DynamicState()
    router = site.app.router
    router.add_get("/backend/project_y/post/{post_id}", _bound(site, _post_json))
    router.add_get("/backend/blob-src/{post_id}", _bound(site, _blob_src))
    router.add_get(f"/p/{CHALLENGE_ID}", _bound(site, _challenge))
    router.add_get("/internal/secret", _bound(site, _secret))


def state_of(site: FixtureSite) -> DynamicState:
    return _STATES[site]


_STATES: weakref.WeakKeyDictionary[FixtureSite, DynamicState] = weakref.WeakKeyDictionary()
_SiteHandler = Callable[["FixtureSite", web.Request], Awaitable[web.Response]]


def _bound(site: FixtureSite, handler: _SiteHandler) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        site.stats.add_request(request.method, request.raw_path, dict(request.headers))
        return await handler(site, request)

    return handle


def post_json(site: FixtureSite, post_id: str) -> dict[str, Any]:
    """The post JSON for ``post_id``: every encoding Sora lists, each freshly signed."""

    def encoding(name: str, width: int, height: int) -> dict[str, Any]:
        url = signed_url(site.url, site.videos[name], secret=site.secret)
        return {"path": url, "width": width, "height": height}

    attachment = {
        "id": f"att_{post_id}",
        "kind": "sora_video",
        "width": 1280,
        "height": 720,
        "n_frames": 300,
        "prompt": POST_TITLE,
        "encodings": {
            "source": encoding("source", 1280, 720),
            "source_wm": encoding("source_wm", 1280, 720),
            "md": encoding("md", 854, 480),
            "ld": encoding("ld", 640, 360),
            "thumbnail": encoding("thumbnail", 640, 360),
            "gif": encoding("gif", 320, 180),
        },
    }
    return {"post": {"id": post_id, "text": POST_TITLE, "attachments": [attachment]}}


async def _post_json(site: FixtureSite, request: web.Request) -> web.Response:
    state_of(site).post_fetches += 1
    body = post_json(site, request.match_info["post_id"])
    return web.json_response(body, headers={"Cache-Control": "no-store"}, dumps=json.dumps)


async def _blob_src(site: FixtureSite, request: web.Request) -> web.Response:
    url = signed_url(site.url, site.videos["source"], secret=site.secret)
    return web.Response(
        body=base64.b64encode(url.encode()), content_type="application/octet-stream"
    )


async def _challenge(site: FixtureSite, request: web.Request) -> web.Response:
    if request.cookies.get(CLEARANCE_COOKIE):
        page = CLEARED_HTML.format(title=POST_TITLE)
        html = render_template(
            page, site=site.url, media_base=site.url, secret=site.secret, videos=site.videos
        )
        return web.Response(text=html, content_type="text/html")
    return web.Response(
        text=CHALLENGE_HTML,
        status=403,
        content_type="text/html",
        headers={"cf-mitigated": "challenge", "Cache-Control": "no-store"},
    )


async def _secret(site: FixtureSite, request: web.Request) -> web.Response:
    state_of(site).secret_hits += 1
    return web.Response(text="the URL policy should have stopped this request")
