"""CDX answers kept on disk, so a batch or a rerun does not spend IA's 24-a-minute budget twice.

Layout: one JSON file per query, ``<folder>/<sha256 of the key>.json``, holding the key itself
(checked on read), the time it was stored and the records as rows in ``CdxRecord`` field order.
An empty answer is stored too: "never archived" is an answer worth keeping. The folder is
whatever the caller passes (the CLI passes the platform's user cache folder); the library never
looks one up in the environment.

The cache is an optimisation, so it never fails a lookup: a missing, expired, foreign or
corrupt file reads as a miss, and a write that fails is dropped. It is also a place other local
users might tamper with, so files are private (0o600, folder 0o700 when created here), reads
refuse symlinks and anything that is not a regular file, and writes go to a fresh temporary
file (``O_EXCL``) that ``os.replace`` moves over the old name: a symlink planted at that name is
replaced, never followed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .cdx import FIELDS, CdxRecord

log = logging.getLogger(__name__)

FORMAT = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
"""A bigger file is not ours (a 5,000-row CDX page is about 1 MB)."""
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK so a FIFO planted at the path cannot hang the open; regular files ignore it.
_READ_FLAGS |= getattr(os, "O_NONBLOCK", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_WRITE_FLAGS |= getattr(os, "O_CLOEXEC", 0)


def cache_key(endpoint: str, params: Iterable[tuple[str, str]]) -> str:
    """The normalised text of a query: the endpoint, then its parameters sorted, one a line.

    Sorting makes ``filter`` order irrelevant, which matches the server (filters are ANDed).
    Parameters are written as given: the URL asked about is not canonicalised, so the key is
    exactly the query that was sent.
    """
    lines = [f"v{FORMAT}", endpoint, *sorted(f"{name}={value}" for name, value in params)]
    return "\n".join(lines)


class CdxCache:
    """A folder of cached CDX answers, each valid for ``max_age`` seconds after it was stored."""

    def __init__(
        self, folder: Path, max_age: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        if max_age <= 0:
            raise ValueError("max_age must be positive")
        self.folder = folder
        self.max_age = max_age
        self._clock = clock

    def path_for(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.json"

    def get(self, key: str) -> tuple[CdxRecord, ...] | None:
        """The stored answer for ``key``, or None when missing, expired or unreadable."""
        data = _read_private(self.path_for(key))
        if data is None:
            return None
        try:
            return self._decode(key, json.loads(data))
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            log.debug("ignoring unreadable cache file for %r: %s", key, exc)
            return None

    def _decode(self, key: str, document: dict[str, object]) -> tuple[CdxRecord, ...] | None:
        if document["format"] != FORMAT or document["key"] != key:
            return None
        stored_at = document["stored_at"]
        if not isinstance(stored_at, int | float):
            return None
        if not 0 <= self._clock() - stored_at <= self.max_age:
            return None  # expired, or stored "in the future" by a clock that was wrong
        rows = document["records"]
        if not isinstance(rows, list):
            return None
        return tuple(_record(row) for row in rows)

    def put(self, key: str, records: Iterable[CdxRecord]) -> None:
        """Store the answer for ``key`` (atomically); a failure is logged and forgotten."""
        document = {
            "format": FORMAT,
            "key": key,
            "stored_at": self._clock(),
            "records": [[getattr(r, name) for name in FIELDS] for r in records],
        }
        data = json.dumps(document, separators=(",", ":")).encode("utf-8")
        try:
            self._ensure_folder()
            _write_atomically(self.path_for(key), data)
        except OSError as exc:
            log.debug("could not cache the answer for %r: %s", key, exc)

    def _ensure_folder(self) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _record(row: object) -> CdxRecord:
    if not isinstance(row, list) or len(row) != len(FIELDS):
        raise ValueError("a cached row of the wrong shape")
    if not all(value is None or isinstance(value, str) for value in row):
        raise ValueError("a cached row with a value that is not text")
    return CdxRecord(*row)


def _read_private(path: Path) -> bytes | None:
    """The file's bytes, unless it is missing, a symlink, not a regular file, or too big."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None  # missing, or ELOOP: a symlink where a cache file should be
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1024 * 1024):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, _WRITE_FLAGS, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        # No fsync: after a crash a torn file reads as corrupt, which is a miss, not harm.
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
