"""A video's bytes read from a file the user named, as if a server had sent them.

- ``warc:<path>#<offset>`` (made by ``archive.warc.WarcArchive``): a WARC ``response`` record's
  payload; warcio undoes chunked and gzip encodings as captured.
- ``har:<path>#<entry>`` (made by ``archive.har.HarMedia``): a HAR entry's body, decoded from
  base64 a buffer at a time.

``open_local`` answers like ``ranges.open_range``: a ``200`` is the whole body, and a start
past 0 is served by reading past it (as a server honouring ``Range`` would, validated by the
body's digest); a ``206`` is its recorded range whatever was asked, as an archive's replay of
it is. Reads go through a worker thread one buffer at a time: a 2 GiB video in a WARC never
sits in memory. Only the files named for the run may be read (``allowed``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import NotAVideo, PolicyRefused
from .ranges import is_video_type

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_BUFFER = 1024 * 1024


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass
class LocalAnswer:
    """What ``open_range`` describes of an HTTP answer, for a body read from a file."""

    stream: _Readable
    start: int
    length: int | None
    total: int | None
    etag: str | None
    content_type: str | None
    partial: bool
    last_modified: str | None = None

    @property
    def has_validator(self) -> bool:
        return self.etag is not None  # the record's payload digest

    async def read(self, size: int) -> bytes:
        return await asyncio.to_thread(_read_up_to, self.stream, size)

    async def chunk(self) -> bytes:
        return await self.read(_BUFFER)

    def moved(self, count: int) -> LocalAnswer:
        return dataclasses.replace(self, start=self.start + count)

    def close(self) -> None:
        pass  # the file is closed with the answer's context

    def contradicts(self, etag: str | None, last_modified: str | None) -> bool:
        return bool(self.etag and etag) and self.etag != etag


def _read_up_to(stream: _Readable, size: int) -> bytes:
    # warcio's decompressing reader hands back one block (~16 KiB) per call: gather a whole
    # buffer in the worker thread, so a thread hop carries a megabyte, not a block (measured:
    # 256 MiB out of a .warc.gz took 4.4 s before, 2.3 s after, in benchmarks/bench_warc.py).
    parts, got = [], 0
    while got < size:
        data = stream.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def is_local_url(url: str) -> bool:
    return url.startswith(("warc:", "har:"))


@asynccontextmanager
async def open_local(
    url: str, start: int, allowed: frozenset[Path], verify_video: bool = True
) -> AsyncIterator[LocalAnswer]:
    """The body ``url`` names, from ``start`` (see the module docstring); ``PolicyRefused``
    unless its file is one of ``allowed``."""
    opener = _warc if url.startswith("warc:") else _har
    with opener(url, allowed) as answer:
        if verify_video and not is_video_type((answer.content_type or "").split(";")[0].lower()):
            raise NotAVideo(f"The saved body is {answer.content_type or 'untyped'}", url=url)
        if not answer.partial and start > 0 and answer.total is not None:
            await _skip(answer, start)
        yield answer


def _check(path: Path, allowed: frozenset[Path]) -> None:
    if path.resolve() not in allowed:
        raise PolicyRefused(f"Refused to read {path}: not a file named for this run")


@contextlib.contextmanager
def _warc(url: str, allowed: frozenset[Path]) -> Iterator[LocalAnswer]:
    from ..archive.warc import open_record, parse_warc_url

    path, offset = parse_warc_url(url)
    _check(path, allowed)
    with open_record(path, offset) as record:
        yield _describe(record.content_stream(), _warc_headers(record))


def _warc_headers(record: Any) -> dict[str, str | None]:
    http = record.http_headers
    names = ("Content-Type", "Content-Length", "Content-Range")
    found = {n: http.get_header(n) if http is not None else None for n in names}
    found["status"] = http.get_statuscode() if http is not None else None
    found["digest"] = record.rec_headers.get_header("WARC-Payload-Digest")
    return found


@contextlib.contextmanager
def _har(url: str, allowed: frozenset[Path]) -> Iterator[LocalAnswer]:
    from ..archive.har import body_text, header, load_entries, parse_har_url

    path, index = parse_har_url(url)
    _check(path, allowed)
    entry = load_entries(path)[index]
    text = body_text(entry)
    encoded = entry.get("response", {}).get("content", {}).get("encoding") == "base64"
    found: dict[str, str | None] = {
        n: header(entry, n) for n in ("Content-Type", "Content-Length", "Content-Range")
    }
    found["status"] = str(entry.get("response", {}).get("status", ""))
    found["digest"] = f"har-entry-{index}-{len(text)}"
    stream = _Base64Stream(text) if encoded else _TextStream(text)
    promised = _int(found["Content-Length"])
    if found["status"] == "200" and promised is not None and promised > stream.size:
        # A body cut short is a piece of the file: bytes 0 to what it holds, of the whole.
        found["status"], found["Content-Range"] = "206", f"bytes 0-{stream.size - 1}/{promised}"
    found["Content-Length"] = str(stream.size)
    yield _describe(stream, found)


def _describe(stream: _Readable, found: dict[str, str | None]) -> LocalAnswer:
    kind, digest = found["Content-Type"], found["digest"]
    length = _int(found["Content-Length"])
    match = _CONTENT_RANGE.fullmatch((found["Content-Range"] or "").strip())
    if found["status"] == "206" and match is not None:
        total = None if match[3] == "*" else int(match[3])
        first, last = int(match[1]), int(match[2])
        return LocalAnswer(stream, first, last - first + 1, total, digest, kind, True)
    return LocalAnswer(stream, 0, length, length, digest, kind, False)


class _Base64Stream:
    """Bytes of a base64 text, decoded as they are read (4 characters make 3 bytes)."""

    def __init__(self, text: str) -> None:
        self._text = "".join(text.split())
        self._at = 0
        self.size = len(self._text) * 3 // 4 - self._text[-2:].count("=")

    def read(self, size: int = -1, /) -> bytes:
        count = len(self._text) if size < 0 else -(-size // 3) * 4
        piece = self._text[self._at : self._at + count]
        self._at += len(piece)
        return base64.b64decode(piece) if piece else b""


class _TextStream:
    def __init__(self, text: str) -> None:
        self._data = text.encode("utf-8")
        self._at = 0
        self.size = len(self._data)

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        piece, self._at = self._data[self._at : end], min(end, len(self._data))
        return piece


async def _skip(answer: LocalAnswer, start: int) -> None:
    """Read past the first ``start`` bytes: the answer then starts there, as a 206 would."""
    left = start
    while left > 0:
        data = await answer.read(min(_BUFFER, left))
        if not data:
            break
        left -= len(data)
    answer.start, answer.partial = start - left, True
    if answer.length is not None:
        answer.length -= answer.start


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
