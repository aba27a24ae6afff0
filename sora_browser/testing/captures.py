"""What a test archive holds, declared as data, and written out as a WARC file with warcio.

A ``Capture`` is one archived HTTP exchange: the URL exactly as it was fetched (never decoded
or re-encoded: ``%2F`` stays ``%2F``), a 14-digit UTC timestamp, the status, the headers and
the body. ``revisit`` captures point at an earlier capture with the same payload instead of
holding a body, as crawlers write them for an unchanged page (ISO 28500, the
``identical-payload-digest`` profile).

Bodies are ``bytes`` for pages, or a ``Path`` / a chunk factory for big media, so a 256 MiB
video is written (and replayed by ``ia.py``) in chunks and never held whole in memory.

The shapes follow DESIGN.md "Archives": a browser asks for video with ``Range: bytes=0-``, so
media is often captured as ``206 Partial Content`` with ``Content-Range: bytes A-B/TOTAL``
(``piece_capture``); a Cloudflare challenge was captured as ``403`` with ``cf-mitigated:
challenge`` (``challenge_capture``).

``write_warc`` writes ``warcinfo``, then per capture a ``response`` (or ``revisit``) record and
its ``request`` record, as pywb's own recorder does (warcio's ``write_request_response_pair``).
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

CHUNK = 64 * 1024
Body = bytes | Path | Callable[[], Iterable[bytes]]
"""A body: bytes, a file, or a factory yielding chunks (called again for each pass)."""

# Save Page Now and Browsertrix drive Chromium; archived requests carry its headers.
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Safari/537.36"
)
CHALLENGE_HTML = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta name="robots" content="noindex,nofollow"></head><body><div class="main-content">'
    '<h2 id="challenge-body-text">Verifying you are human. This may take a few seconds.</h2>'
    "<noscript>Enable JavaScript and cookies to continue</noscript></div><script>"
    "window._cf_chl_opt={cType:'managed'};</script></body></html>"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """One archived exchange. Build with the helpers below; ``refers_to`` makes a revisit."""

    url: str
    timestamp: str
    """14 digits, UTC, as in CDX lines and replay URLs."""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: Body = b""
    request_headers: tuple[tuple[str, str], ...] = ()
    refers_to: Capture | None = None
    """For a revisit: the earlier capture whose payload this one repeats."""

    def __post_init__(self) -> None:
        if len(self.timestamp) != 14 or not self.timestamp.isdigit():
            raise ValueError(f"timestamp must be 14 digits, not {self.timestamp!r}")
        if self.refers_to is not None and self.refers_to.refers_to is not None:
            raise ValueError("a revisit must refer to a capture that holds the payload")

    @property
    def kind(self) -> str:
        """``"response"`` or ``"revisit"`` (the WARC record type)."""
        return "response" if self.refers_to is None else "revisit"

    @property
    def moment(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)

    @property
    def payload(self) -> Body:
        """The body a replay serves: a revisit's comes from the capture it refers to."""
        return self.body if self.refers_to is None else self.refers_to.body

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def mimetype(self) -> str:
        """The Content-Type without parameters, as CDX lines give it."""
        return (self.header("Content-Type") or "unk").split(";")[0].strip()


def iter_body(body: Body, chunk: int = CHUNK) -> Iterator[bytes]:
    """The body in chunks, read anew on each call."""
    if isinstance(body, bytes):
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]
    elif isinstance(body, Path):
        with body.open("rb") as file:
            while data := file.read(chunk):
                yield data
    else:
        yield from body()


def iter_body_range(body: Body, start: int, end: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """Bytes ``[start, end)`` of the body, in chunks (a file is read from its offset)."""
    if isinstance(body, Path):
        with body.open("rb") as file:
            file.seek(start)
            left = end - start
            while left > 0 and (data := file.read(min(chunk, left))):
                left -= len(data)
                yield data
        return
    offset = 0
    for data in iter_body(body, chunk):
        low, high = max(start - offset, 0), min(end - offset, len(data))
        if low < high:
            yield data[low:high]
        offset += len(data)
        if offset >= end:
            return


def body_length(body: Body) -> int:
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, Path):
        return body.stat().st_size
    return sum(len(data) for data in body())


def payload_digest(body: Body) -> str:
    """``sha1:<base32>``, the WARC-Payload-Digest form; CDX ``digest`` is the part after ``:``."""
    digest = hashlib.sha1()
    for data in iter_body(body):
        digest.update(data)
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def http_date(timestamp: str) -> str:
    moment = datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return format_datetime(moment, usegmt=True)


def _base_headers(timestamp: str, content_type: str, length: int) -> list[tuple[str, str]]:
    return [
        ("Date", http_date(timestamp)),
        ("Content-Type", content_type),
        ("Content-Length", str(length)),
    ]


# -- helpers building the shapes DESIGN.md names ---------------------------------------------


def page_capture(
    url: str,
    timestamp: str,
    html: str,
    *,
    status: int = 200,
    headers: Sequence[tuple[str, str]] = (),
) -> Capture:
    """A share page as Cloudflare in front of Next.js served it."""
    body = html.encode("utf-8")
    base = _base_headers(timestamp, "text/html; charset=utf-8", len(body))
    extra = [("Server", "cloudflare"), ("Cache-Control", "private, no-cache, no-store")]
    return Capture(
        url=url,
        timestamp=timestamp,
        status=status,
        headers=(*base, *extra, *headers),
        body=body,
        request_headers=(("Accept", "text/html,application/xhtml+xml"),),
    )


def challenge_capture(url: str, timestamp: str) -> Capture:
    """A captured Cloudflare managed challenge: 403, ``cf-mitigated: challenge``."""
    return page_capture(
        url, timestamp, CHALLENGE_HTML, status=403, headers=[("cf-mitigated", "challenge")]
    )


def not_found_capture(url: str, timestamp: str) -> Capture:
    html = "<!DOCTYPE html><html><head><title>Sora</title></head><body>Not found</body></html>"
    return page_capture(url, timestamp, html, status=404)


def media_capture(
    url: str, timestamp: str, body: Body, *, content_type: str = "video/mp4"
) -> Capture:
    """A whole media copy: ``200`` with ``Content-Length`` (a plain, non-browser fetch)."""
    size = body_length(body)
    headers = [*_base_headers(timestamp, content_type, size), *_blob_headers(body)]
    return Capture(url=url, timestamp=timestamp, headers=tuple(headers), body=body)


def piece_capture(
    url: str,
    timestamp: str,
    body: Body,
    *,
    first: int,
    total: int,
    content_type: str = "video/mp4",
) -> Capture:
    """``206`` holding bytes ``first .. first+len-1`` of a ``total``-byte file.

    A browser's ``Range: bytes=0-`` gets the whole file this way (``first=0``, body of
    ``total`` bytes); a player's later range requests leave pieces.
    """
    size = body_length(body)
    headers = [
        *_base_headers(timestamp, content_type, size),
        ("Content-Range", f"bytes {first}-{first + size - 1}/{total}"),
        *_blob_headers(body),
    ]
    return Capture(
        url=url,
        timestamp=timestamp,
        status=206,
        headers=tuple(headers),
        body=body,
        request_headers=(("Range", f"bytes={first}-"),),
    )


def _blob_headers(body: Body) -> list[tuple[str, str]]:
    # Azure Blob Storage answers (videos.openai.com): ranges, a strong ETag, the blob type.
    etag = '"0x' + payload_digest(body)[5:21] + '"'
    return [("Accept-Ranges", "bytes"), ("ETag", etag), ("x-ms-blob-type", "BlockBlob")]


def revisit_capture(original: Capture, timestamp: str) -> Capture:
    """The same URL fetched again with an identical payload (headers only in the WARC)."""
    base = [(k, v) for k, v in original.headers if k.lower() != "date"]
    return Capture(
        url=original.url,
        timestamp=timestamp,
        status=original.status,
        headers=(("Date", http_date(timestamp)), *base),
        request_headers=original.request_headers,
        refers_to=original,
    )


# -- writing ---------------------------------------------------------------------------------


class _ChunkStream:
    """A read-only stream over a body; ``seek(0)`` starts it again, so warcio can digest it
    in one pass and write it in another without the body ever being whole in memory."""

    def __init__(self, body: Body) -> None:
        self._body = body
        self._chunks: Iterator[bytes] = iter(())
        self._pending = b""
        self._pos = 0
        self.seek(0)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET or offset not in (0, self._pos):
            raise io.UnsupportedOperation("a body stream can only be rewound")
        if offset == 0:
            self._chunks, self._pending, self._pos = iter_body(self._body), b"", 0
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            data = next(self._chunks, b"")
            if not data:
                break
            self._pending += data
        cut = len(self._pending) if size < 0 else size
        data, self._pending = self._pending[:cut], self._pending[cut:]
        self._pos += len(data)
        return data


def write_warc(path: Path, captures: Iterable[Capture], *, gzip: bool = True) -> Path:
    """Write ``captures`` to ``path`` (``.warc.gz`` members per record when ``gzip``)."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gzip, warc_version="1.1")
        info = {"software": "sora-browser test archive (warcio)", "format": "WARC File Format 1.1"}
        writer.write_record(writer.create_warcinfo_record(path.name, info))
        for capture in captures:
            response = _response_record(writer, capture)
            writer.write_request_response_pair(_request_record(writer, capture), response)
    return path


def _warc_date(capture: Capture) -> str:
    return capture.moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_headers(capture: Capture) -> StatusAndHeaders:
    reason = HTTPStatus(capture.status).phrase
    return StatusAndHeaders(f"{capture.status} {reason}", list(capture.headers), "HTTP/1.1")


def _response_record(writer: WARCWriter, capture: Capture) -> Any:
    warc_headers = {"WARC-Date": _warc_date(capture)}
    if capture.refers_to is not None:
        original = capture.refers_to
        return writer.create_revisit_record(
            capture.url,
            digest=payload_digest(original.body),
            refers_to_uri=original.url,
            refers_to_date=_warc_date(original),
            http_headers=_http_headers(capture),
            warc_headers_dict=warc_headers,
        )
    return writer.create_warc_record(
        capture.url,
        "response",
        payload=_ChunkStream(capture.body),
        length=body_length(capture.body),
        http_headers=_http_headers(capture),
        warc_headers_dict=warc_headers,
    )


def _request_record(writer: WARCWriter, capture: Capture) -> Any:
    parts = urlsplit(capture.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc), ("User-Agent", BROWSER_UA), *capture.request_headers]
    http_headers = StatusAndHeaders(f"GET {target or '/'} HTTP/1.1", headers, is_http_request=True)
    return writer.create_warc_record(
        capture.url,
        "request",
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": _warc_date(capture)},
    )
