"""The files beside a download, and all file work on them: ``<output>.part``, its
``.part.json`` state and ``<output>.lock``.

``PartFile`` owns the ``.part`` from open to commit: its descriptor, the saved state, the sha256
of what it holds so far, resetting it, and the final fsync and atomic rename. The downloader
keeps the network side (retries, re-resolution, deadlines) and never touches the file itself.

The state file records the validators (``ETag``, ``Last-Modified``) and the total size the
``.part`` bytes belong to, plus the progress of each piece in a parallel download, so a later
run (even after ``kill -9``) can resume with ``Range`` + ``If-Range`` instead of starting over.
It is written before the bytes it describes and only ever claims bytes already written, so a
crash leaves it pessimistic, never wrong. A ``.part`` with no state is not trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DownloadLocked, LocalFileError, NotAVideo, local_errors
from .writer import Hasher, hash_file

STATE_VERSION = 1


@dataclass
class Piece:
    """Bytes ``[start, end)`` of the file; ``pos`` is how far they are written."""

    start: int
    end: int
    pos: int

    @property
    def remaining(self) -> int:
        return self.end - self.pos


@dataclass
class PartState:
    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None
    pieces: list[Piece] | None = None
    """``None`` for a sequential download, where the ``.part`` length is the progress."""
    checks: list[list[Any]] = field(default_factory=list)
    """A video joined from archived pieces: ``[start, end, sha256]`` of bytes that a later
    piece carried too, to compare with what the file holds once every piece is in."""

    @property
    def validator(self) -> str | None:
        """What to send as ``If-Range``: a strong ETag, else the Last-Modified date."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag  # RFC 9110 13.1.5: weak ETags must not be used in If-Range
        return self.last_modified

    def to_json(self) -> dict[str, Any]:
        pieces = None if self.pieces is None else [[p.start, p.end, p.pos] for p in self.pieces]
        return {
            "version": STATE_VERSION,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "total": self.total,
            "pieces": pieces,
            "checks": self.checks,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartState | None:
        if data.get("version") != STATE_VERSION:
            return None
        # "segments" is what releases before 0.2 called the pieces; their .part files resume.
        pieces = data.get("pieces", data.get("segments"))
        return cls(
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
            total=data.get("total"),
            pieces=None if pieces is None else [Piece(*p) for p in pieces],
            checks=list(data.get("checks") or []),
        )


class PartFile:
    """The ``.part`` of one output path: bytes, state, running hash, reset and commit."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.part = output.with_name(output.name + ".part")
        self.state_path = output.with_name(output.name + ".part.json")
        self.lock_path = output.with_name(output.name + ".lock")
        self.fd = -1
        self.state = PartState()
        self.hasher: Hasher = hashlib.sha256()
        self.hashed = 0
        """The hasher has seen bytes ``[0, hashed)`` of the ``.part``."""

    # -- before the download ---------------------------------------------------------------

    def refuse_special_output(self) -> None:
        """Never replace a device, FIFO, socket or folder at the output path with the video.

        The download ends with a rename onto the output path, which would swap ``/dev/null``
        (or any special file a user names) for a regular file, so those fail before anything
        is created beside them.
        """
        try:
            mode = os.stat(self.output).st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            raise LocalFileError.from_oserror(exc, "check the output path") from exc
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise LocalFileError(
                f"Cannot write the video to {self.output}: it is {kind}", path=str(self.output)
            )

    def open(self) -> None:
        """Open (or create) the ``.part`` and load its state; a ``.part`` without state is
        emptied, since nothing says which file its bytes belong to."""
        state = self.saved_state()
        with local_errors("open the partial file"):
            self.fd = os.open(self.part, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if state is None:
            self._truncate()
            state = PartState()
        self.state = state

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # -- what it holds ---------------------------------------------------------------------

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def done(self) -> int:
        """Bytes downloaded so far: the pieces' progress, or the ``.part``'s length."""
        if self.state.pieces is not None:
            return sum(p.pos - p.start for p in self.state.pieces)
        return self.size()

    def complete(self) -> bool:
        total = self.state.total
        pieces_done = not any(p.remaining for p in self.state.pieces or ())
        return pieces_done and (total is None or self.size() == total)

    def head(self, count: int) -> bytes:
        with local_errors("read the partial file"):
            return os.pread(self.fd, count, 0)

    # -- changing it -----------------------------------------------------------------------

    def reset(self) -> None:
        """Start over: no bytes, no state, a fresh hash."""
        self._truncate()
        self.state = PartState()
        self.hasher, self.hashed = hashlib.sha256(), 0
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()

    def save_state(self) -> None:
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        with local_errors("save download state"):
            tmp.write_text(json.dumps(self.state.to_json()))
            os.replace(tmp, self.state_path)

    def preallocate(self, total: int) -> None:
        """Reserve the whole file now, so a full disk fails up front rather than at 97 %."""
        with local_errors("reserve space for the download"):
            try:
                os.posix_fallocate(self.fd, 0, total)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                os.ftruncate(self.fd, total)

    async def hash_to(self, end: int) -> None:
        """Feed the hasher up to ``end`` from the file itself, in a thread (a resume, or the
        parallel download's completed prefix)."""
        if self.hashed > end:
            self.hasher, self.hashed = hashlib.sha256(), 0
        if self.hashed < end:
            with local_errors("read the partial file"):
                await asyncio.to_thread(hash_file, self.fd, self.hasher, self.hashed, end)
            self.hashed = end

    def _truncate(self) -> None:
        with local_errors("reset the partial file"):
            os.ftruncate(self.fd, 0)

    # -- after the download ----------------------------------------------------------------

    def check_ftyp(self, url: str) -> None:
        """An MP4 (ISO-BMFF) starts with a box whose type, bytes 4..8, is ``ftyp``."""
        head = self.head(8).ljust(8, b"\0")
        if head[4:8] != b"ftyp":
            raise NotAVideo(f"The downloaded body is not an MP4 (starts with {head!r})", url=url)

    def commit(self) -> None:
        """Flush the ``.part`` to disk and move it into place atomically."""
        with local_errors("finish the output file"):
            os.fsync(self.fd)
            os.replace(self.part, self.output)
            _fsync_dir(self.output.parent)
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()

    def discard(self) -> None:
        """Remove the ``.part`` and its state (garbage that must not be resumed)."""
        for path in (self.part, self.state_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def drop_if_empty(self) -> None:
        """A failed first attempt should not leave an empty ``.part`` and state behind."""
        with contextlib.suppress(OSError):
            if self.part.stat().st_size == 0:
                self.discard()

    def saved_state(self) -> PartState | None:
        """The saved state, or ``None`` when missing or unreadable (then start over)."""
        try:
            return PartState.from_json(json.loads(self.state_path.read_text()))
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    # -- one writer per output path --------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive ``flock`` on ``<output>.lock``; fail at once if another has it."""
        fd = self._acquire_lock()
        try:
            yield
        finally:
            # Unlink while still holding the lock: a waiter that then locks the old inode
            # notices (see _acquire_lock) and retries on a fresh file.
            with contextlib.suppress(FileNotFoundError):
                self.lock_path.unlink()
            os.close(fd)

    def _acquire_lock(self) -> int:
        for _ in range(10):
            with local_errors("create the lock file"):
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise DownloadLocked(
                        f"Another download is already writing {self.output}"
                        f" (lock held on {self.lock_path})",
                        errno_=exc.errno,
                        path=str(self.output),
                    ) from exc
                raise LocalFileError.from_oserror(exc, "lock the output path") from exc
            if _same_file(fd, self.lock_path):
                return fd
            os.close(fd)
        raise DownloadLocked(f"Could not lock {self.lock_path}", path=str(self.output))


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; some file systems refuse O_RDONLY on dirs, so best effort.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
