"""WARC files as an archive: indexed once, then read like a Wayback, with no network at all.

Archivists hold Sora in WARC files (ISO 28500: ArchiveTeam grabs, Browsertrix, ArchiveBox,
pywb collections). ``WarcArchive`` answers the same questions the Wayback client does (which
captures a URL prefix has, a page's text, what a media URL's captures hold), so the archive
resolver works over either.

- The first use of a WARC indexes its ``response`` and ``revisit`` records (warcio streams the
  file; nothing is held but one record's headers) into a CDXJ file beside it, or in a cache
  folder when that folder is read-only, reused while the WARC's size and mtime are unchanged.
  A ``revisit`` is indexed as the payload it refers to (``WARC-Refers-To-Target-URI``,
  ``WARC-Payload-Digest``), so it reads back like any capture.
- Bodies are read back at their record's offset (one gzip member per record), chunked and
  gzip transfer encodings undone by warcio. Media never goes through memory whole: the
  downloader reads it as a stream (``warc:`` URLs, see ``download/localmedia.py``).
- A file that is not a WARC, or is cut off mid-record, is bad input (exit 2) naming the file
  and the offset.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote

from ..errors import BadInput
from .cdx import CdxRecord, strip_query, surt
from .pieces import HeldRange, PiecesFound, pieces_found
from .query import MatchType
from .replay import MediaCapture

INDEX_VERSION = 1
_KINDS = ("response", "revisit")
_CONTENT_RANGE_PREFIX = "bytes "


class WarcArchive:
    """Several WARC files (or folders of them) answering as one archive."""

    def __init__(self, paths: Sequence[Path], *, cache_dir: Path | None = None) -> None:
        self.files = warc_files(paths)
        self.cache_dir = cache_dir
        self.name = ", ".join(p.name for p in self.files[:3]) + (
            " ..." if len(self.files) > 3 else ""
        )
        self._records: list[CdxRecord] | None = None
        self._keys: list[str] = []

    async def aclose(self) -> None:
        """Nothing stays open between reads."""

    # -- the index ---------------------------------------------------------------------------

    async def records(self) -> list[CdxRecord]:
        """Every capture the files hold, sorted by URL key (built or loaded once)."""
        if self._records is None:
            loaded = await asyncio.gather(
                *(asyncio.to_thread(load_index, f, self.cache_dir) for f in self.files)
            )
            self._records = sorted((r for part in loaded for r in part), key=_order)
            self._keys = [r.urlkey for r in self._records]
        return self._records

    async def search(self, url: str, *, match_type: MatchType = "exact") -> tuple[CdxRecord, ...]:
        records = await self.records()
        key = surt(url)
        start = bisect.bisect_left(self._keys, key)
        found = []
        for record in records[start:]:
            if record.urlkey != key and not (
                match_type == "prefix" and record.urlkey.startswith(key)
            ):
                break
            found.append(record)
        return tuple(found)

    async def iter_search(
        self, prefix: str, *, from_: str | None = None, to: str | None = None
    ) -> AsyncIterator[CdxRecord]:
        """Every capture under ``prefix`` (``from_``/``to``: 1 to 14 digit timestamps)."""
        low, high = (from_ or "").ljust(14, "0"), (to or "").ljust(14, "9")
        for record in await self.search(prefix, match_type="prefix"):
            if low <= record.timestamp <= high:
                yield record

    # -- reading captures back ---------------------------------------------------------------

    def media_url(self, record: CdxRecord) -> str:
        """What the downloader opens to stream this capture's payload out of its WARC."""
        return warc_url(Path(record.filename or ""), int(record.offset or 0))

    async def page_text(self, record: CdxRecord, cap: int) -> str | None:
        return await asyncio.to_thread(_page_text, record, cap)

    async def holdings(self, media_url: str) -> MediaCapture | PiecesFound | None:
        captures = await self.media_captures(media_url)
        for record in captures:
            if record.status == 200:
                return MediaCapture(record, None)
        held = [h for h in await asyncio.to_thread(_held, captures) if h is not None]
        whole = next((h for h in held if h.whole), None)
        if whole is not None:
            return MediaCapture(whole.record, whole.total)
        return pieces_found(held, lambda h: self.media_url(h.record))

    async def media_captures(self, media_url: str) -> list[CdxRecord]:
        path = strip_query(media_url)
        key = surt(path)
        found = await self.search(path, match_type="prefix")
        same = [r for r in found if r.is_video and surt(strip_query(r.original)) == key]
        kept = [r for r in same if r.status in (200, 206)]
        return sorted(kept, key=lambda r: r.timestamp, reverse=True)


def _order(record: CdxRecord) -> tuple[str, str]:
    return record.urlkey, record.timestamp


# -- warc: URLs (a record's payload, for the downloader) -----------------------------------


def warc_url(path: Path, offset: int) -> str:
    return f"warc:{quote(str(path.resolve()))}#{offset}"


def parse_warc_url(url: str) -> tuple[Path, int]:
    body, _, offset = url.removeprefix("warc:").partition("#")
    return Path(unquote(body)), int(offset or 0)


# -- finding the files ---------------------------------------------------------------------


def warc_files(paths: Sequence[Path]) -> list[Path]:
    """The WARC files named, a folder meaning every ``.warc`` and ``.warc.gz`` inside it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if _is_warc_name(p) and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise BadInput(f"No such WARC file or folder: {path}")
    if not found:
        raise BadInput(f"No .warc or .warc.gz files in {', '.join(map(str, paths))}")
    return found


def _is_warc_name(path: Path) -> bool:
    return path.name.endswith((".warc", ".warc.gz"))


# -- building and keeping the index --------------------------------------------------------


def load_index(path: Path, cache_dir: Path | None) -> list[CdxRecord]:
    """The index of ``path``: read from its CDXJ when still current, else built and kept."""
    stamp = _stamp(path)
    for where in _index_places(path, cache_dir):
        records = _read_index(where, stamp)
        if records is not None:
            return records
    records = index_warc(path)
    for where in _index_places(path, cache_dir):
        if _write_index(where, stamp, records):
            break
    return records


def _stamp(path: Path) -> dict[str, Any]:
    info = path.stat()
    return {"version": INDEX_VERSION, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _index_places(path: Path, cache_dir: Path | None) -> list[Path]:
    beside = path.with_name(path.name + ".cdxj")
    if cache_dir is None:
        return [beside]
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32] + ".cdxj"
    return [beside, cache_dir / "warc-index" / name]


def _read_index(where: Path, stamp: dict[str, Any]) -> list[CdxRecord] | None:
    try:
        # Not through a symlink: an index planted beside a shared WARC must not make the tool
        # read some other file of the user's. Another user's index is read: the stamp and the
        # per-record checks decide whether it is any good.
        fd = os.open(where, os.O_RDONLY | os.O_NOFOLLOW)
        with open(fd, encoding="utf-8") as lines:
            if json.loads(lines.readline().removeprefix("!meta ")) != stamp:
                return None
            return [_from_cdxj(line) for line in lines if line.strip()]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_index(where: Path, stamp: dict[str, Any], records: list[CdxRecord]) -> bool:
    tmp = where.with_name(where.name + f".{os.getpid()}.tmp")
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("x", encoding="utf-8") as out:
            out.write("!meta " + json.dumps(stamp) + "\n")
            out.writelines(_to_cdxj(r) + "\n" for r in records)
        os.replace(tmp, where)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False  # a read-only folder: the next place, or no kept index at all


def _to_cdxj(record: CdxRecord) -> str:
    fields = {
        "url": record.original,
        "mime": record.mimetype,
        "status": record.statuscode,
        "digest": record.digest,
        "length": record.length,
        "offset": record.offset,
        "filename": record.filename,
    }
    return f"{record.urlkey} {record.timestamp} {json.dumps(fields)}"


def _from_cdxj(line: str) -> CdxRecord:
    urlkey, timestamp, rest = line.split(" ", 2)
    fields = json.loads(rest)
    return CdxRecord(
        urlkey=urlkey,
        timestamp=timestamp,
        original=fields["url"],
        mimetype=fields["mime"],
        statuscode=fields["status"],
        digest=fields["digest"],
        length=fields["length"],
        offset=fields["offset"],
        filename=fields["filename"],
    )


def index_warc(path: Path) -> list[CdxRecord]:
    """Every response and revisit record of one WARC file as an index record."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    records: list[CdxRecord] = []
    by_digest: dict[str, CdxRecord] = {}
    offset = 0
    try:
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                offset = iterator.get_record_offset()
                entry = _entry(record, path, offset, by_digest)
                iterator.read_to_end(record)
                _check_whole(record, path, offset)
                if entry is not None:
                    records.append(entry)
    except BadInput:
        raise
    except (ArchiveLoadFailed, EOFError, ValueError, OSError) as exc:
        raise BadInput(f"{path} is not a readable WARC file (at byte {offset}: {exc})") from exc
    return records


def _check_whole(record: Any, path: Path, offset: int) -> None:
    # warcio reads a record cut short by the end of the file without a word: the bytes its
    # Content-Length promised and never got are still counted in the stream's limit.
    missing = getattr(record.raw_stream, "limit", 0) or 0
    if missing > 0:
        raise BadInput(
            f"{path} is cut off: the record at byte {offset} lacks its last {missing} bytes"
        )


def _entry(
    record: Any, path: Path, offset: int, by_digest: dict[str, CdxRecord]
) -> CdxRecord | None:
    kind = record.rec_type
    if kind not in _KINDS:
        return None
    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
    digest = (record.rec_headers.get_header("WARC-Payload-Digest") or "").partition(":")[2]
    stamp = _timestamp(record.rec_headers.get_header("WARC-Date") or "")
    if kind == "revisit":
        original = by_digest.get(digest)
        if original is None:
            return None  # refers to a payload this file does not hold
        return _replace(original, uri, stamp)
    http = record.http_headers
    status = http.get_statuscode() if http is not None else "-"
    mime = (http.get_header("Content-Type") if http is not None else None) or "unk"
    entry = CdxRecord(
        urlkey=surt(uri),
        timestamp=stamp,
        original=uri,
        mimetype=mime.split(";")[0].strip(),
        statuscode=status or "-",
        digest=digest,
        length=str(record.length or 0),
        offset=str(offset),
        filename=str(path.resolve()),
    )
    by_digest.setdefault(digest, entry)
    return entry


def _replace(original: CdxRecord, uri: str, stamp: str) -> CdxRecord:
    return dataclasses.replace(original, urlkey=surt(uri), timestamp=stamp, original=uri)


def _timestamp(warc_date: str) -> str:
    digits = "".join(c for c in warc_date if c.isdigit())[:14]
    return digits.ljust(14, "0")


# -- reading a record back -----------------------------------------------------------------


@contextlib.contextmanager
def open_record(path: Path, offset: int) -> Iterator[Any]:
    """The record at ``offset`` of ``path`` (warcio's ``ArcWarcRecord``), file closed after."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    stream: IO[bytes] = path.open("rb")
    try:
        stream.seek(offset)
        try:
            record = next(iter(ArchiveIterator(stream)))
        except (ArchiveLoadFailed, StopIteration, EOFError, ValueError) as exc:
            raise BadInput(f"{path} has no readable WARC record at byte {offset}") from exc
        yield record
    finally:
        stream.close()


def _page_text(record: CdxRecord, cap: int) -> str | None:
    with open_record(Path(record.filename or ""), int(record.offset or 0)) as warc:
        body = warc.content_stream().read(cap)
        charset = _charset(warc.http_headers.get_header("Content-Type") or "")
    try:
        return bytes(body).decode(charset, "replace")
    except LookupError:
        return bytes(body).decode("utf-8", "replace")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def _held(records: Sequence[CdxRecord]) -> list[HeldRange | None]:
    return [_held_one(r) for r in records if r.status == 206]


def _held_one(record: CdxRecord) -> HeldRange | None:
    with open_record(Path(record.filename or ""), int(record.offset or 0)) as warc:
        value = warc.http_headers.get_header("Content-Range") or ""
    spec = value.strip().removeprefix(_CONTENT_RANGE_PREFIX)
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    if not (first.isdigit() and last.isdigit()):
        return None
    size = int(total) if total.isdigit() else None
    return HeldRange(record, int(first), int(last) + 1, size)
