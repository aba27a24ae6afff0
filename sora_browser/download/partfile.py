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

Every side file is opened through ``safefs``: relative to the folder's descriptor, never
through a symlink, new ones exclusively, so nothing planted beside OUTPUT is followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
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

from .. import safefs
from ..errors import DownloadLocked, LocalFileError, NotAVideo, local_errors
from . import libc
from .writer import Hasher, hash_file

STATE_VERSION = 1
RESERVE_MARGIN = 64 * 1024 * 1024
"""Free space a reservation leaves (or a twentieth of a small disk): the rest of the system
needs room too."""


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
        stem = safefs.side_stem(output.name, _name_max(output.parent))
        self.part = output.with_name(stem + ".part")
        self.state_path = output.with_name(stem + ".part.json")
        self.lock_path = output.with_name(stem + ".lock")
        self.fd = -1
        self.state = PartState()
        self.hasher: Hasher = hashlib.sha256()
        self.hashed = 0
        """The hasher has seen bytes ``[0, hashed)`` of the ``.part``."""
        self._folder = -1
        """The output folder's descriptor while the lock is held (see ``_in_folder``)."""

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
        with self._in_folder() as folder:
            fd = safefs.open_regular(
                folder, self.part.name, self.part, flags=os.O_RDWR, create=True
            )
        assert fd is not None
        self.fd = fd
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
        return self.read(0, count)

    def read(self, offset: int, count: int) -> bytes:
        with local_errors("read the partial file"):
            return os.pread(self.fd, count, offset)

    # -- changing it -----------------------------------------------------------------------

    def reset(self) -> None:
        """Start over: no bytes, no state, a fresh hash."""
        self._truncate()
        self.state = PartState()
        self.hasher, self.hashed = hashlib.sha256(), 0
        self._unlink(self.state_path)

    def save_state(self) -> None:
        data = json.dumps(self.state.to_json()).encode()
        with self._in_folder() as folder:
            safefs.replace_into(folder, self.state_path.name, data, self.state_path)

    def preallocate(self, total: int) -> None:
        """Reserve the whole file now, so a full disk fails up front rather than at 97 %.

        Never more than the free space minus a margin: ``total`` is the server's claim, and
        a failed reservation on ext4 keeps what it got (82 of 96 MiB held after exit 5). A
        reservation that fails anyway (the disk filled meanwhile) is released at once.
        """
        self._check_room(total)
        before = self.size()
        with local_errors("reserve space for the download"):
            try:
                os.posix_fallocate(self.fd, 0, total)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    with contextlib.suppress(OSError):
                        os.ftruncate(self.fd, before)  # give back what it took
                    raise
                os.ftruncate(self.fd, total)

    def reserve(self, total: int) -> bool:
        """Reserve the whole file's disk space, if there is room, without changing the
        ``.part``'s length (which stays its progress while one connection writes it in order).

        False when there is no room now: the download then goes on in order, on one
        connection, and a disk that fills stops it with what it wrote kept for a resume.
        True when reserved, and also where this way of reserving does not exist
        (``FALLOC_FL_KEEP_SIZE`` is Linux's; macOS and some network file systems lack it):
        nothing is held then, and the first split preallocates the file or, failing,
        stays on one connection."""
        try:
            self._check_room(total)
            _fallocate_keep_size(self.fd, total)
        except LocalFileError:
            return False
        except OSError as exc:
            with contextlib.suppress(OSError):
                # Cutting the file to its own length frees what a failed attempt took.
                os.ftruncate(self.fd, self.size())
            return exc.errno in (errno.ENOSYS, errno.EOPNOTSUPP)
        return True

    def _check_room(self, total: int) -> None:
        held = os.fstat(self.fd).st_blocks * 512
        free, size = free_space(self.fd)
        margin = min(RESERVE_MARGIN, size // 20)
        if total - held > free - margin:
            raise LocalFileError(
                f"Cannot reserve space for the download (no space left on device: the server"
                f" says {total} bytes, {free} bytes free, keeping {margin} spare): {self.part}",
                errno_=errno.ENOSPC,
                path=str(self.part),
            )

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
        """Flush the ``.part`` to disk and move it into place atomically.

        The rename replaces whatever entry OUTPUT is (a symlink too) and never follows it.
        """
        with self._in_folder() as folder, local_errors("finish the output file"):
            os.fsync(self.fd)
            os.replace(self.part.name, self.output.name, src_dir_fd=folder, dst_dir_fd=folder)
            _fsync_folder(folder)
        self._unlink(self.state_path)

    def discard(self) -> None:
        """Remove the ``.part`` and its state (garbage that must not be resumed)."""
        for path in (self.part, self.state_path):
            self._unlink(path)

    def drop_if_empty(self) -> None:
        """A failed first attempt should not leave an empty ``.part`` and state behind."""
        with contextlib.suppress(OSError), self._in_folder() as folder:
            found = os.stat(self.part.name, dir_fd=folder, follow_symlinks=False)
            if stat.S_ISREG(found.st_mode) and found.st_size == 0:
                self.discard()

    def saved_state(self) -> PartState | None:
        """The saved state, or ``None`` when missing or unreadable (then start over).

        A state file that is a symlink or not ours is an error, never read through.
        """
        with self._in_folder() as folder:
            fd = safefs.open_regular(
                folder, self.state_path.name, self.state_path, flags=os.O_RDONLY, create=False
            )
        if fd is None:
            return None
        try:
            with os.fdopen(fd, "rb") as file:
                return PartState.from_json(json.loads(file.read(1 << 20)))
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    def _unlink(self, path: Path) -> None:
        # Unlinking removes the entry itself (a planted symlink too), never what it points to.
        with contextlib.suppress(FileNotFoundError), self._in_folder() as folder:
            os.unlink(path.name, dir_fd=folder)

    @contextlib.contextmanager
    def _in_folder(self) -> Iterator[int]:
        """The output folder's descriptor: the one the lock holds, or one for this call."""
        if self._folder >= 0:
            yield self._folder
            return
        folder = safefs.open_folder(self.output.parent)
        try:
            yield folder
        finally:
            os.close(folder)

    # -- one writer per output path --------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive ``flock`` on ``<output>.lock``; fail at once if another has it.

        The output folder stays open meanwhile: every side file is reached through it, so a
        folder swapped for a symlink mid-run changes nothing.
        """
        self._folder = safefs.open_folder(self.output.parent)
        try:
            fd = self._acquire_lock()
            try:
                yield
            finally:
                # Unlink while still holding the lock: a waiter that then locks the old inode
                # notices (see _acquire_lock) and retries on a fresh file.
                self._unlink(self.lock_path)
                os.close(fd)
        finally:
            os.close(self._folder)
            self._folder = -1

    def _acquire_lock(self) -> int:
        name = self.lock_path.name
        for _ in range(10):
            fd = safefs.open_regular(
                self._folder, name, self.lock_path, flags=os.O_RDWR, create=True
            )
            assert fd is not None
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
            if _same_file(fd, self._folder, name):
                return fd
            os.close(fd)
        raise DownloadLocked(f"Could not lock {self.lock_path}", path=str(self.output))


_FALLOC_FL_KEEP_SIZE = 1


# Linux's fallocate(2) with flags; the os module has only posix_fallocate, which always
# changes the file's length.
_fallocate = libc.function("fallocate", ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)


def _fallocate_keep_size(fd: int, total: int) -> None:
    if _fallocate is None:
        raise OSError(errno.ENOSYS, "fallocate is not available")
    libc.checked(_fallocate(fd, _FALLOC_FL_KEEP_SIZE, 0, total))


def free_space(fd: int) -> tuple[int, int]:
    """Bytes an unprivileged user may still write on ``fd``'s file system, and its size."""
    found = os.fstatvfs(fd)
    return found.f_bavail * found.f_frsize, found.f_blocks * found.f_frsize


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return safefs.DEFAULT_NAME_MAX


def _same_file(fd: int, folder: int, name: str) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(name, dir_fd=folder, follow_symlinks=False))
    except FileNotFoundError:
        return False


def _fsync_folder(folder: int) -> None:
    # Makes the rename itself durable; some file systems refuse fsync on folders: best effort.
    with contextlib.suppress(OSError):
        os.fsync(folder)
