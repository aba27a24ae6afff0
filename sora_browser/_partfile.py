"""The files beside a download: ``<output>.part``, its ``.part.json`` state and ``.lock``.

The state file records the validators (``ETag``, ``Last-Modified``) and the total size the
``.part`` bytes belong to, plus the progress of each range segment in a parallel download, so a
later run (even after ``kill -9``) can resume with ``Range`` + ``If-Range`` instead of starting
over. It is written before the bytes it describes and only ever claims bytes already written,
so a crash leaves it pessimistic, never wrong. A ``.part`` with no state is not trusted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import DownloadLocked, LocalFileError

STATE_VERSION = 1


@contextlib.contextmanager
def local_errors(what: str) -> Iterator[None]:
    """Turn an ``OSError`` from the file system into a one-line ``LocalFileError``."""
    try:
        yield
    except LocalFileError:
        raise
    except OSError as exc:
        raise LocalFileError.from_oserror(exc, what) from exc


@dataclass
class Segment:
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
    segments: list[Segment] | None = None
    """``None`` for a sequential download, where the ``.part`` length is the progress."""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def validator(self) -> str | None:
        """What to send as ``If-Range``: a strong ETag, else the Last-Modified date."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag  # RFC 9110 13.1.5: weak ETags must not be used in If-Range
        return self.last_modified


class PartFiles:
    """Paths and file handling for one output path."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.part = output.with_name(output.name + ".part")
        self.state_path = output.with_name(output.name + ".part.json")
        self.lock_path = output.with_name(output.name + ".lock")

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

    def load_state(self) -> PartState | None:
        """The saved state, or ``None`` when missing or unreadable (then start over)."""
        try:
            data = json.loads(self.state_path.read_text())
            if data.pop("version", None) != STATE_VERSION:
                return None
            segments = data.pop("segments", None)
            state = PartState(**data)
            if segments is not None:
                state.segments = [Segment(*s) for s in segments]
            return state
        except (OSError, ValueError, TypeError):
            return None

    def save_state(self, state: PartState) -> None:
        data = asdict(state)
        data["segments"] = (
            None if state.segments is None else [[s.start, s.end, s.pos] for s in state.segments]
        )
        data["version"] = STATE_VERSION
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        with local_errors("save download state"):
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.state_path)

    def open_part(self) -> int:
        """A read-write descriptor on the ``.part`` (created if missing, never truncated)."""
        with local_errors("open the partial file"):
            return os.open(self.part, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def discard(self) -> None:
        """Remove the ``.part`` and its state (garbage that must not be resumed)."""
        for path in (self.part, self.state_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def commit(self, fd: int) -> None:
        """Flush the ``.part`` to disk and move it into place atomically."""
        with local_errors("finish the output file"):
            os.fsync(fd)
            os.replace(self.part, self.output)
            _fsync_dir(self.output.parent)
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()

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
