"""CDN routes of the fixture site: ``/az/files/...`` and ``/vg-assets/...`` like videos.openai.com.

Behaviour mirrors Azure Blob Storage as the real CDN exposes it: a SAS signature check (an
expired or altered ``sig`` gets ``403`` with an XML ``AuthenticationFailed`` body), single-range
``Range`` requests answered ``206`` with ``Content-Range`` (``416`` with ``bytes */SIZE`` when
unsatisfiable), strong ``ETag`` and ``Last-Modified`` validators, ``If-Range`` and ``HEAD``.

Tests script faults per video; each request to that video consumes the next one::

    site.cdn.script("source", [Fault.status(503), Fault.drop_after(fraction=1 / 3)])
    site.cdn.configure("source", no_range=True, throttle=2 * MiB)   # persistent modes
    site.cdn.configure("source", link_rate=8 * MiB)   # all connections together, like a downlink

``site.cdn.reset()`` (run between tests by ``conftest.py``) clears scripts and modes.
Videos are matched on the request's raw, still percent-encoded path (``%2F`` stays ``%2F``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from .media import AUTH_FAILED_BODY, FakeVideo, check_signature, video_bytes

if TYPE_CHECKING:
    from .site import FixtureSite

CHUNK = 256 * 1024
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
HTML_BODY = b"<!DOCTYPE html><html><head><title>Error</title></head><body>Oops</body></html>"


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour, consumed by one request. Build with the class methods."""

    kind: str
    status_code: int = 0
    retry_after: float | None = None
    fraction: float = 0.0
    rate: float = 0.0

    @classmethod
    def ok(cls) -> Fault:
        """No fault: serve this request normally (to aim a later fault at a later request)."""
        return cls("ok")

    @classmethod
    def status(cls, code: int, *, retry_after: float | None = None) -> Fault:
        """Answer ``code`` with a small body (``Retry-After`` when given)."""
        return cls("status", status_code=code, retry_after=retry_after)

    @classmethod
    def drop_after(cls, *, fraction: float) -> Fault:
        """Send that fraction of the answer's body, then reset the connection."""
        return cls("drop", fraction=fraction)

    @classmethod
    def truncate(cls, *, fraction: float) -> Fault:
        """Announce the full length, send that fraction, then close cleanly."""
        return cls("truncate", fraction=fraction)

    @classmethod
    def expire_after(cls, *, fraction: float) -> Fault:
        """Send that fraction, drop, and from now on refuse the signature used (403)."""
        return cls("expire", fraction=fraction)

    @classmethod
    def auth_failed(cls) -> Fault:
        """403 ``AuthenticationFailed`` whatever the signature says."""
        return cls("auth")

    @classmethod
    def html(cls) -> Fault:
        """200 with an HTML page where the video should be."""
        return cls("html")

    @classmethod
    def no_content_length(cls) -> Fault:
        """The whole body, chunked, without ``Content-Length`` (and ignoring ``Range``)."""
        return cls("no_length")

    @classmethod
    def no_range(cls) -> Fault:
        """Ignore ``Range``: 200 with the whole body."""
        return cls("no_range")

    @classmethod
    def unknown_total(cls) -> Fault:
        """Answer a range with ``Content-Range: bytes A-B/*`` (size not disclosed)."""
        return cls("unknown_total")

    @classmethod
    def etag_change(cls) -> Fault:
        """The blob is replaced before this request: new ``ETag`` and ``Last-Modified``."""
        return cls("etag_change")

    @classmethod
    def throttle(cls, bytes_per_sec: float) -> Fault:
        """Serve this request at most at that rate."""
        return cls("throttle", rate=bytes_per_sec)


@dataclass
class _VideoState:
    script: collections.deque[Fault] = field(default_factory=collections.deque)
    no_range: bool = False
    throttle: float | None = None
    link_rate: float | None = None
    link_free_at: float = 0.0
    """When the shared link can send its next byte (``link_rate``)."""
    version: int = 0
    revoked: set[str] = field(default_factory=set)


class CdnControl:
    """Per-video scripts and modes of the fixture CDN (see the module docstring)."""

    def __init__(self, site: FixtureSite) -> None:
        self._site = site
        self._states: dict[str, _VideoState] = collections.defaultdict(_VideoState)
        self.files: dict[str, Path] = {}
        """Videos served from a file on disk (big benchmark bodies) instead of memory."""

    def script(self, name: str, faults: Iterable[Fault]) -> None:
        self._states[name].script.extend(faults)

    def configure(
        self,
        name: str,
        *,
        no_range: bool | None = None,
        throttle: float | None = None,
        link_rate: float | None = None,
    ) -> None:
        """Persistent modes: ``no_range``, a per-connection ``throttle`` in bytes/s (as CDNs
        and archive replays pace each connection), and a ``link_rate`` all connections share
        (a downlink: more connections do not make it faster)."""
        state = self._states[name]
        if no_range is not None:
            state.no_range = no_range
        if throttle is not None:
            state.throttle = throttle or None
        if link_rate is not None:
            state.link_rate = link_rate or None

    def add_file_video(self, video: FakeVideo, path: Path) -> None:
        self._site.videos[video.name] = video
        self.files[video.name] = path

    def reset(self) -> None:
        # Validators (version) survive: a real blob's ETag does not change between tests.
        for state in self._states.values():
            state.script.clear()
            state.no_range = False
            state.throttle = None
            state.link_rate = None
            state.revoked.clear()

    def state(self, name: str) -> _VideoState:
        return self._states[name]

    def next_fault(self, name: str) -> Fault | None:
        script = self._states[name].script
        return script.popleft() if script else None

    def etag(self, video: FakeVideo) -> str:
        seed = f"{video.name}:{video.size}:{self._states[video.name].version}"
        return '"0x' + hashlib.sha256(seed.encode()).hexdigest()[:16].upper() + '"'

    def last_modified(self, video: FakeVideo) -> str:
        moment = _EPOCH + timedelta(hours=self._states[video.name].version)
        return format_datetime(moment, usegmt=True)


def add_routes(site: FixtureSite) -> None:
    """Register CDN routes on ``site.app`` and attach ``site.cdn``."""
    site.cdn = CdnControl(site)
    site.app.router.add_get("/az/files/{tail:.+}", _handle)
    site.app.router.add_get("/vg-assets/{tail:.+}", _handle)


def _find_video(site: FixtureSite, raw_path: str) -> FakeVideo | None:
    for video in site.videos.values():
        if video.path == raw_path:
            return video
    return None


async def _handle(request: web.Request) -> web.StreamResponse:
    site: FixtureSite = request.app["site"]
    raw_path, _, query = request.raw_path.partition("?")
    site.stats.add_request(request.method, request.raw_path, dict(request.headers))
    video = _find_video(site, raw_path)
    if video is None:
        return web.Response(status=404, text="The specified blob does not exist.")
    site.stats.add_cdn_request(request.protocol, video.name)
    fault = site.cdn.next_fault(video.name)
    state = site.cdn.state(video.name)
    if fault is not None and fault.kind == "etag_change":
        state.version += 1
    early = _early_answer(site, request, video, fault, query)
    if early is not None:
        return early
    return await _serve(request, site, video, fault)


def _early_answer(
    site: FixtureSite, request: web.Request, video: FakeVideo, fault: Fault | None, query: str
) -> web.StreamResponse | None:
    """Answers decided before any body: auth failures, scripted statuses, HTML pages."""
    sig = _sig_of(query)
    verdict = check_signature(video.path, query, secret=site.secret)
    revoked = sig in site.cdn.state(video.name).revoked
    if verdict != "ok" or revoked or (fault is not None and fault.kind == "auth"):
        return web.Response(status=403, text=AUTH_FAILED_BODY, content_type="application/xml")
    if fault is not None and fault.kind == "status":
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        return web.Response(status=fault.status_code, text="scripted failure", headers=headers)
    if fault is not None and fault.kind == "html":
        return web.Response(body=HTML_BODY, content_type="text/html")
    return None


def _sig_of(query: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(query).get("sig", [""])[0]


def _wanted_range(
    request: web.Request, site: FixtureSite, video: FakeVideo, fault: Fault | None
) -> tuple[int, int] | str | None:
    """``(start, end)`` to serve as 206, ``None`` for the whole body, ``"416"`` if unsatisfiable."""
    header = request.headers.get("Range")
    ignore = site.cdn.state(video.name).no_range or (
        fault is not None and fault.kind in ("no_range", "no_length")
    )
    if not header or ignore or not _if_range_holds(request, site, video):
        return None
    spec = header.strip().removeprefix("bytes=")
    first, _, last = spec.partition("-")
    if "," in spec or not (first.isdigit() or (first == "" and last.isdigit())):
        return None  # RFC 9110: a server may ignore a Range it does not understand
    if first == "":
        return max(video.size - int(last), 0), video.size
    start = int(first)
    end = min(int(last) + 1, video.size) if last.isdigit() else video.size
    return (start, end) if start < video.size and start < end else "416"


def _if_range_holds(request: web.Request, site: FixtureSite, video: FakeVideo) -> bool:
    validator = request.headers.get("If-Range")
    if validator is None:
        return True
    return validator in (site.cdn.etag(video), site.cdn.last_modified(video))


async def _serve(
    request: web.Request, site: FixtureSite, video: FakeVideo, fault: Fault | None
) -> web.StreamResponse:
    wanted = _wanted_range(request, site, video, fault)
    if wanted == "416":
        return web.Response(status=416, headers={"Content-Range": f"bytes */{video.size}"})
    start, end = wanted if isinstance(wanted, tuple) else (0, video.size)
    response = web.StreamResponse(status=206 if isinstance(wanted, tuple) else 200)
    response.content_type = video.content_type
    response.headers["ETag"] = site.cdn.etag(video)
    response.headers["Last-Modified"] = site.cdn.last_modified(video)
    if not site.cdn.state(video.name).no_range:
        response.headers["Accept-Ranges"] = "bytes"
    if isinstance(wanted, tuple):
        hidden = fault is not None and fault.kind == "unknown_total"
        total = "*" if hidden else str(video.size)
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
    if fault is None or fault.kind != "no_length":
        response.content_length = end - start
    await response.prepare(request)
    if request.method != "HEAD":
        # The client may hang up mid-body (a finished piece, aria2c): nothing to report. A
        # reset during a pending write surfaces as a bare ConnectionError("Connection lost").
        with contextlib.suppress(ConnectionError):
            await _send_body(request, response, site, video, (start, end), fault)
    return response


async def _send_body(
    request: web.Request,
    response: web.StreamResponse,
    site: FixtureSite,
    video: FakeVideo,
    span: tuple[int, int],
    fault: Fault | None,
) -> None:
    start, end = span
    cut = fault is not None and fault.kind in ("drop", "truncate", "expire")
    stop = start + int((end - start) * fault.fraction) if fault is not None and cut else end
    rate = fault.rate if fault is not None and fault.kind == "throttle" else None
    rate = rate or site.cdn.state(video.name).throttle
    path = site.cdn.files.get(video.name)
    shared = site.cdn.state(video.name).link_rate is not None
    if path is not None and rate is None and not cut and not shared:
        await _sendfile(request, path, start, end)
        site.stats.add_bytes(video.name, end - start)
    else:
        await _write_chunks(response, site, video, (start, stop), rate, path)
    if cut and fault is not None:
        _cut_connection(request, site, video, fault)
        return
    await response.write_eof()


def _cut_connection(
    request: web.Request, site: FixtureSite, video: FakeVideo, fault: Fault
) -> None:
    transport = request.transport
    if fault.kind == "expire":
        site.cdn.state(video.name).revoked.add(_sig_of(request.raw_path.partition("?")[2]))
    if transport is None:
        return
    if fault.kind == "truncate":
        transport.close()  # FIN after the buffered bytes: a clean but short body
    else:
        transport.abort()  # RST: a dropped connection


async def _write_chunks(
    response: web.StreamResponse,
    site: FixtureSite,
    video: FakeVideo,
    span: tuple[int, int],
    rate: float | None,
    path: Path | None,
) -> None:
    start, stop = span
    state = site.cdn.state(video.name)
    slowest = min(r for r in (rate, state.link_rate, float("inf")) if r is not None)
    chunk = CHUNK if slowest == float("inf") else max(4096, min(CHUNK, int(slowest / 20)))
    loop = asyncio.get_running_loop()
    with _Reader(video, path) as reader:
        reader.read(start, start)  # makes an in-memory body now, not on the pacing clock
        began = loop.time()
        for offset in range(start, stop, chunk):
            data = reader.read(offset, min(offset + chunk, stop))
            if state.link_rate is not None:
                # One link for every connection: each chunk waits for its turn on it.
                state.link_free_at = max(state.link_free_at, loop.time()) + len(data) / slowest
                await asyncio.sleep(max(0.0, state.link_free_at - loop.time()))
            await response.write(data)
            site.stats.add_bytes(video.name, len(data))
            if rate is not None:
                # Pace against the start time, not per chunk, so sleep overshoot doesn't add up.
                due = began + (offset + len(data) - start) / rate
                await asyncio.sleep(max(0.0, due - loop.time()))


class _Reader:
    """Slices of a video body, from memory (small videos) or from its file (big ones)."""

    def __init__(self, video: FakeVideo, path: Path | None) -> None:
        self._video = video
        self._file = path.open("rb") if path is not None else None

    def read(self, start: int, end: int) -> bytes:
        if self._file is None:
            return video_bytes(self._video, start, end)
        self._file.seek(start)
        return self._file.read(end - start)

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.close()


async def _sendfile(request: web.Request, path: Path, start: int, end: int) -> None:
    # Zero-copy for big fault-free bodies, so benchmark numbers measure the client, not us.
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("Connection lost")
    with path.open("rb") as file:
        await asyncio.get_running_loop().sendfile(transport, file, start, end - start)
