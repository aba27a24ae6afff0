"""``<name>.info.json``: what the page said and what landed on disk, kept beside the video.

The record is the ``--json`` record (docs/ARCHITECTURE.md, the field table) with every URL
cut at its query: a signed CDN URL's ``sig``, a share link's ``psh`` token and anything else a
query may carry never reach a file that users share along with their videos. Cookies are never
in it (they are not in ``--json`` either). It is written only once the video is in place, to a
fresh temporary renamed over the name, so a reader never sees half of one.

Read back, it is what tells a rerun that the video is already there (``placement``): the same
share id and the sha256 of the file beside it. A file someone else left there is read as
hostile input: anything that is not a JSON object of the right shape counts as no record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import safefs

SUFFIX = ".info.json"
MAX_BYTES = 1024 * 1024
"""A record is a few KiB; anything bigger beside a video is not one of ours."""
URL_FIELDS = ("share_url", "mp4_url", "original_media_url", "replay_url", "profile_url")


def info_path(video: Path) -> Path:
    """``clip.mp4`` -> ``clip.info.json`` (yt-dlp's name for the same file)."""
    stem = video.name.rsplit(".", 1)[0] if "." in video.name else video.name
    return video.with_name(stem + SUFFIX)


def without_secrets(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with every URL field cut at its query (signatures, tokens)."""
    clean = dict(record)
    for name in URL_FIELDS:
        value = clean.get(name)
        if isinstance(value, str):
            clean[name] = value.split("?", 1)[0].split("#", 1)[0]
    clean.pop("cookies", None)
    clean.pop("skipped", None)  # about one run, not about the file
    return clean


def write(video: Path, record: Mapping[str, Any]) -> Path:
    """Write the record beside ``video`` atomically, never through a planted link."""
    path = info_path(video)
    data = json.dumps(without_secrets(record), indent=2, ensure_ascii=False) + "\n"
    folder = safefs.open_folder(path.parent)
    try:
        safefs.replace_into(folder, path.name, data.encode("utf-8"), path)
    finally:
        os.close(folder)
    return path


def read(video: Path) -> dict[str, Any] | None:
    """The record beside ``video``, or None when there is none (or nothing usable)."""
    path = info_path(video)
    try:
        if path.lstat().st_size > MAX_BYTES:
            return None
        data = safefs.read_bytes(path)
    except (OSError, ValueError):
        return None  # missing, or not a regular file of ours: no record
    if data is None:
        return None
    try:
        record = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None
