"""yt-dlp extractor for Sora share links, by sora-browser (README, "yt-dlp").

yt-dlp finds this module through its documented plugin layout: a ``yt_dlp_plugins`` namespace
package holding an ``extractor`` package, anywhere on ``sys.path`` (here: in sora-browser's
wheel, so installing sora-browser beside yt-dlp is the only step). yt-dlp imports it on every
run and asks ``suitable`` about every URL, so both stay cheap; everything else (which options
the environment gives, the renditions, the info dict) is ``sora_browser.ytdlp``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.utils import ExtractorError

__all__ = ["SoraBrowserIE"]

LONG_WAIT = 5.0
MAX_RETRIES = 10
"""``--extractor-retries infinite`` still ends: the library retries with backoff each time."""


class SoraBrowserIE(InfoExtractor):  # type: ignore[misc]  # yt-dlp ships no type hints
    IE_NAME = "sora"
    IE_DESC = "Sora share links, live or from a web archive (sora-browser)"
    # Sora's own hosts; a host allowed by SORA_BROWSER_ALLOW_HOSTS is claimed by `suitable`.
    _VALID_URL = (
        r"https?://(?:www\.)?(?:sora\.chatgpt\.com|sora\.com)"
        r"/(?:p|g|d|t|share)/(?P<id>[A-Za-z0-9_-]+)"
    )

    @classmethod
    def suitable(cls, url: str) -> bool:
        from sora_browser.ytdlp import claims

        return claims(url)

    def _real_extract(self, url: str) -> dict[str, Any]:
        from sora_browser import ytdlp
        from sora_browser.errors import SoraBrowserError

        mode = self._configuration_arg("mode", [None], ie_key="sora")[0]
        cookies = self.get_param("cookiefile")
        try:
            options = ytdlp.resolve_options(
                mode,
                retries=self._retries(),
                cookies_file=Path(cookies) if cookies else None,
                on_wait=self._on_wait,
            )
            found = ytdlp.run_sync(lambda: ytdlp.find_renditions(url, options))
            info = ytdlp.info_dict(found)
        except SoraBrowserError as exc:
            raise ExtractorError(ytdlp.friendlier(str(exc)), expected=True) from exc
        # A browser session may have passed a challenge whose cookies the CDN wants.
        for cookie in found[0].cookies:
            self._set_cookie(cookie.domain, cookie.name, cookie.value, path=cookie.path)
        return info

    def _retries(self) -> int:
        wanted = self.get_param("extractor_retries", 3)
        return MAX_RETRIES if wanted == float("inf") else min(int(wanted), MAX_RETRIES)

    def _on_wait(self, seconds: float, reason: str) -> None:
        # The archive's usual spacing between index requests is not news; a real wait is.
        if reason != "rate limit" or seconds >= LONG_WAIT:
            self.to_screen(f"Waiting {seconds:.0f} s for the archive ({reason})")
