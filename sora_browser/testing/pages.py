"""Share-page routes of the fixture site, driven by the templates in ``testing/pages``.

Every ``testing/pages/<stem>.html`` is one page. Its first line is a comment naming the
real-world shape it mirrors; its second line declares how it is served::

    <!-- fixture: path=/p/s_<32 hex>; status=403; headers=cf-mitigated: challenge | Server: x -->

Fields are ``key=value`` separated by ``;`` (values cannot contain ``;``):

``path``           the share path served (required), e.g. ``/p/s_...``, ``/g/gen_...``
``status``         HTTP status (default 200)
``headers``        extra response headers, ``Name: value`` separated by ``|``
``post``           a JSON file beside the template, served (rendered the same way) at
                   ``/backend/project_y/post/<id>`` where ``<id>`` is the path's last segment
``redirect_from``  paths that answer ``301`` to ``path`` (``|``-separated)
``media_host``     render media URLs on this host name instead of the site's address (same
                   port), e.g. ``localhost`` for URLs the URL policy must refuse

Every page also answers ``301`` at ``path + "/"``. Templates are re-rendered on each request,
so signatures are always fresh. The metadata line is not served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler

from .media import render_template

if TYPE_CHECKING:
    from .site import FixtureSite

POST_JSON_PATH = "/backend/project_y/post/"
_META_LINE = re.compile(r"^[ \t]*<!--\s*fixture:(.*?)-->[ \t]*\r?\n?", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FixturePage:
    name: str
    """The template's file stem, e.g. ``og_video``."""
    path: str
    template: str
    """The template text without its metadata line."""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    post: str | None = None
    """Post JSON template text, when the page declares one."""
    redirect_from: tuple[str, ...] = ()
    media_host: str | None = None

    @property
    def share_id(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


def parse_metadata(text: str) -> dict[str, str]:
    """The ``fixture:`` fields of a template, or ``{}`` when it has none."""
    match = _META_LINE.search(text)
    if match is None:
        return {}
    fields = (part.split("=", 1) for part in match.group(1).split(";") if "=" in part)
    return {key.strip(): value.strip() for key, value in fields}


def load_page(file: Path) -> FixturePage:
    """Read one template and its metadata; ``ValueError`` if it declares no path."""
    text = file.read_text(encoding="utf-8")
    meta = parse_metadata(text)
    if not meta.get("path", "").startswith("/"):
        raise ValueError(f"{file.name}: missing '<!-- fixture: path=/...; ... -->' line")
    post = meta.get("post")
    return FixturePage(
        name=file.stem,
        path=meta["path"],
        template=_META_LINE.sub("", text, count=1),
        status=int(meta.get("status", "200")),
        headers=tuple(_split_header(h) for h in _list(meta.get("headers"))),
        post=(file.parent / post).read_text(encoding="utf-8") if post else None,
        redirect_from=tuple(_list(meta.get("redirect_from"))),
        media_host=meta.get("media_host") or None,
    )


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split("|") if item.strip()]


def _split_header(text: str) -> tuple[str, str]:
    name, _, value = text.partition(":")
    return name.strip(), value.strip()


def load_pages(pages_dir: Path) -> dict[str, FixturePage]:
    """Every page template in ``pages_dir``, by file stem."""
    files = sorted(pages_dir.glob("*.html"))
    return {page.name: page for page in map(load_page, files)}


def render_page(site: FixtureSite, page: FixturePage, text: str | None = None) -> str:
    """``text`` (the page template by default) with fresh signed URLs for this site."""
    media_base = site.url
    if page.media_host:
        media_base = f"http://{page.media_host}:{site.port}"
    return render_template(
        page.template if text is None else text,
        site=site.url,
        media_base=media_base,
        secret=site.secret,
        videos=site.videos,
    )


def add_routes(site: FixtureSite) -> None:
    """Register share-page routes on ``site.app``."""
    for page in load_pages(site.pages_dir).values():
        router = site.app.router
        router.add_get(page.path, _page_handler(site, page))
        for alias in (page.path + "/", *page.redirect_from):
            router.add_get(alias, _redirect_handler(site, page.path))
        if page.post is not None:
            # An exact path: other modules may serve the same prefix for any other id.
            router.add_get(POST_JSON_PATH + page.share_id, _post_handler(site, page))


def _record(site: FixtureSite, request: web.Request) -> None:
    site.stats.add_request(request.method, request.raw_path, dict(request.headers))


def _page_handler(site: FixtureSite, page: FixturePage) -> Handler:
    headers = dict(page.headers)

    async def handle(request: web.Request) -> web.Response:
        _record(site, request)
        body = render_page(site, page)
        return web.Response(
            text=body, status=page.status, headers=headers, content_type="text/html"
        )

    return handle


def _post_handler(site: FixtureSite, page: FixturePage) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        _record(site, request)
        body = render_page(site, page, page.post)
        return web.Response(text=body, content_type="application/json")

    return handle


def _redirect_handler(site: FixtureSite, target: str) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        _record(site, request)
        location = target + (f"?{request.query_string}" if request.query_string else "")
        raise web.HTTPMovedPermanently(location)

    return handle


def share_urls(site: FixtureSite) -> dict[str, str]:
    """Page name -> share URL on this site, for every fixture page."""
    return {name: site.url + page.path for name, page in load_pages(site.pages_dir).items()}


def share_url(site: FixtureSite, name: str) -> str:
    """The share URL of the page from ``testing/pages/<name>.html`` on this site."""
    page = load_pages(site.pages_dir).get(name)
    if page is None:
        raise KeyError(f"no fixture page {name!r} in {site.pages_dir}")
    return site.url + page.path
