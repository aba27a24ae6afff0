"""What the pytest plugin's fixtures hand a test: the fixture site and the test archive, with
the few things a test of one's own pipeline needs from them (links, checksums, options, the
environment for a subprocess). See ``pytest_plugin.py``; usable without pytest too::

    servers = BackgroundLoop()
    site = start_site(servers)          # ... site.share_url("og_video") ...
    servers.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .background import BackgroundLoop
from .ia import IAStandIn
from .media import sha256_of
from .pages import share_url
from .scenario import Scenario, ScenarioCase, sora_scenario
from .site import FixtureSite

if TYPE_CHECKING:
    from ..archive.options import WaybackOptions
    from ..options import DownloadOptions, ResolveOptions
    from .cdn import CdnControl
    from .site import SiteStats


@dataclass(frozen=True, slots=True)
class SoraSite:
    """Realistic share pages and a signed-URL CDN on 127.0.0.1 (``sora_site``).

    ``cdn`` holds the fault switches (``cdn.script(video, [Fault.status(503)])``,
    ``cdn.configure(video, no_range=True)``; ``Fault`` is in ``sora_browser.testing.cdn``)
    and ``stats`` the byte and request counters. Both are reset before every test. The
    server runs on a thread of its own: read the counters once the code under test is done.
    """

    site: FixtureSite

    @property
    def url(self) -> str:
        return self.site.url

    @property
    def host(self) -> str:
        return self.site.host

    @property
    def cdn(self) -> CdnControl:
        return self.site.cdn

    @property
    def stats(self) -> SiteStats:
        return self.site.stats

    @property
    def allow_hosts(self) -> frozenset[str]:
        """What sora-browser must allow to take links and media from here (loopback)."""
        return frozenset({self.site.host})

    @property
    def env(self) -> dict[str, str]:
        """Environment for a ``sora-browser`` (or yt-dlp) subprocess to accept this site."""
        return {"SORA_BROWSER_ALLOW_HOSTS": self.site.host}

    def share_url(self, page: str = "og_video") -> str:
        """The share link of ``testing/pages/<page>.html`` (e.g. ``next_flight``)."""
        return share_url(self.site, page)

    def sha256(self, video: str = "source") -> str:
        """The sha256 of a CDN video's bytes (``source``, ``source_wm``, ``md``, ``ld``)."""
        return sha256_of(self.site.videos[video])

    def resolve_options(self, **changes: Any) -> ResolveOptions:
        """Options that take this site's links and keep the archive out of it."""
        from ..options import ResolveOptions

        return ResolveOptions(**{"allow_hosts": self.allow_hosts, "wayback": None, **changes})

    def download_options(self, **changes: Any) -> DownloadOptions:
        from ..options import DownloadOptions

        return DownloadOptions(**{"allow_hosts": self.allow_hosts, **changes})

    def reset(self) -> None:
        self.site.stats.reset()
        self.site.cdn.reset()


@dataclass(frozen=True, slots=True)
class SoraArchive:
    """A Wayback archive on 127.0.0.1 holding archived Sora pages and videos (``sora_archive``).

    It answers as web.archive.org does (CDX API, ``id_`` replay; ``testing/ia.py``) for the
    captures of ``sora_scenario()``: ``case(name)`` names a share link and what a correct
    resolver gets from it (``renditions``, ``psh_only``, ``removed``, ``media_missing``, ...).
    """

    archive: IAStandIn
    scenario: Scenario

    @property
    def prefix(self) -> str:
        return self.archive.prefix

    @property
    def cdx_url(self) -> str:
        return self.archive.cdx_url

    @property
    def wayback(self) -> WaybackOptions:
        from ..archive.options import WaybackOptions

        return WaybackOptions(prefix=self.prefix, cdx_url=self.cdx_url)

    @property
    def env(self) -> dict[str, str]:
        """Environment for a ``sora-browser`` (or yt-dlp) subprocess to use this archive."""
        return {"SORA_BROWSER_WAYBACK": self.prefix, "SORA_BROWSER_WAYBACK_CDX": self.cdx_url}

    def case(self, name: str) -> ScenarioCase:
        return self.scenario.case(name)

    def resolve_options(self, **changes: Any) -> ResolveOptions:
        """Options that resolve from this archive only."""
        from ..options import ResolveOptions

        return ResolveOptions(**{"mode": "archive", "wayback": self.wayback, **changes})

    def reset(self) -> None:
        self.archive.reset()


def start_site(servers: BackgroundLoop) -> SoraSite:
    return SoraSite(servers.enter(FixtureSite()))


def start_archive(servers: BackgroundLoop) -> SoraArchive:
    scenario = sora_scenario()
    return SoraArchive(servers.enter(IAStandIn(scenario.captures)), scenario)
