"""sora-browser: turn Sora share links into verified MP4 files on disk.

Public API (see README)::

    async with SoraExtractionService() as service:
        path = await service.extract_and_download(sora_share_url=url)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._lazy import lazy_names
from ._version import __version__

if TYPE_CHECKING:
    from .client import SoraClient
    from .download import VideoDownloader
    from .errors import (
        BadInput,
        BrowserUnavailable,
        ChallengeRequired,
        DownloadLocked,
        FetchError,
        FileTooLarge,
        HTTPStatusError,
        IncompleteDownload,
        InvalidShareURL,
        LocalFileError,
        LoginRequired,
        MediaRefused,
        NetworkError,
        NotAVideo,
        NoVideoFound,
        PageGone,
        PageTooLarge,
        PolicyRefused,
        PostPrivate,
        SignatureExpired,
        SoraBrowserError,
    )
    from .models import DownloadResult, ResolvedVideo, RetryNotice
    from .options import DownloadOptions, ResolveOptions
    from .service import Extraction, SoraExtractionService

# Names are loaded on first use so `sora-browser --help` and the error tree stay cheap to
# import (aiohttp, tenacity and the resolvers load only when a command needs them).
_WHERE = {
    "VideoDownloader": ".download",
    "DownloadResult": ".models",
    "ResolvedVideo": ".models",
    "RetryNotice": ".models",
    "DownloadOptions": ".options",
    "ResolveOptions": ".options",
    "Extraction": ".service",
    "SoraClient": ".client",
    "SoraExtractionService": ".service",
}
_load = lazy_names(__name__, _WHERE)


def __getattr__(name: str) -> Any:
    if name in __all__ and name not in _WHERE:
        return getattr(import_module(".errors", __name__), name)
    return _load(name)


__all__ = [
    "BadInput",
    "BrowserUnavailable",
    "ChallengeRequired",
    "DownloadLocked",
    "DownloadOptions",
    "DownloadResult",
    "Extraction",
    "FetchError",
    "FileTooLarge",
    "HTTPStatusError",
    "IncompleteDownload",
    "InvalidShareURL",
    "LocalFileError",
    "LoginRequired",
    "MediaRefused",
    "NetworkError",
    "NoVideoFound",
    "NotAVideo",
    "PageGone",
    "PageTooLarge",
    "PolicyRefused",
    "PostPrivate",
    "ResolveOptions",
    "ResolvedVideo",
    "RetryNotice",
    "SignatureExpired",
    "SoraBrowserError",
    "SoraClient",
    "SoraExtractionService",
    "VideoDownloader",
    "__version__",
]
