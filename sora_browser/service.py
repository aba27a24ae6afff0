"""The library's front door: ``SoraClient`` resolves, ``SoraExtractionService`` does it all.

Both are thin: resolution lives in ``resolvers``, downloading in ``download``. They add the
glue a caller would otherwise write: a default output path, cookies from the page handed to
the CDN, and re-resolving the share link when a signed URL expires mid-download.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .client import SoraClient
from .download import VideoDownloader
from .models import DownloadResult, ProgressCallback, ResolvedVideo
from .options import DownloadOptions, OutputOptions, ResolveOptions
from .output import ready_default_dir
from .placement import Where
from .saving import Saver

__all__ = ["Extraction", "SoraClient", "SoraExtractionService"]


@dataclass(frozen=True, slots=True)
class Extraction:
    resolved: ResolvedVideo
    download: DownloadResult
    skipped: bool = False
    """The video was already at its path (``placement``): nothing was downloaded."""
    info_json: Path | None = None
    """The info JSON written (or found) beside the video, when there is one."""

    def to_json(self) -> dict[str, Any]:
        """One record for the whole job: what the page said, then what landed on disk."""
        return {**self.resolved.to_json(), **self.download.to_json(), "skipped": self.skipped}


def shared_policy(
    resolve: ResolveOptions | None, download: DownloadOptions | None
) -> tuple[ResolveOptions, DownloadOptions]:
    """Both option sets with one policy: the hosts either allows, allowed for both.

    A host allowed for resolution (a mirror, the fixture site) serves its media from the same
    place; refusing it for the download alone only made the second half fail.
    """
    resolve, download = resolve or ResolveOptions(), download or DownloadOptions()
    hosts = resolve.allow_hosts | download.allow_hosts
    return replace(resolve, allow_hosts=hosts), replace(download, allow_hosts=hosts)


class SoraExtractionService:
    """Resolve a share link and download its video, with retries, resume and re-resolution."""

    def __init__(
        self,
        *,
        resolve_options: ResolveOptions | None = None,
        download_options: DownloadOptions | None = None,
        output_dir: Path | None = None,
        output_options: OutputOptions | None = None,
        client: SoraClient | None = None,
        downloader: VideoDownloader | None = None,
    ) -> None:
        resolve_options, download_options = shared_policy(resolve_options, download_options)
        self.client = client or SoraClient(resolve_options)
        # Videos found in an archive are downloaded from its replay: its host is trusted.
        options = self.client.options
        download = (download_options or DownloadOptions()).trusting(
            options.archive_hosts, options.warc_files
        )
        self.downloader = downloader or VideoDownloader(download)
        self.output_dir = output_dir
        self.saver = Saver(output_options or OutputOptions(), self.downloader)
        """Where each video goes, and whether it is already there (``saving``)."""
        self._owns = (client is None, downloader is None)

    async def extract(
        self,
        share_url: str | None,
        output_path: Path | str | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> Extraction:
        """Resolve and download, unless the video is already where it would go
        (``placement``: then nothing is fetched and ``Extraction.skipped`` is set)."""
        where = self._where(output_path)
        link = self.client.share_link(share_url)
        skip = await self.saver.recorded(where, link.share_id)
        if skip is not None:
            return self._finished(Extraction(*skip, skipped=True))
        resolved = await self.client.resolve(share_url)
        target, skip = await self.saver.target(where, resolved)
        if skip is not None:
            return self._finished(Extraction(*skip, skipped=True))
        result = await self.downloader.fetch_video(
            resolved, target, progress=progress, refresh=self._refresher(resolved)
        )
        return self._finished(Extraction(resolved=resolved, download=result))

    def _where(self, output_path: Path | str | None) -> Where:
        default_dir = self.output_dir
        if output_path is None and default_dir is None:
            default_dir = ready_default_dir()  # refused before anything is fetched
        return Where(output_path, default_dir, self.saver.options.template)

    def _refresher(self, resolved: ResolvedVideo) -> Callable[[], Awaitable[str]]:
        async def refresh() -> str:
            # A signed CDN URL lives a few days; a fresh page visit signs a new one.
            return (await self.client.resolve(resolved.share_url)).mp4_url

        return refresh

    def _finished(self, extraction: Extraction) -> Extraction:
        """The extraction, with its info JSON (written when asked, once the video is there)."""
        path = extraction.download.path
        info = self.saver.info_json(extraction.to_json(), path, skipped=extraction.skipped)
        return replace(extraction, info_json=info)

    async def extract_and_download(
        self,
        sora_share_url: str,
        output_path: Path | str | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """The original design's one call: returns the path of the verified MP4."""
        return (await self.extract(sora_share_url, output_path, progress=progress)).download.path

    async def aclose(self) -> None:
        owns_client, owns_downloader = self._owns
        if owns_client:
            await self.client.aclose()
        if owns_downloader:
            await self.downloader.aclose()

    async def __aenter__(self) -> Self:
        await self.downloader.__aenter__()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
