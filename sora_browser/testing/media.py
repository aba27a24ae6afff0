"""Fake media for the fixture site: deterministic MP4-like bodies and Azure-SAS-like signed URLs.

Real Sora media URLs (docs/ARCHITECTURE.md, "Facts the code relies on") look like
``https://videos.openai.com/az/files/<uuid>%2Fraw?se=...&sp=r&sv=...&sr=b&sig=...`` (Sora 2) and
``https://videos.openai.com/vg-assets/assets%2Ftask_...%2Fvideos%2F00000%2Fsrc.mp4?st=...&se=...``
(Sora 1). The fixture CDN serves the same shapes; ``sig`` is an HMAC over the path and ``se`` so
an altered or expired URL gets the real CDN's ``403 AuthenticationFailed`` answer.

Fixture pages are templates. ``render_template`` expands:
  ``{{site}}``                 the site origin (``http://127.0.0.1:PORT``)
  ``{{media:NAME}}``           a freshly signed URL for video NAME, raw
  ``{{media:NAME|html}}``      ... with ``&`` as ``&amp;`` (inside attributes)
  ``{{media:NAME|js}}``        ... with ``&`` as ``\\u0026`` and ``/`` as ``\\/`` (JSON in scripts)
  ``{{media:NAME|u002f}}``     ... with ``&`` as ``\\u0026`` and ``/`` as ``\\u002F``
  ``{{media:NAME|jsjs}}``      ... escaped twice (JSON inside a JS string inside JSON)
  ``{{media:NAME|rel}}``       ... as a root-relative ``/path?query``, ``&amp;``-escaped
  ``{{media:NAME|proto}}``     ... protocol-relative ``//host/path?query``, ``&amp;``-escaped
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

DEFAULT_SECRET = b"sora-browser-fixture-cdn"
SAS_VERSION = "2024-08-04"


@dataclass(frozen=True, slots=True)
class FakeVideo:
    name: str
    size: int
    style: str = "az"
    """``az`` (Sora 2, ``.../raw``), ``vg`` (Sora 1, ``.../videos/00000/NAME.mp4``), ``vg_wm``
    (the watermarked file, ``.../videos/00000_wm/src.mp4``) or ``drvs`` (a derived rendition,
    ``<15 hex>_<uuid>/drvs/<md|ld>/raw``, the rendition being the name's last ``_`` part)."""
    content_type: str = "video/mp4"

    @property
    def path(self) -> str:
        token = uuid.uuid5(uuid.NAMESPACE_URL, self.name)
        task = f"task_{token.hex[:26]}"
        if self.style == "vg":
            return "/vg-assets/" + quote(f"assets/{task}/videos/00000/{self.name}.mp4", safe="")
        if self.style == "vg_wm":
            return "/vg-assets/" + quote(f"assets/{task}/videos/00000_wm/src.mp4", safe="")
        if self.style == "drvs":
            rendition = self.name.rsplit("_", 1)[-1]
            return "/az/files/" + quote(f"{token.hex[:15]}_{token}/drvs/{rendition}/raw", safe="")
        return "/az/files/" + quote(f"{token}/raw", safe="")


# Videos the fixture CDN knows. Sizes are small so tests are quick; benchmarks register their own.
VIDEOS: dict[str, FakeVideo] = {
    v.name: v
    for v in (
        FakeVideo("source", 2 * 1024 * 1024 + 12345),
        FakeVideo("source_wm", 2 * 1024 * 1024 + 777),
        FakeVideo("md", 1024 * 1024 + 5),
        FakeVideo("ld", 512 * 1024 + 9),
        FakeVideo("sora1", 1536 * 1024 + 3, style="vg"),
        FakeVideo("thumbnail", 40 * 1024, content_type="image/jpeg"),
        FakeVideo("gif", 60 * 1024, content_type="image/gif"),
        # The shapes of DESIGN.md's real captures: an app session's clean source beside its
        # ``_wm`` copy, a web session's lone ``_wm`` file, derived renditions under ``drvs``.
        FakeVideo("app_source", 2 * 1024 * 1024 + 101, style="vg"),
        FakeVideo("app_source_wm", 2 * 1024 * 1024 + 202, style="vg_wm"),
        FakeVideo("web_wm", 2 * 1024 * 1024 + 303, style="vg_wm"),
        FakeVideo("drvs_md", 1024 * 1024 + 404, style="drvs"),
        FakeVideo("drvs_ld", 512 * 1024 + 505, style="drvs"),
    )
}


def mp4_header(size: int) -> bytes:
    """A minimal ISO-BMFF start: an ``ftyp`` box, then an ``mdat`` box covering the rest."""
    ftyp = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    mdat_size = max(size - len(ftyp), 8)
    return ftyp + mdat_size.to_bytes(4, "big") + b"mdat"


def video_bytes(video: FakeVideo, start: int = 0, end: int | None = None) -> bytes:
    """Bytes ``[start, end)`` of the deterministic body of ``video``."""
    full = _full_body(video.name, video.size, video.content_type)
    return full[start : video.size if end is None else end]


_BODY_CACHE: dict[tuple[str, int], bytes] = {}


def _full_body(name: str, size: int, content_type: str) -> bytes:
    key = (name, size)
    if key not in _BODY_CACHE:
        head = mp4_header(size) if content_type == "video/mp4" else b"\xff\xd8\xff\xe0"
        rest = random.Random(name).randbytes(max(size - len(head), 0))
        _BODY_CACHE[key] = (head + rest)[:size]
    return _BODY_CACHE[key]


def sha256_of(video: FakeVideo) -> str:
    return hashlib.sha256(video_bytes(video)).hexdigest()


def _signature(path: str, expiry: str, secret: bytes, key_id: str = "") -> str:
    message = f"{path}\n{expiry}\n{key_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:43]


def signed_url(
    base: str,
    video: FakeVideo,
    *,
    expires_at: datetime | None = None,
    secret: bytes = DEFAULT_SECRET,
) -> str:
    """A CDN URL for ``video`` with an Azure-SAS-like query.

    Without ``expires_at`` every call signs anew with its own key id (``skoid``, as real
    user-delegation SAS URLs carry), so two links signed within the same second still differ
    and revoking one does not revoke the other. With ``expires_at`` the URL is deterministic,
    for tests that compare URLs.
    """
    now = datetime.now(tz=UTC)
    expiry = (expires_at or now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = {"st": start, "se": expiry, "sp": "r", "sv": SAS_VERSION, "sr": "b"}
    key_id = "" if expires_at is not None else str(uuid.uuid4())
    if key_id:
        query["skoid"] = key_id
    query["sig"] = _signature(video.path, expiry, secret, key_id)
    if video.style == "az":
        del query["st"]
    return base.rstrip("/") + video.path + "?" + urlencode(query)


def check_signature(
    raw_path: str, query: str, *, secret: bytes = DEFAULT_SECRET, now: datetime | None = None
) -> str:
    """``"ok"``, ``"expired"`` or ``"invalid"`` for a request's raw path and query."""
    params = parse_qs(query)
    expiry = params.get("se", [""])[0]
    sig = params.get("sig", [""])[0]
    expected = _signature(raw_path, expiry, secret, params.get("skoid", [""])[0])
    if not expiry or not hmac.compare_digest(sig, expected):
        return "invalid"
    moment = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return "ok" if moment > (now or datetime.now(tz=UTC)) else "expired"


AUTH_FAILED_BODY = (
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
    "<Message>Server failed to authenticate the request. Make sure the value of Authorization "
    "header is formed correctly including the signature.</Message></Error>"
)

_ESCAPES: dict[str, Callable[[str], str]] = {
    "raw": lambda u: u,
    "html": lambda u: u.replace("&", "&amp;"),
    "js": lambda u: u.replace("&", "\\u0026").replace("/", "\\/"),
    "u002f": lambda u: u.replace("&", "\\u0026").replace("/", "\\u002F"),
    "jsjs": lambda u: u.replace("&", "\\\\u0026").replace("/", "\\\\/"),
    # Relative and protocol-relative forms, &amp;-escaped for attributes (pages.py, parsing).
    "rel": lambda u: ("/" + u.split("/", 3)[3]).replace("&", "&amp;"),
    "proto": lambda u: u.split(":", 1)[1].replace("&", "&amp;"),
}
_PLACEHOLDER = re.compile(r"\{\{(site|media:([A-Za-z0-9_]+)(?:\|([a-z0-9]+))?)\}\}")


def render_template(
    text: str,
    *,
    site: str,
    media_base: str,
    secret: bytes = DEFAULT_SECRET,
    expires_at: datetime | None = None,
    videos: dict[str, FakeVideo] | None = None,
) -> str:
    """Expand ``{{site}}`` and ``{{media:NAME|ESC}}`` placeholders (module docstring)."""
    known = videos if videos is not None else VIDEOS

    def expand(match: re.Match[str]) -> str:
        if match.group(1) == "site":
            return site
        video = known[match.group(2)]
        url = signed_url(media_base, video, expires_at=expires_at, secret=secret)
        return _ESCAPES[match.group(3) or "raw"](url)

    return _PLACEHOLDER.sub(expand, text)


def media_path_of(url: str) -> str:
    """The raw (still percent-encoded) path of a media URL."""
    return urlsplit(url).path


def write_video_file(path: Path, video: FakeVideo, *, chunk: int = 4 * 1024 * 1024) -> str:
    """Write a deterministic MP4-like body of ``video.size`` bytes; return its sha256.

    For benchmark-sized videos: generated and hashed chunk by chunk, never whole in memory
    (unlike ``video_bytes``, whose body differs). Serve it with ``site.cdn.add_file_video``.
    """
    rng = random.Random(video.name)
    digest = hashlib.sha256()
    with path.open("wb") as file:
        done = 0
        while done < video.size:
            data = mp4_header(video.size) if done == 0 else rng.randbytes(chunk)
            data = data[: video.size - done]
            file.write(data)
            digest.update(data)
            done += len(data)
    return digest.hexdigest()
