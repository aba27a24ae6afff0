"""A video's bytes streamed out of a WARC record, read as if a server had sent them.

``warc:<path>#<offset>`` URLs (made by ``archive.warc.WarcArchive``) name a ``response``
record. ``open_warc`` answers like ``ranges.open_range``: a ``200`` record is the whole
payload, and a start past 0 is served by reading past it (as a server honouring ``Range``
would, validated by the record's payload digest); a ``206`` record is its recorded range,
whatever was asked, as an archive's replay of it is. warcio undoes chunked and gzip encodings
as captured; reads go through a worker thread one buffer at a time, so a 2 GiB video in a
WARC never sits in memory.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import NotAVideo, PolicyRefused
from .ranges import is_video_type

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_SKIP_CHUNK = 1024 * 1024


@dataclass
class WarcAnswer:
    """What ``open_range`` describes of an HTTP answer, for a WARC record's payload."""

    stream: IO[bytes]
    start: int
    length: int | None
    total: int | None
    etag: str | None
    content_type: str | None
    partial: bool
    last_modified: str | None = None

    async def read(self, size: int) -> bytes:
        return await asyncio.to_thread(self.stream.read, size)

    def contradicts(self, etag: str | None, last_modified: str | None) -> bool:
        return bool(self.etag and etag) and self.etag != etag


def is_warc_url(url: str) -> bool:
    return url.startswith("warc:")


@asynccontextmanager
async def open_warc(
    url: str, start: int, end: int | None, allowed: frozenset[Path], verify_video: bool = True
) -> AsyncIterator[WarcAnswer]:
    """The payload of the record ``url`` names, from ``start`` (see the module docstring);
    ``PolicyRefused`` unless the file is one of ``allowed``."""
    from ..archive.warc import open_record, parse_warc_url

    path, offset = parse_warc_url(url)
    if path.resolve() not in allowed:
        raise PolicyRefused(f"Refused to read {path}: not a WARC file named for this run")
    with open_record(path, offset) as record:
        answer = _describe(record, url, verify_video=verify_video)
        if not answer.partial and start > 0 and answer.total is not None:
            await _skip(answer, start)
        yield answer


def _describe(record: Any, url: str, *, verify_video: bool) -> WarcAnswer:
    http = record.http_headers
    content_type = http.get_header("Content-Type") if http is not None else None
    if verify_video and not is_video_type((content_type or "").split(";")[0].strip().lower()):
        raise NotAVideo(f"The archived record is {content_type or 'untyped'}, not a video", url=url)
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    length = _int(http.get_header("Content-Length")) if http is not None else None
    match = _CONTENT_RANGE.fullmatch((http.get_header("Content-Range") or "").strip())
    stream = record.content_stream()
    if http is not None and http.get_statuscode() == "206" and match is not None:
        total = None if match[3] == "*" else int(match[3])
        first, last = int(match[1]), int(match[2])
        return WarcAnswer(stream, first, last - first + 1, total, digest, content_type, True)
    return WarcAnswer(stream, 0, length, length, digest, content_type, False)


async def _skip(answer: WarcAnswer, start: int) -> None:
    """Read past the first ``start`` bytes: the answer then starts there, as a 206 would."""
    left = start
    while left > 0:
        data = await answer.read(min(_SKIP_CHUNK, left))
        if not data:
            break
        left -= len(data)
    answer.start, answer.partial = start - left, True
    if answer.length is not None:
        answer.length -= answer.start


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
