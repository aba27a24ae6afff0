"""What the yt-dlp plugin (``yt_dlp_plugins/extractor/sora_browser.py``) asks of sora-browser.

The plugin is a front end like the CLI: it reads the same environment (``cli/options.py``:
``SORA_BROWSER_ALLOW_HOSTS``, the archive's ``SORA_BROWSER_WAYBACK``/``..._CDX``, the same
on-disk index cache) and leaves the work to ``SoraClient.renditions``. yt-dlp loads its plugins
on every run, whatever the URL, so this module imports nothing heavy at the top: ``claims``
decides from the URL alone (the allowed hosts are read only for a share-shaped link on a host
that is not Sora's), and the library loads when a link is extracted. There is no yt_dlp
import here either; the plugin turns ``SoraBrowserError`` into yt-dlp's ``ExtractorError``.

yt-dlp's side of the contract is the info dict documented on ``InfoExtractor``
(``yt_dlp/extractor/common.py``): ``id``, ``title``, ``description``, ``uploader`` and
``formats``, each with ``url``, ``format_id``, ``ext``, ``width``, ``height``,
``format_note`` and ``quality`` (higher is better; yt-dlp sorts by it before resolution).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .urls import SHARE_HOSTS, SHARE_KINDS

if TYPE_CHECKING:
    from .models import ResolvedVideo
    from .options import OnWait, ResolveOptions

T = TypeVar("T")
MODES = ("auto", "static", "browser", "archive")
"""``--extractor-args "sora:mode=..."``, as the CLI's ``--mode``. Without it: the live page
with static parsing, then the archive; a browser starts only when the user asks for one."""
_SHARE_PATH = re.compile(rf"^/(?:{'|'.join(SHARE_KINDS)})/[A-Za-z0-9_-]{{1,128}}/?$")
# Watermarks live in the path (DESIGN.md, "Shapes seen in real captures"): .../00000_wm/src.mp4.
_WATERMARK = re.compile(r"(?:/|%2f)\d+_wm(?:/|%2f)", re.IGNORECASE)
# Sora's quality order, source > source_wm > md > ld (parsing.candidates.VARIANT_RANK), as
# yt-dlp's "quality": higher is better; a watermarked file one step below its clean twin.
_QUALITY = {"source": 10, "source_wm": 8, "downloadable": 6, None: 4, "md": 2, "ld": 0}


def claims(url: str) -> bool:
    """Whether the plugin takes ``url``: a share link on Sora's hosts, or on a host that
    ``SORA_BROWSER_ALLOW_HOSTS`` allows (the CLI's ``--allow-host``). Anything else stays
    yt-dlp's (its generic extractor's, for a plain page or file)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not _SHARE_PATH.match(parts.path):
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if host.removeprefix("www.") in SHARE_HOSTS:
        return True
    from .cli.options import allowed_hosts

    return host in {h.lower().rstrip(".") for h in allowed_hosts(())}


def resolve_options(
    mode: str | None,
    *,
    retries: int = 3,
    cookies_file: Path | None = None,
    on_wait: OnWait | None = None,
) -> ResolveOptions:
    """Options from the extractor argument, yt-dlp's own options (``--extractor-retries``,
    ``--cookies``) and the environment, as the CLI reads it."""
    from .cli.options import allowed_hosts, wayback_from_env
    from .errors import BadInput
    from .options import ResolveOptions

    if mode is not None and mode not in MODES:
        raise BadInput(f"sora:mode={mode} is not one of {', '.join(MODES)}")
    return ResolveOptions(
        mode=mode or "auto",  # type: ignore[arg-type]
        browser_fallback=mode is not None,  # a browser only when the user asked for a mode
        wayback=wayback_from_env(),
        allow_hosts=allowed_hosts(()),
        retries=retries,
        cookies_file=cookies_file,
        on_archive_wait=on_wait,
    )


async def find_renditions(url: str, options: ResolveOptions) -> list[ResolvedVideo]:
    """The link's renditions, best first, each media URL passed by the URL policy."""
    from .client import SoraClient
    from .errors import PolicyRefused

    async with SoraClient(options) as client:
        found = await client.renditions(url)
    vetted = [r for r in found if await passes_policy(r, options)]
    if not vetted:
        raise PolicyRefused(f"Every video URL of {url} was refused by the URL policy")
    return vetted


async def passes_policy(video: ResolvedVideo, options: ResolveOptions) -> bool:
    """The policy's checks before connecting (scheme, literal address, every address the
    name resolves to), for a URL that yt-dlp, not sora-browser, will connect to."""
    from ._http import PolicyResolver
    from .errors import PolicyRefused
    from .urls import UrlPolicy

    trusted = options.archive_hosts if video.resolver == "archive" else frozenset()
    policy = UrlPolicy(options.allow_hosts | trusted)
    host = urlsplit(video.mp4_url).hostname or ""
    resolver = PolicyResolver(policy)
    try:
        policy.check_url(video.mp4_url)
        if not policy.host_allowed(host):
            await resolver.resolve(host, family=socket.AF_UNSPEC)  # IPv4 and IPv6 addresses
    except PolicyRefused:
        return False
    except OSError:
        pass  # a name that does not resolve: yt-dlp cannot connect to it either
    finally:
        await resolver.close()
    return True


def run_sync(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` to its end from yt-dlp's synchronous code, even inside a running loop
    (yt-dlp embedded in an async program): then in a thread with a loop of its own."""

    async def main() -> T:
        return await work()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def info_dict(renditions: Sequence[ResolvedVideo]) -> dict[str, Any]:
    """yt-dlp's info dict for one video: its metadata and one format per rendition."""
    from .errors import NoVideoFound

    whole = [r for r in renditions if not getattr(r, "pieces", ())]
    best = renditions[0]
    if not whole:
        raise NoVideoFound(
            f"{best.share_url}: the archive holds this video only in pieces, which yt-dlp"
            f" cannot join; `sora-browser download {best.share_url}` can"
        )
    title = best.title or best.prompt or best.share_id
    info: dict[str, Any] = {
        "id": best.share_id,
        "title": title,
        "description": best.prompt,
        "uploader": best.username,
        "uploader_id": best.username,
        "webpage_url": best.share_url,
        "formats": _formats(whole),
    }
    host = (urlsplit(best.share_url).hostname or "").removeprefix("www.")
    if best.username and host in SHARE_HOSTS:
        info["uploader_url"] = f"https://sora.chatgpt.com/profile/{best.username}"
    return info


def _formats(renditions: Sequence[ResolvedVideo]) -> list[dict[str, Any]]:
    formats: list[dict[str, Any]] = []
    for video in renditions:
        watermarked = is_watermarked(video)
        notes = ["watermarked"] if watermarked else []
        if video.media_captured_at is not None:
            notes.append(f"archived {video.media_captured_at:%Y-%m-%d}")
        formats.append(
            {
                "format_id": _format_id(video, formats),
                "url": video.mp4_url,
                "ext": "mp4",
                "width": video.width,
                "height": video.height,
                "format_note": ", ".join(notes) or None,
                "quality": _QUALITY.get(video.variant, 4) - (1 if watermarked else 0),
                "http_headers": {"Referer": video.referer} if video.referer else {},
            }
        )
    return formats[::-1]  # yt-dlp wants them worst first


def _format_id(video: ResolvedVideo, taken: list[dict[str, Any]]) -> str:
    name = video.variant or "mp4"
    used = {f["format_id"] for f in taken}
    return name if name not in used else f"{name}-{len(taken)}"


def is_watermarked(video: ResolvedVideo) -> bool:
    """``source_wm``, or a path that says ``_wm`` (logged-out pages name it ``source`` too)."""
    original = video.original_media_url or video.mp4_url
    return video.variant == "source_wm" or bool(_WATERMARK.search(urlsplit(original).path))


def friendlier(message: str) -> str:
    """The library's hint to use ``--browser``, said the way a yt-dlp user asks for one."""
    return message.replace(
        "try --browser", 'try --extractor-args "sora:mode=auto" (lets a headless Chromium read it)'
    )
