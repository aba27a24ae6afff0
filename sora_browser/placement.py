"""Whether a video is already where it would go, and which name it takes when another is.

Before anything is fetched the target is looked at (``inspect``):

- nothing there: download;
- the same video: its info JSON (``infojson``) names this share id and the file's sha256 is
  the one recorded; without an info JSON, a file of the size the server announces that starts
  like an MP4 (an ``ftyp`` box) counts as the same (``settle``). It is skipped: "already
  downloaded: PATH", exit 0, no media byte fetched;
- another video (its info JSON names another share id), or a file that is not the one
  expected: a templated name moves aside to ``name [<share id>].mp4`` (``naming.with_id``),
  so two videos never share a file; an explicit OUTPUT is exit 5 unless ``force_overwrites``.

A path another link of the same run has claimed counts as another video's too (``Claims``):
two links of one batch whose titles render the same name must not fight over its ``.part``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from . import infojson, naming
from .errors import BadInput, LocalFileError
from .models import ResolvedVideo
from .output import names_a_folder, output_path_for

Verdict = Literal["absent", "same", "another_video", "taken", "different", "unknown"]
_HEAD = 12


@dataclass(frozen=True, slots=True)
class Found:
    """What is at a target path."""

    verdict: Verdict
    path: Path
    why: str = ""
    record: dict[str, Any] | None = None
    """The info JSON beside it, when there is one."""
    sha256: str | None = None
    size: int = 0
    looks_like_mp4: bool = False


def inspect(path: Path, share_id: str) -> Found:
    """What is at ``path`` for the video ``share_id`` (hashes the file when it can tell):
    ``unknown`` when only the server's size can decide (``settle``)."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return Found("absent", path)
    except OSError as exc:
        return Found("different", path, why=exc.strerror or "cannot be read")
    if not stat.S_ISREG(found.st_mode):
        return Found("different", path, why="is not a regular file")
    record = infojson.read(path)
    if record is None:
        return Found("unknown", path, size=found.st_size, looks_like_mp4=_starts_like_mp4(path))
    owner = record.get("share_id")
    if isinstance(owner, str) and owner != share_id:
        return Found("another_video", path, why=f"holds another video ({owner})", record=record)
    digest = _sha256(path)
    if owner == share_id and record.get("sha256") == digest:
        return Found("same", path, record=record, sha256=digest, size=found.st_size)
    why = "does not match the info JSON beside it (sha256)"
    return Found("different", path, why=why, record=record, size=found.st_size)


def settle(found: Found, remote_size: int | None) -> Found:
    """An ``unknown`` file decided by the size the server announces for the video."""
    if found.verdict != "unknown":
        return found
    if remote_size is not None and found.size == remote_size and found.looks_like_mp4:
        return Found("same", found.path, size=found.size, sha256=_sha256(found.path))
    size = "unknown" if remote_size is None else f"{remote_size} bytes"
    why = f"holds another file ({found.size} bytes; the video is {size})"
    return Found("different", found.path, why=why, size=found.size)


@dataclass
class Claims:
    """Paths the links of one run have taken, so two of them never write the same file."""

    owners: dict[Path, str] = field(default_factory=dict)

    def owner(self, path: Path) -> str | None:
        return self.owners.get(_key(path))

    def take(self, path: Path, share_id: str) -> None:
        self.owners.setdefault(_key(path), share_id)


def _key(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _starts_like_mp4(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(_HEAD)[4:8] == b"ftyp"
    except OSError:
        return False


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@dataclass(frozen=True, slots=True)
class Where:
    """Where a run puts its videos: OUTPUT as given (a file, a folder, or None for the default
    folder) and the ``--template`` that names files inside a folder."""

    output: Path | str | None
    default_dir: Path | None
    template: str | None = None

    def __post_init__(self) -> None:
        if self.template is not None and self.output is not None and not _is_folder(self.output):
            raise BadInput(
                f"--template names files inside a folder, but OUTPUT {self.output} is a file:"
                " give a folder (or drop --template)"
            )

    @property
    def needs_page(self) -> bool:
        """Whether the name depends on the page (so nothing can be checked before it is read)."""
        return self.template is not None and naming.needs_page(self.template)

    def paths(self, share_id: str, video: ResolvedVideo | None) -> list[Path]:
        """The path for the video, then (templates only) the one it moves aside to."""
        if self.template is None:
            return [output_path_for(share_id, self.output, default_dir=self.default_dir)]
        folder = Path(self.output) if self.output is not None else self.default_dir
        assert folder is not None, "the default folder is chosen before any path"
        if video is not None:
            relative = naming.render(self.template, video)
        else:
            relative = naming.render_fields(self.template, {"id": share_id, "ext": "mp4"})
        confined(folder, relative)
        return [folder / relative, folder / naming.with_id(relative, share_id)]


RemoteSize = Callable[[], Awaitable[int | None]]


async def place(
    where: Where,
    share_id: str,
    paths: list[Path],
    claims: Claims,
    *,
    force: bool,
    remote_size: RemoteSize,
) -> tuple[Path, Found | None]:
    """The path to download to, and ``Found`` (verdict ``same``) when the video is there
    already; ``LocalFileError`` (exit 5) when the path holds a file it must not replace."""
    templated = where.template is not None
    found = Found("absent", paths[0])
    for path in paths:
        found = await _at(path, share_id, claims, remote_size)
        if found.verdict == "same" and not force:
            return path, found
        if templated and _another(found):
            continue  # two videos never share a name: try the one with the id
        if found.verdict in ("absent", "same") or (force and found.verdict != "taken"):
            claims.take(path, share_id)
            return path, None
        break
    hint = "" if found.verdict == "taken" else "; pass --force-overwrites to replace it"
    raise LocalFileError(f"{found.path} {found.why}{hint}", path=str(found.path))


async def _at(path: Path, share_id: str, claims: Claims, remote_size: RemoteSize) -> Found:
    owner = claims.owner(path)
    if owner is not None and owner != share_id:
        return Found("taken", path, why=f"is where {owner} goes in this run")
    found = await asyncio.to_thread(inspect, path, share_id)
    if found.verdict == "unknown":
        found = settle(found, await remote_size())
    return found


def _another(found: Found) -> bool:
    """Whether the file is another video's (so a templated name may move aside for it)."""
    if found.verdict in ("another_video", "taken"):
        return True
    return found.verdict == "different" and found.record is None


def confined(folder: Path, relative: PurePosixPath) -> None:
    """``LocalFileError`` when a folder on the way from ``folder`` to ``relative`` is a
    symlink or not a folder: a templated name never writes outside the folder given."""
    current = folder
    for part in relative.parts[:-1]:
        current = current / part
        try:
            found = current.lstat()
        except FileNotFoundError:
            return  # made by the download, as a real folder
        if not stat.S_ISDIR(found.st_mode):
            what = "a symlink" if stat.S_ISLNK(found.st_mode) else "not a folder"
            raise LocalFileError(
                f"Refusing to write under {current}: it is {what}", path=str(current)
            )


def _is_folder(output: Path | str) -> bool:
    return names_a_folder(output) or Path(output).is_dir()
