"""The library's front door: ``SoraClient`` resolves, ``SoraExtractionService`` does it all.

Both are thin: resolution lives in ``resolvers``, downloading in ``download``. They add the
glue a caller would otherwise write: a default output path, cookies from the page handed to
the CDN, and re-resolving the share link when a signed URL expires mid-download.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .client import SoraClient
from .download import VideoDownloader
from .models import DownloadResult, ProgressCallback, ResolvedVideo
from .options import DownloadOptions, ResolveOptions
from .output import output_path_for, ready_default_dir

__all__ = ["Extraction", "SoraClient", "SoraExtractionService"]


@dataclass(frozen=True, slots=True)
class Extraction:
    resolved: ResolvedVideo
    download: DownloadResult

    def to_json(self) -> dict[str, Any]:
        """One record for the whole job: what the page said, then what landed on disk."""
        return {**self.resolved.to_json(), **self.download.to_json()}


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
        self._owns = (client is None, downloader is None)

    async def extract(
        self,
        share_url: str | None,
        output_path: Path | str | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> Extraction:
        default_dir = self.output_dir
        if output_path is None and default_dir is None:
            default_dir = ready_default_dir()  # refused before anything is fetched
        resolved = await self.client.resolve(share_url)
        target = output_path_for(resolved.share_id, output_path, default_dir=default_dir)

        async def refresh() -> str:
            # A signed CDN URL lives a few days; a fresh page visit signs a new one.
            return (await self.client.resolve(resolved.share_url)).mp4_url

        result = await self.downloader.fetch_video(
            resolved, target, progress=progress, refresh=refresh
        )
        return Extraction(resolved=resolved, download=result)

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
