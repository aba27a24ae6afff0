"""Plain result types shared by resolvers, the downloader, the service, the CLI and Temporal.

``ResolvedVideo`` and ``DownloadResult`` are the one shape of a result. ``to_json`` gives the
record in the JSON field vocabulary (README) (``--json``, info JSON, Temporal payloads) and
``from_json`` reads it back, so a new field is added here (with its JSON name, when it differs
from the attribute's) and nowhere else: the CLI, the Temporal dataclasses and the result
readers all go through these two methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)``; must be cheap and never raise."""


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """What ``on_retry`` hears before each wait between attempts (the library never prints)."""

    wait: float
    """Seconds until the next attempt."""
    error: BaseException
    """Why the last attempt failed."""
    attempt: int
    """The attempt that failed (1 for the first)."""
    attempts: int
    """How many attempts the retry budget allows in all."""

    def __str__(self) -> str:
        return f"retrying in {self.wait:.1f} s: {self.error}"


RetryCallback = Callable[[RetryNotice], None]
"""Called before each wait between attempts; must be cheap and never raise."""

# Field metadata: "json" renames a field in the record; "private" keeps it out of public
# records (cookies, the referer): only ``to_json(private=True)`` carries them, for a download
# that continues on another worker. "internal" fields never leave the process.
_PRIVATE = {"private": True}
_INTERNAL = {"internal": True}


class Cookie(NamedTuple):
    name: str
    value: str
    domain: str
    path: str = "/"


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaPiece:
    """Bytes ``[start, end)`` of a ``total``-byte video, held by one capture at ``url``.

    Archived videos are often held only as several such pieces (a browser fetched them in
    ranges); the downloader joins them (``download.assemble``).
    """

    url: str
    start: int
    end: int
    total: int
    captured_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return _record(self, private=True)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> MediaPiece:
        return cls(**_values(cls, record))


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedVideo:
    """A direct MP4 URL and what the page said about it."""

    share_url: str
    share_id: str
    mp4_url: str
    resolver: str
    """Which resolver found it: ``static``, ``browser``, ``har`` or ``archive``."""
    strategy: str
    """Which strategy inside the resolver: ``og:video``, ``post-json``, ``network``, ..."""
    variant: str | None = None
    """Encoding name when known: ``source``, ``source_wm``, ``md``, ``ld``."""
    watermarked: bool | None = None
    """True for a watermarked file, False for a clean one, None when the page does not tell."""
    width: int | None = None
    height: int | None = None
    n_frames: int | None = None
    duration_seconds: float | None = None
    title: str | None = None
    prompt: str | None = None
    username: str | None = None
    """The author's Sora username, when the page names it."""
    post_state: str | None = None
    """``public``, ``removed`` or ``private`` when the page says."""
    expires_at: datetime | None = None
    page_captured_at: datetime | None = None
    """Archive results: when the archived page was captured."""
    media_captured_at: datetime | None = None
    original_media_url: str | None = None
    """Archive results: the CDN URL the page named, as it was captured."""
    replay_url: str | None = None
    """Archive results: the archive's ``id_`` replay of that capture (what is downloaded)."""
    media_ranges_held: tuple[tuple[int, int], ...] | None = None
    """Archive results held in pieces: the byte ranges the archive holds, inclusive."""
    post_id: str | None = None
    generation_id: str | None = None
    profile_url: str | None = None
    posted_at: datetime | None = None
    """When the post was made, when the page says."""
    pieces: tuple[MediaPiece, ...] = field(default=(), metadata=_PRIVATE)
    """When the archive holds the video only in pieces: the captures to join (the first is
    ``mp4_url``). Empty for a video fetched whole."""
    cookies: tuple[Cookie, ...] = field(default=(), metadata=_PRIVATE)
    """Cookies the page ended up with; the CDN may want them."""
    referer: str | None = field(default=None, metadata=_PRIVATE)
    max_connections: int | None = field(default=None, metadata=_PRIVATE)
    """Most connections the media's host should get for this file, when it is not the
    downloader's to decide: an archive replays a recorded 206 whole, whatever range is asked."""

    def to_json(self, *, private: bool = False) -> dict[str, Any]:
        return _record(self, private=private)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> ResolvedVideo:
        values = _values(cls, record)
        values["cookies"] = tuple(Cookie(*c) for c in values.get("cookies") or ())
        values["pieces"] = tuple(MediaPiece.from_json(p) for p in values.get("pieces") or ())
        held = values.get("media_ranges_held")
        values["media_ranges_held"] = None if held is None else tuple(map(tuple, held))
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadResult:
    """A verified file on disk."""

    path: Path = field(metadata={"json": "local_path"})
    url: str = field(metadata={"json": "mp4_url"})
    """The URL the bytes came from (a refreshed signature, an archive replay)."""
    size: int = field(metadata={"json": "file_size_bytes"})
    sha256: str
    content_type: str | None = field(default=None, metadata=_INTERNAL)
    resumed_from: int = 0
    """Bytes that were already in the ``.part`` file when this run started."""
    attempts: int = field(default=1, metadata=_INTERNAL)
    connections: int = 1
    elapsed: float = field(default=0.0, metadata={"json": "elapsed_seconds"})
    reresolved: int = field(default=0, metadata=_INTERNAL)
    downloaded_at: datetime | None = None
    """When the file was put in place (UTC)."""

    def to_json(self) -> dict[str, Any]:
        record = _record(self, private=False)
        record["elapsed_seconds"] = round(self.elapsed, 3)
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> DownloadResult:
        values = _values(cls, record)
        values["path"] = Path(values["path"])
        return cls(**values)


def _json_name(item: Any) -> str:
    return str(item.metadata.get("json", item.name))


def _record(obj: Any, *, private: bool) -> dict[str, Any]:
    """``obj``'s fields as JSON values under their record names."""
    record: dict[str, Any] = {}
    for item in fields(obj):
        if item.metadata.get("internal") or (item.metadata.get("private") and not private):
            continue
        record[_json_name(item)] = _to_json_value(getattr(obj, item.name))
    return record


def _to_json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_to_json_value(v) for v in value]
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


def _values(cls: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments from a record: known names only, times parsed back."""
    values: dict[str, Any] = {}
    for item in fields(cls):
        name = _json_name(item)
        if name in record and not item.metadata.get("internal"):
            value = record[name]
            if item.type in ("datetime | None", "datetime") and isinstance(value, str):
                value = datetime.fromisoformat(value)
            values[item.name] = value
    return values
