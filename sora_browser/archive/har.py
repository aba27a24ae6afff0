"""The video inside a HAR file: media bodies a browser's HAR export embedded (base64).

A HAR saved from a browser's dev tools (or recorded with ``--record-har`` while the video
played) holds each response's body, binary ones as base64. A player fetches video in ranges,
so a HAR usually holds ``206`` pieces, sometimes a whole ``200``. ``HarMedia`` answers as an
archive does (``holdings``): a whole body, pieces (joined by the same assembler as archived
pieces), or nothing; the downloader reads a body through ``har:<path>#<entry>`` URLs
(``download/harmedia.py``). The HAR is read once; it already sits in memory as JSON.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ..errors import BadInput
from .cdx import CdxRecord, strip_query, surt
from .pieces import HeldRange, PiecesFound, pieces_found
from .replay import MediaCapture

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class HarMedia:
    """The media bodies of one HAR file, by URL without its signature."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self._entries: list[dict[str, Any]] | None = None

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The HAR's entries, read on first use (the replay reads the file first)."""
        if self._entries is None:
            self._entries = load_entries(self.path)
        return self._entries

    def media_url(self, index: int) -> str:
        return har_url(self.path, index)

    def holdings(self, media_url: str) -> MediaCapture | PiecesFound | None:
        """The HAR's body of ``media_url`` (any signature): whole, pieces, or nothing."""
        key = surt(strip_query(media_url))
        held: list[HeldRange] = []
        for index, entry in enumerate(self.entries):
            if surt(strip_query(_url(entry))) != key or not body_text(entry):
                continue
            found = _held(self.path, index, entry)
            if found is not None and found.whole:
                return MediaCapture(found.record, found.total)
            if found is not None:
                held.append(found)
        return pieces_found(held, lambda h: har_url(self.path, int(h.record.offset or 0)))


def load_entries(path: Path) -> list[dict[str, Any]]:
    """``log.entries`` of a HAR file; ``BadInput`` naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["log"]["entries"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"Cannot read {path} as a HAR file ({exc})") from exc
    if not isinstance(entries, list):
        raise BadInput(f"Cannot read {path} as a HAR file (log.entries is not a list)")
    return [e for e in entries if isinstance(e, dict)]


def har_url(path: Path, index: int) -> str:
    return f"har:{quote(str(path))}#{index}"


def parse_har_url(url: str) -> tuple[Path, int]:
    body, _, index = url.removeprefix("har:").partition("#")
    return Path(unquote(body)), int(index or 0)


def body_text(entry: dict[str, Any]) -> str:
    content = entry.get("response", {}).get("content", {})
    text = content.get("text") if isinstance(content, dict) else None
    return text if isinstance(text, str) else ""


def header(entry: dict[str, Any], name: str) -> str | None:
    for item in entry.get("response", {}).get("headers", []):
        if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
            return str(item.get("value", ""))
    return None


def _url(entry: dict[str, Any]) -> str:
    return str(entry.get("request", {}).get("url", ""))


def _held(path: Path, index: int, entry: dict[str, Any]) -> HeldRange | None:
    """What one entry's body holds of the file."""
    size = decoded_size(entry)
    status = int(entry.get("response", {}).get("status", 0) or 0)
    record = _record(path, index, entry, status)
    if status == 200:
        # A body cut short (the player stopped, the export trimmed it) is a piece too.
        promised = header(entry, "Content-Length")
        total = int(promised) if promised and promised.isdigit() else size
        return HeldRange(record, 0, size, total)
    match = _CONTENT_RANGE.fullmatch((header(entry, "Content-Range") or "").strip())
    if status != 206 or match is None:
        return None
    first = int(match[1])
    return HeldRange(record, first, first + size, None if match[3] == "*" else int(match[3]))


def decoded_size(entry: dict[str, Any]) -> int:
    """Bytes the entry's body holds, once decoded."""
    text = body_text(entry)
    if entry.get("response", {}).get("content", {}).get("encoding") == "base64":
        return len(text) * 3 // 4 - text[-2:].count("=")
    return len(text.encode("utf-8"))


def _record(path: Path, index: int, entry: dict[str, Any], status: int) -> CdxRecord:
    url = _url(entry)
    started = str(entry.get("startedDateTime", ""))
    try:
        moment = datetime.fromisoformat(started.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        moment = datetime(1970, 1, 1, tzinfo=UTC)
    return CdxRecord(
        urlkey=surt(url),
        timestamp=moment.strftime("%Y%m%d%H%M%S"),
        original=url,
        mimetype=(header(entry, "Content-Type") or "unk").split(";")[0],
        statuscode=str(status),
        digest="",
        length=str(decoded_size(entry)),
        offset=str(index),
        filename=str(path),
    )
