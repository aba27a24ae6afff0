"""A video put where ``OutputOptions`` says, the same for the service and the Temporal
activities: its path (``placement``: templates, collisions, skipping), the result of a skip,
and the info JSON once the video is in place (``infojson``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import local_errors
from .infojson import info_path
from .infojson import write as write_info
from .models import DownloadResult, ResolvedVideo
from .options import OutputOptions
from .placement import Claims, Found, Where, inspect, place

if TYPE_CHECKING:
    from .download import VideoDownloader

Skip = tuple[ResolvedVideo, DownloadResult]
"""What a skipped video's extraction says: what was resolved (or recorded), and the file."""


class Saver:
    """Decides where each video goes and whether it is already there, for one run (its
    ``Claims`` keep two links of that run off one name)."""

    def __init__(
        self, options: OutputOptions, downloader: VideoDownloader, claims: Claims | None = None
    ) -> None:
        self.options = options
        self.downloader = downloader
        self.claims = claims or Claims()

    async def recorded(self, where: Where, share_id: str) -> Skip | None:
        """The skip decided before the page is read: the name needs no page, and the info
        JSON beside the file proves it is this video (then nothing at all is fetched)."""
        if where.needs_page or self.options.force_overwrites:
            return None
        found = await asyncio.to_thread(inspect, where.paths(share_id, None)[0], share_id)
        if found.verdict != "same" or found.record is None:
            return None
        video = _recorded(found.record, share_id)
        return video, skipped_result(video, found)

    async def target(self, where: Where, video: ResolvedVideo) -> tuple[Path, Skip | None]:
        """The path to download ``video`` to, and the skip when it is there already."""
        path, found = await place(
            where,
            video.share_id,
            where.paths(video.share_id, video),
            self.claims,
            force=self.options.force_overwrites,
            remote_size=lambda: self.downloader.remote_size(video),
        )
        return path, (None if found is None else (video, skipped_result(video, found)))

    def info_json(self, record: Mapping[str, Any], path: Path, *, skipped: bool) -> Path | None:
        """Write the info JSON beside ``path`` when asked, or when one is there already and the
        video was just downloaded again (a stale one would name the old file's sha256); a
        skipped video keeps the one it has. The info JSON's path when there is one."""
        info = info_path(path)
        if (self.options.write_info_json or info.exists()) and not (skipped and info.exists()):
            with local_errors(f"write {info.name}"):
                write_info(path, record)
        return info if info.exists() else None


def skipped_result(video: ResolvedVideo, found: Found) -> DownloadResult:
    """The result of a download that did not happen: the file that was already there."""
    recorded = found.record or {}
    return DownloadResult(
        path=found.path,
        url=video.mp4_url,
        size=found.size,
        sha256=found.sha256 or "",
        attempts=0,
        connections=0,
        downloaded_at=_when(recorded.get("downloaded_at")),
    )


def _recorded(record: Mapping[str, Any], share_id: str) -> ResolvedVideo:
    """What an info JSON says was resolved, for a video skipped before its page was read."""
    try:
        return ResolvedVideo.from_json(record)
    except (TypeError, ValueError):
        return ResolvedVideo(share_url="", share_id=share_id, mp4_url="", resolver="", strategy="")


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
