"""Files the tool creates, opened so that nothing planted in their place is ever followed.

The folders a download writes in may be shared: the default one lives in the system temp
folder, where any local user can create ``sora_videos`` first, or plant ``X.mp4.part`` as a
symlink to a file of the user who runs the tool next (root, in a pipeline). So every file the
tool creates is opened relative to its folder's descriptor, with ``O_NOFOLLOW``; a new one
with ``O_EXCL``; an existing one only when it is a regular file of this user with one link.
Anything else in its place (a symlink, a FIFO, a device, a folder, a hard link to another
file) is a ``LocalFileError`` naming it (exit 5), and is never followed or written.

Names: the side files append up to ``.part.json.tmp`` to the output's name; when that would
pass the folder's name limit (``NAME_MAX``, 255 bytes on most file systems), their stem is
cut and ends in a hash of the full name, so a long OUTPUT still gets its ``.part``, and the
same ``.part`` again on the next run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .errors import LocalFileError, local_errors

__all__ = [
    "LONGEST_SUFFIX",
    "check_private_folder",
    "open_append",
    "open_folder",
    "open_regular",
    "place_file",
    "prepare_private_folder",
    "read_bytes",
    "remove_leftover",
    "replace_into",
    "side_stem",
]

LONGEST_SUFFIX = ".part.json.tmp"
DEFAULT_NAME_MAX = 255
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def side_stem(name: str, name_max: int = DEFAULT_NAME_MAX) -> str:
    """The stem side files of ``name`` use: ``name`` itself when the longest fits."""
    encoded = os.fsencode(name)
    if len(encoded) + len(LONGEST_SUFFIX) <= name_max:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    keep = max(0, name_max - len(LONGEST_SUFFIX) - len(digest) - 1)
    return encoded[:keep].decode("utf-8", "ignore") + "~" + digest


def name_max(folder_fd: int) -> int:
    try:
        return os.fpathconf(folder_fd, "PC_NAME_MAX")
    except (OSError, ValueError):
        return DEFAULT_NAME_MAX


def open_folder(folder: Path) -> int:
    """A descriptor for ``folder``, relative to which its files are opened."""
    with local_errors("open the output folder"):
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def open_regular(folder_fd: int, name: str, where: Path, *, flags: int, create: bool) -> int | None:
    """Open ``name`` in the folder: a new file exclusively, an existing one only when safe.

    ``None`` when it does not exist and ``create`` is false. ``where`` names it in errors.
    """
    for _ in range(3):
        try:
            found = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        except FileNotFoundError:
            if not create:
                return None
            fd = _create_new(folder_fd, name, where, flags)
        except OSError as exc:
            raise LocalFileError.from_oserror(exc, f"check {where.name}") from exc
        else:
            refuse_unsafe(found, folder_fd, name, where)
            fd = _open_existing(folder_fd, name, where, flags)
            if fd is not None and not os.path.samestat(found, os.fstat(fd)):
                os.close(fd)  # swapped between the look and the open: look again
                fd = None
        if fd is not None:
            return fd
    raise LocalFileError(f"Refusing to use {where}: it keeps changing under us", path=str(where))


def _create_new(folder_fd: int, name: str, where: Path, flags: int) -> int | None:
    try:
        return os.open(name, flags | _NOFOLLOW | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=folder_fd)
    except FileExistsError:
        return None  # created meanwhile by someone else: look at what it is
    except OSError as exc:
        raise LocalFileError.from_oserror(exc, f"create {where.name}") from exc


def _open_existing(folder_fd: int, name: str, where: Path, flags: int) -> int | None:
    try:
        return os.open(name, flags | _NOFOLLOW, dir_fd=folder_fd)
    except FileNotFoundError:
        return None  # removed between the look and the open (a lock file): look again
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _unsafe(where, "it is a symbolic link") from exc
        raise LocalFileError.from_oserror(exc, f"open {where.name}") from exc


def refuse_unsafe(found: os.stat_result, folder_fd: int, name: str, where: Path) -> None:
    """``LocalFileError`` unless ``found`` is a regular file of this user with one link."""
    if stat.S_ISLNK(found.st_mode):
        target = _link_target(folder_fd, name)
        raise _unsafe(where, f"it is a symbolic link (to {target})")
    if not stat.S_ISREG(found.st_mode):
        kind = "a folder" if stat.S_ISDIR(found.st_mode) else "not a regular file"
        raise _unsafe(where, f"it is {kind}")
    if found.st_uid != os.geteuid():
        raise _unsafe(where, f"another user (uid {found.st_uid}) owns it")
    if found.st_nlink != 1:
        raise _unsafe(where, f"it has {found.st_nlink} hard links")


def _link_target(folder_fd: int, name: str) -> str:
    try:
        return os.readlink(name, dir_fd=folder_fd)
    except OSError:
        return "?"


def _unsafe(where: Path, why: str) -> LocalFileError:
    return LocalFileError(
        f"Refusing to use {where}: {why}; it was not created by this tool, remove it and run again",
        errno_=errno.EEXIST,
        path=str(where),
    )


def remove_leftover(folder_fd: int, name: str, where: Path) -> None:
    """Remove our own leftover ``name`` (a crash's temporary); refuse anything planted."""
    try:
        found = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    refuse_unsafe(found, folder_fd, name, where)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folder_fd)


def replace_into(folder_fd: int, name: str, data: bytes, where: Path) -> None:
    """Write ``data`` to a fresh temporary beside ``name``, then rename it over ``name``.

    The rename replaces whatever entry ``name`` is (even a symlink) without following it.
    """
    temporary = name + ".tmp"
    temporary_at = where.with_name(temporary)
    remove_leftover(folder_fd, temporary, temporary_at)
    fd = open_regular(folder_fd, temporary, temporary_at, flags=os.O_WRONLY, create=True)
    assert fd is not None
    try:
        with local_errors(f"write {temporary_at.name}"):
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    with local_errors(f"write {where.name}"):
        os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)


def place_file(source: Path, dest: Path) -> None:
    """Put a copy of ``source`` (a file of ours) at ``dest``, replacing, never following, it."""
    with local_errors(f"read {source}"):
        data = source.read_bytes()
    folder = open_folder(dest.parent)
    try:
        replace_into(folder, dest.name, data, dest)
    finally:
        os.close(folder)


def open_append(path: Path) -> int:
    """``path`` open for appending (created if new), never through a planted symlink."""
    folder = open_folder(path.parent)
    try:
        fd = open_regular(folder, path.name, path, flags=os.O_WRONLY | os.O_APPEND, create=True)
    finally:
        os.close(folder)
    assert fd is not None
    return fd


def read_bytes(path: Path) -> bytes | None:
    """The whole of ``path``, or ``None`` when it does not exist (never through a symlink)."""
    with _opened(path, os.O_RDONLY, create=False) as fd:
        if fd is None:
            return None
        with local_errors(f"read {path}"):
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)


@contextlib.contextmanager
def _opened(path: Path, flags: int, *, create: bool) -> Iterator[int | None]:
    folder = open_folder(path.parent)
    try:
        fd = open_regular(folder, path.name, path, flags=flags, create=create)
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)
    finally:
        os.close(folder)


# -- the default output folder -----------------------------------------------------------------


def prepare_private_folder(folder: Path) -> None:
    """Create ``folder`` (mode 0700, under the umask) or check that it is safe to write in.

    For the default folder in the system temp folder, which any local user could have made
    first: it must be a real folder owned by this user and writable by no one else (unless
    sticky, as /tmp itself is).
    """
    with local_errors("create the output folder"):
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
    check_private_folder(folder)


def check_private_folder(folder: Path) -> None:
    try:
        found = os.lstat(folder)
    except OSError as exc:
        raise LocalFileError.from_oserror(exc, "use the output folder") from exc
    fix = "remove it, or pass OUTPUT or --output-dir"
    if stat.S_ISLNK(found.st_mode) or not stat.S_ISDIR(found.st_mode):
        raise _unsafe_folder(folder, "it is not a folder but a link or a file", fix)
    if found.st_uid != os.geteuid():
        raise _unsafe_folder(folder, f"another user (uid {found.st_uid}) owns it", fix)
    shared = found.st_mode & stat.S_IWOTH or (
        found.st_mode & stat.S_IWGRP and found.st_gid != os.getegid()
    )
    if shared and not found.st_mode & stat.S_ISVTX:
        why = f"others may write in it (mode {stat.S_IMODE(found.st_mode):o})"
        raise _unsafe_folder(folder, why, f"chmod go-w it, or {fix}")


def _unsafe_folder(folder: Path, why: str, fix: str) -> LocalFileError:
    return LocalFileError(f"Refusing the output folder {folder}: {why}; {fix}", path=str(folder))
