"""Where a video goes: the one rule shared by ``download``, ``batch``, the service and the
Temporal activities (README, "Use").

OUTPUT is a file, or a folder (then ``<share-id>.mp4`` inside it). A folder is one that exists,
or a path written with a trailing slash (``videos/``), which the download creates; without the
slash a path that does not exist names the file. With no OUTPUT the file goes to
``<system temp>/sora_videos``, made private to the user first (``ready_default_dir``). Paths
that come from somewhere else (a workflow's input) are confined to the folder the caller owns.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = [
    "confined_folder",
    "confined_output_path",
    "default_output_dir",
    "file_name",
    "names_a_folder",
    "output_path_for",
    "ready_default_dir",
]


def default_output_dir() -> Path:
    return Path(tempfile.gettempdir()) / "sora_videos"


def ready_default_dir() -> Path:
    """The default folder, created (mode 0700) or checked before anything is written in it.

    It lives in the shared temp folder, so another local user may have made it first
    (``LocalFileError`` naming the fix when it is theirs or others may write in it).
    """
    from .safefs import prepare_private_folder

    folder = default_output_dir()
    prepare_private_folder(folder)
    return folder


def file_name(share_id: str) -> str:
    return f"{share_id}.mp4"


def output_path_for(
    share_id: str, output: Path | str | None, *, default_dir: Path | None = None
) -> Path:
    """The file for ``share_id`` given OUTPUT as typed (see the module docstring)."""
    name = file_name(share_id)
    if output is None:
        return (default_dir or default_output_dir()) / name
    if names_a_folder(output):
        return Path(output) / name
    output = Path(output)
    try:
        is_dir = output.is_dir()
    except OSError as exc:  # a name too long, a loop of symlinks, ...
        from .errors import LocalFileError

        raise LocalFileError.from_oserror(exc, "use the output path") from exc
    return output / name if is_dir else output


def names_a_folder(output: Path | str) -> bool:
    """Whether OUTPUT as typed ends with a path separator (a ``Path`` has lost it)."""
    return isinstance(output, str) and output.endswith(("/", os.sep))


def confined_output_path(
    share_id: str, output: str | None, *, base: Path, folder: str | None = None
) -> Path:
    """``output_path_for`` for paths that came from elsewhere (a workflow's input).

    ``output`` and ``folder`` are relative to ``base`` (or absolute inside it); ``output`` wins
    over ``folder``. ``PolicyRefused`` when either would leave ``base`` (symlinks and ``..``
    resolved), so remote input never writes outside the folder the caller owns.
    """
    if output is None:
        return (_within(base, folder) if folder else base) / file_name(share_id)
    path = _within(base, output)
    if names_a_folder(output):
        return path / file_name(share_id)
    return output_path_for(share_id, path)


def confined_folder(base: Path, folder: str | None) -> Path:
    """``folder`` (relative to ``base``, or absolute inside it), or ``base`` itself;
    ``PolicyRefused`` when it would leave ``base``."""
    return _within(base, folder) if folder else base


def _within(base: Path, raw: str) -> Path:
    path = Path(raw) if Path(raw).is_absolute() else base / raw
    if not path.resolve().is_relative_to(base.resolve()):
        from .errors import PolicyRefused

        raise PolicyRefused(f"Output path {raw!r} is outside the worker's folder {base.resolve()}")
    return path
