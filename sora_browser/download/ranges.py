"""One ranged GET of a media URL, and what its answer says.

``open_range`` asks for ``bytes=START-[END]`` with ``If-Range`` and describes the answer: a
``206`` must carry a ``Content-Range`` (RFC 9110 14.4), a ``200`` means the server sent the whole
body (no range support, or the validator no longer matches), a ``416`` carries the total in
``bytes */TOTAL``. Error statuses become ``errors`` classes after a short peek at the body,
which is how Azure's ``AuthenticationFailed`` (an expired signature) is told from other 403s.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

from .. import _http
from ..errors import FetchError, FileTooLarge, IncompleteDownload, NotAVideo
from ..urls import UrlPolicy

VIDEO_TYPES = ("application/octet-stream", "binary/octet-stream")
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")
OVERLAP_BYTES = 64 * 1024
"""How much before its end a ``.part`` without validators is compared on resume."""
# Big reads amortise per-chunk Python overhead; aiohttp joins buffered pieces up to this size.
READ_BUFSIZE = 1024 * 1024


class RangeNotSatisfiable(FetchError):
    """``416``: the asked start is at or past the end; ``total`` from ``bytes */TOTAL``."""

    def __init__(self, message: str, *, total: int | None, url: str | None = None) -> None:
        super().__init__(message, url=url)
        self.total = total


class RangeAnswer(Protocol):
    """What the downloader needs of an answer: where its bytes sit in the file, what
    validates them, and the bytes themselves. An HTTP answer (``HttpAnswer``) or a WARC
    record's payload or a HAR entry's body (``localmedia.LocalAnswer``)."""

    @property
    def start(self) -> int: ...
    @property
    def length(self) -> int | None: ...
    @property
    def total(self) -> int | None: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def last_modified(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def partial(self) -> bool: ...

    @property
    def has_validator(self) -> bool:
        """Whether a later resume can tell this body from another (an ``ETag``, a date, or
        for a saved record its digest)."""
        ...

    async def read(self, size: int) -> bytes: ...

    async def chunk(self) -> bytes:
        """The next body bytes as the source holds them (no copy, no join); ``b""`` at the end."""
        ...

    def moved(self, count: int) -> RangeAnswer:
        """This answer once ``count`` body bytes have been read."""
        ...

    def close(self) -> None:
        """Give up the rest of the body (its connection is not reused)."""
        ...

    def contradicts(self, etag: str | None, last_modified: str | None) -> bool: ...


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    response: aiohttp.ClientResponse
    start: int
    """Offset of the first body byte in the file (0 for a 200)."""
    length: int | None
    """Body bytes announced (Content-Length), or None."""
    total: int | None
    """Size of the whole file, when the answer says."""
    etag: str | None
    last_modified: str | None
    content_type: str | None

    @property
    def partial(self) -> bool:
        return self.response.status == 206

    async def read(self, size: int) -> bytes:
        """Whatever body is buffered, up to ``size``; waits only when nothing is."""
        return await self.response.content.read(size)

    async def chunk(self) -> bytes:
        """One buffered chunk as aiohttp received it. ``read(n)`` joins (copies) whatever is
        buffered; aiohttp offers no read into a caller's buffer, so handing its own bytes on
        is the copy we can save."""
        while True:
            data, end_of_http_chunk = await self.response.content.readchunk()
            if data or not end_of_http_chunk:  # (b"", True) only marks a chunked-encoding seam
                return data

    @property
    def has_validator(self) -> bool:
        """Whether a later ``If-Range`` can tell this file from another (RFC 9110 13.1.5)."""
        strong = self.etag is not None and not self.etag.startswith("W/")
        return strong or self.last_modified is not None

    def moved(self, count: int) -> HttpAnswer:
        return dataclasses.replace(self, start=self.start + count)

    def close(self) -> None:
        self.response.close()  # a no-op once the body was read to its end

    def contradicts(self, etag: str | None, last_modified: str | None) -> bool:
        """Whether this answer's validators say it is not the file they were saved from."""
        if self.etag and etag:
            return self.etag != etag
        return bool(self.last_modified and last_modified) and self.last_modified != last_modified


@dataclass(frozen=True, slots=True)
class RangeRequest:
    session: aiohttp.ClientSession
    policy: UrlPolicy
    headers: dict[str, str]
    verify_video: bool
    local_files: frozenset[Path] = frozenset()
    """The only files a ``warc:`` URL may be read from (the WARCs the user named): a URL
    from elsewhere (a workflow's input) never reads anything else on the machine."""
    max_size: int | None = None
    """Refuse an answer that claims a bigger file (``--max-filesize``), before any byte."""
    proxy: _http.Proxy | None = None


@asynccontextmanager
async def open_range(
    req: RangeRequest, url: str, start: int, end: int | None, validator: str | None
) -> AsyncIterator[RangeAnswer]:
    """GET ``url`` asking for bytes ``[start, end)`` (``end=None``: to the end); a ``warc:``
    or ``har:`` URL is read from its file instead (``localmedia``)."""
    from .localmedia import is_local_url, open_local

    if is_local_url(url):
        async with open_local(url, start, req.local_files, req.verify_video) as local:
            check_claims(local, req.max_size, url)
            yield local
        return
    headers = dict(req.headers)
    headers["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
    if validator:
        headers["If-Range"] = validator
    async with _http.open_url(
        req.session,
        url,
        policy=req.policy,
        headers=headers,
        proxy=req.proxy,
        read_bufsize=READ_BUFSIZE,
    ) as response:
        yield await _describe(req, response)


async def _describe(req: RangeRequest, response: aiohttp.ClientResponse) -> HttpAnswer:
    url = str(response.url)
    if response.status == 416:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        total = int(match[3]) if match and match[3] != "*" else None
        raise RangeNotSatisfiable("Range not satisfiable", total=total, url=url)
    if response.status not in (200, 206):
        peek = await response.content.read(4096)
        raise _http.status_error(response, peek.decode("utf-8", "replace"))
    content_type = response.headers.get("Content-Type")
    if req.verify_video and not is_video_type(response.content_type):
        raise NotAVideo(
            f"Expected a video but got {response.content_type or 'no content type'} from"
            f" {response.url.host}",
            url=url,
        )
    start, total = _span(response)
    answer = HttpAnswer(
        response=response,
        start=start,
        length=response.content_length,
        total=total,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=content_type,
    )
    check_claims(answer, req.max_size, url)
    return answer


def check_claims(answer: RangeAnswer, limit: int | None, url: str) -> None:
    """``FileTooLarge`` when the answer's total or its end says the file passes ``limit``.

    Checked before anything is reserved or written: a server's claim is only a claim, and a
    206 announcing a 1 TB total once made the preallocation fill the disk. A saved record's
    claims are checked the same way: a WARC is as hostile as the server it came from.
    """
    claims = [
        (answer.total if answer.partial else None, "Content-Range total"),
        (None if answer.length is None else answer.start + answer.length, "Content-Length"),
    ]
    for claim, header in claims:
        if limit is not None and claim is not None and claim > limit:
            raise FileTooLarge(
                f"The server claims a file of {human_size(claim)} ({header} {claim} bytes),"
                f" over the {human_size(limit)} limit (--max-filesize)",
                url=url,
            )


async def check_overlap(answer: RangeAnswer, held: bytes, total: int | None) -> RangeAnswer:
    """Compare the first ``len(held)`` body bytes with what the ``.part`` ends with.

    A server without ``ETag`` or ``Last-Modified`` gives a resume nothing to check, and once
    served a file changed between a killed run and its rerun, which resumed into a file made
    of both versions. So such a resume asks for a little before the ``.part``'s end: the same
    bytes mean the same file (as far as anything can tell), other bytes or another size mean
    start over. Returns the answer as it stands after those bytes.
    """
    if not answer.partial:
        return answer  # a 200 is the whole file: the caller starts over anyway
    if total is not None and answer.total is not None and answer.total != total:
        raise RestartNeeded("The file on the server changed size; starting over")
    theirs = await _read_exactly(answer, len(held))
    if len(theirs) < len(held):
        raise IncompleteDownload("The connection broke while checking the resume")
    if theirs != held:
        raise RestartNeeded("The file on the server changed since the last run; starting over")
    return answer.moved(len(held))


async def _read_exactly(answer: RangeAnswer, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        data = await answer.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def human_size(count: int) -> str:
    """``4 GiB``, ``1.5 MiB``: binary units, as --max-filesize is read."""
    size, unit = float(count), "bytes"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, next_unit
    return f"{size:.3g} {unit}" if unit != "bytes" else f"{count} bytes"


def is_video_type(mimetype: str) -> bool:
    """A video type, or the generic binary types CDNs and archives often label video with."""
    return mimetype.startswith("video/") or mimetype in VIDEO_TYPES


def _span(response: aiohttp.ClientResponse) -> tuple[int, int | None]:
    if response.status == 200:
        return 0, response.content_length
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None or match[1] is None:
        raise FetchError("206 answer without a usable Content-Range", url=str(response.url))
    total = None if match[3] == "*" else int(match[3])
    return int(match[1]), total


class RestartNeeded(IncompleteDownload):
    """The ``.part`` cannot be continued (file changed, range refused): start over."""
