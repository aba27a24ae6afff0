"""Share pages and media URLs shaped like real Sora ones, with real host names, for archives.

Where the shapes come from (DESIGN.md "What real Sora looks like" and "Shapes seen in real
captures", late 2025 to early 2026):

- Sora 2 post pages: ``og:title`` "<username> on Sora", ``og:video`` naming the
  videos.openai.com URL (``&amp;`` inside attributes), and the post JSON inside Next.js flight
  pushes ``self.__next_f.push([1,"..."])``, escaped as ``\\u0026`` and ``\\/``.
- Sora 1 generation pages (``/g/gen_...``): only ``og:image`` in the head, the generation
  JSON in flight pushes, media under ``/vg-assets/assets%2Ftask_...%2Fsrc.mp4``.
- Media URLs carry an Azure SAS query whose ``sig`` is base64, so it holds ``%2B``, ``%2F``
  and ``%3D``; a URL is built once as text and never decoded or re-encoded afterwards.

Unlike ``media.signed_url`` (the live fixture CDN's URLs, checked by its HMAC) these URLs are
fixed by their inputs: the same page visit always names the same URL, as an archive holds it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from .media import FakeVideo

MEDIA_HOST = "https://videos.openai.com"
SAS_VERSION = "2024-08-04"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def hex_id(seed: str, length: int = 32) -> str:
    """A stable hex token, e.g. the 32 hex digits of an ``s_`` post id."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def ulid_id(seed: str) -> str:
    """A stable 26-character lower-case ULID-like token (``gen_01...``, ``task_01...``)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "01" + "".join(_CROCKFORD[byte % 32] for byte in digest[:24])


def source_path(video: FakeVideo) -> str:
    """The media path of a video's source rendition, still percent-encoded.

    Sora 2: ``/az/files/<uuid>%2Fraw`` (the fixture CDN's own path). Sora 1:
    ``/vg-assets/assets%2Ftask_...%2Fvideos%2F00000%2Fsrc.mp4``, which the fixture CDN names
    ``<name>.mp4`` instead, so it is built here.
    """
    if video.style != "vg":
        return video.path
    task = "task_" + ulid_id(video.name)
    return "/vg-assets/" + quote(f"assets/{task}/videos/00000/src.mp4", safe="")


def derived_path(video: FakeVideo, rendition: str) -> str:
    """``/az/files/<15 hex>_<uuid>%2Fdrvs%2F<rendition>%2Fraw`` (md, ld, thumbnail, gif)."""
    token = uuid.uuid5(uuid.NAMESPACE_URL, video.name)
    prefix = hex_id(video.name + rendition, 15)
    return "/az/files/" + quote(f"{prefix}_{token}/drvs/{rendition}/raw", safe="")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sas_url(path: str, *, signed: str, vg: bool = False) -> str:
    """The media URL a page visit at ``signed`` (14 digits) named for ``path``.

    Each visit signs anew, so two visits name two URLs that differ only in the query.
    """
    start = datetime.strptime(signed, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    expiry = start + timedelta(days=3)
    key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "skoid" + signed))
    mac = hashlib.sha256(f"{path}\n{_iso(expiry)}\n{key_id}".encode()).digest()
    sig = base64.b64encode(mac).decode("ascii")
    tenant = str(uuid.uuid5(uuid.NAMESPACE_URL, "tenant"))
    query = [("se", _iso(expiry)), ("sp", "r"), ("sv", SAS_VERSION), ("sr", "b")]
    key = [("skoid", key_id), ("sktid", tenant), ("skt", _iso(start)), ("ske", _iso(expiry))]
    key += [("sks", "b"), ("skv", SAS_VERSION)]
    if vg:
        query = [("st", _iso(start)), *query, *key, ("spr", "https,http"), ("sig", sig)]
    else:
        query = [*query, *key, ("sig", sig), ("ac", "oaisdsorprwestus2")]
    return MEDIA_HOST + path + "?" + urlencode(query)


# -- post JSON --------------------------------------------------------------------------------


def post_json(
    share_id: str,
    *,
    username: str,
    prompt: str,
    encodings: dict[str, str],
    tombstoned_at: str | None = None,
) -> dict[str, Any]:
    """``{post, profile}`` as ``/backend/project_y/post/<id>`` and the page's flight held it.

    ``encodings`` maps rendition names to URLs, in the order the page lists them. A removed
    post (``tombstoned_at`` set) has no attachment left.
    """
    post = {
        "id": share_id,
        "text": prompt,
        "attachments": [] if tombstoned_at else [_attachment(share_id, prompt, encodings)],
        "permissions": {"can_read": not tombstoned_at, "share_setting": "public"},
        "tombstoned_at": tombstoned_at,
        "post_locations": ["public_feed"],
        "preview_image_url": encodings.get("thumbnail"),
    }
    profile = {
        "user_id": "user-" + hex_id(username, 24),
        "username": username,
        "permalink": f"https://sora.chatgpt.com/profile/{username}",
    }
    return {"post": post, "profile": profile}


def _attachment(share_id: str, prompt: str, encodings: dict[str, str]) -> dict[str, Any]:
    main = encodings.get("source", next(iter(encodings.values()), None))
    return {
        "id": f"{share_id}-attachment-0",
        "kind": "sora",
        "generation_id": "gen_" + ulid_id(share_id),
        "url": main,
        "downloadable_url": main,
        "width": 704,
        "height": 1280,
        "n_frames": 300,
        "prompt": prompt,
        "encodings": {**{k: {"path": v} for k, v in encodings.items()}, "unfurl": None},
    }


# -- pages ------------------------------------------------------------------------------------


def flight_push(row: str) -> str:
    """One ``self.__next_f.push([1,"..."])`` script holding ``row`` as Next.js escapes it."""
    text = json.dumps(row)[1:-1]  # the body of a JS string literal: \" and \n escaped
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace("/", "\\/")
    return f'<script>self.__next_f.push([1,"{text}"])</script>'


_FLIGHT_HEAD = "<script>(self.__next_f=self.__next_f||[]).push([0])</script>\n" + flight_push(
    '1:"$Sreact.fragment"\n2:I[39756,["8039","static/chunks/app/layout-4b1f.js"],"default"]\n'
    '3:I[61234,["1201","static/chunks/app/p/%5Bpost_id%5D/page-77aa.js"],"PostPage"]\n'
)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)  # & becomes &amp; as in real attributes


def post_page(data: dict[str, Any], *, og_video: str | None) -> str:
    """A Sora 2 ``/p/s_...`` page for ``data`` (see ``post_json``).

    The flight row is split in two pushes before ``"profile"``, as real pages split chunks
    wherever the stream flushed.
    """
    username = data["profile"]["username"]
    title = "Sora" if data["post"]["tombstoned_at"] else f"{username} on Sora"
    row = '4:["$","$L3",null,{"initialPost":' + json.dumps(data, separators=(",", ":")) + "}]\n"
    cut = row.index('"profile":')
    meta = [f'<meta property="og:title" content="{_attr(title)}">']
    meta.append(f'<meta property="og:description" content="{_attr(data["post"]["text"])}">')
    if og_video is not None:
        meta.append(f'<meta property="og:video" content="{_attr(og_video)}">')
        meta.append('<meta property="og:video:type" content="video/mp4">')
    return _document(title, meta, [flight_push(row[:cut]), flight_push(row[cut:])])


def generation_page(gen_id: str, *, media_url: str, thumbnail_url: str, prompt: str) -> str:
    """A Sora 1 ``/g/gen_...`` page: ``og:image`` only, the generation JSON in flight."""
    generation = {
        "id": gen_id,
        "task_id": "task_" + ulid_id(gen_id),
        "created_at": "2025-03-02T11:04:51Z",
        "width": 480,
        "height": 480,
        "n_frames": 150,
        "prompt": prompt,
        "url": media_url,
        "encodings": {"source": {"path": media_url}, "thumbnail": {"path": thumbnail_url}},
    }
    row = "6:" + json.dumps({"generation": generation}, separators=(",", ":")) + "\n"
    meta = [f'<meta property="og:image" content="{_attr(thumbnail_url)}">']
    return _document("Sora", meta, [flight_push(row)])


def _document(title: str, meta: list[str], pushes: list[str]) -> str:
    head = "\n".join(
        [
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            *meta,
            '<link rel="preload" as="script" href="/_next/static/chunks/webpack-5c2e1f.js">',
        ]
    )
    body = "\n".join(['<main id="main"></main>', _FLIGHT_HEAD, *pushes])
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{head}\n</head>\n'
        f'<body class="bg-black">\n{body}\n</body>\n</html>\n'
    )
