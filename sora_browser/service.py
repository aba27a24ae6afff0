"""The library's front door: ``SoraClient`` resolves, ``SoraExtractionService`` does it all.

Both are thin: resolution lives in ``resolvers``, downloading in ``download``. They add the
glue a caller would otherwise write: a default output path, cookies from the page handed to
the CDN, and re-resolving the share link when a signed URL expires mid-download.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from .client import SoraClient
from .download import VideoDownloader
from .errors import LocalFileError
from .models import DownloadResult, ProgressCallback, ResolvedVideo
from .options import DownloadOptions, ResolveOptions

__all__ = [
    "Extraction",
    "SoraClient",
    "SoraExtractionService",
    "default_output_dir",
    "output_path_for",
]


def default_output_dir() -> Path:
    return Path(tempfile.gettempdir()) / "sora_videos"


def output_path_for(
    share_id: str, output: Path | str | None, *, default_dir: Path | None = None
) -> Path:
    """OUTPUT as the CLI contract says: a file, or a folder (then <share-id>.mp4 inside).

    A folder is one that exists, or a path written with a trailing slash (``videos/``), which
    the download creates; without the slash a path that does not exist names the file.
    """
    name = f"{share_id}.mp4"
    if output is None:
        return (default_dir or default_output_dir()) / name
    if names_a_folder(output):
        return Path(output) / name
    output = Path(output)
    try:
        is_dir = output.is_dir()
    except OSError as exc:  # a name too long, a loop of symlinks, ...
        raise LocalFileError.from_oserror(exc, "use the output path") from exc
    return output / name if is_dir else output


def names_a_folder(output: Path | str) -> bool:
    """Whether OUTPUT as typed ends with a path separator (a ``Path`` has lost it)."""
    return isinstance(output, str) and output.endswith(("/", os.sep))


@dataclass(frozen=True, slots=True)
class Extraction:
    resolved: ResolvedVideo
    download: DownloadResult


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
        self.client = client or SoraClient(resolve_options)
        self.downloader = downloader or VideoDownloader(download_options)
        self.output_dir = output_dir
        self._owns = (client is None, downloader is None)

    async def extract(
        self,
        share_url: str,
        output_path: Path | str | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> Extraction:
        resolved = await self.client.resolve(share_url)
        target = output_path_for(resolved.share_id, output_path, default_dir=self.output_dir)

        async def refresh() -> str:
            # A signed CDN URL lives a few days; a fresh page visit signs a new one.
            return (await self.client.resolve(resolved.share_url)).mp4_url

        result = await self.downloader.fetch(
            resolved.mp4_url,
            target,
            progress=progress,
            refresh=refresh,
            cookies=resolved.cookies,
            referer=resolved.referer,
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
