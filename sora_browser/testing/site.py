"""One aiohttp server on loopback that plays both Sora's share pages and its video CDN.

Pages (``pages.py``) are templates under ``testing/pages`` (shipped in the wheel) rendered
with freshly signed media URLs; the CDN (``cdn.py``) serves ``/az/files/...`` and
``/vg-assets/...`` with Range support, Azure-SAS-like signature checks and scripted faults.
Counters record what was served so tests can assert, for example, that a resume did not fetch
bytes twice.

Run it by hand with ``python -m sora_browser.testing.site [--port N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from aiohttp import web

from .media import DEFAULT_SECRET, VIDEOS, FakeVideo
from .serving import serve

if TYPE_CHECKING:
    from .cdn import CdnControl

PAGES_DIR = Path(__file__).resolve().parent / "pages"
"""The fixture pages, package data: the site works from an installed wheel."""


@dataclass
class SiteStats:
    """What the site served; tests read it, ``reset()`` clears it.

    Connections are counted as the server sees them (TCP connections accepted and lost), and
    only those that carried a CDN request: ``connections[name]`` is how many different
    connections asked for video ``name``, ``peak[name]`` the most of them open at once, and
    ``cdn_peak`` the most connections open at once that carried any video (a per-host cap).
    """

    bytes_served: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    connections: collections.Counter[str] = field(default_factory=collections.Counter)
    peak: collections.Counter[str] = field(default_factory=collections.Counter)
    cdn_peak: int = 0
    _open: dict[object, set[str]] = field(default_factory=dict)
    _waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = field(default_factory=list)

    def reset(self) -> None:
        self.bytes_served.clear()
        self.requests.clear()
        self.connections.clear()
        self.peak.clear()
        self.cdn_peak = 0
        self._open.clear()

    def add_cdn_request(self, connection: object, name: str) -> None:
        """A video was asked for on ``connection`` (the server's handler of one TCP
        connection); counted when first seen, so a connection closed just before a new one
        opens is never counted with it (its close is seen long before the new request)."""
        videos = self._open.setdefault(connection, set())
        if name not in videos:
            videos.add(name)
            self.connections[name] += 1
            open_now = sum(name in v for v in self._open.values())
            self.peak[name] = max(self.peak[name], open_now)
        self.cdn_peak = max(self.cdn_peak, len(self._open))
        self._wake()

    def connection_lost(self, connection: object) -> None:
        self._open.pop(connection, None)

    def add_request(self, method: str, path: str, headers: dict[str, str]) -> None:
        """Record a request and wake anyone waiting for it."""
        self.requests.append((method, path, headers))
        self._wake()

    def add_bytes(self, name: str, count: int) -> None:
        """Count bytes the CDN sent for video ``name`` and wake anyone waiting for them."""
        self.bytes_served[name] += count
        self._wake()

    async def wait_for_request(self, path_prefix: str) -> None:
        """Return once a request for a path starting with ``path_prefix`` has arrived."""
        await self._until(lambda: any(p.startswith(path_prefix) for _, p, _ in self.requests))

    async def wait_for_connections(self, name: str, count: int) -> None:
        """Return once ``count`` connections have been open at once for video ``name``."""
        await self._until(lambda: self.peak[name] >= count)

    async def wait_for_bytes(self, name: str, count: int) -> None:
        """Return once the CDN has sent at least ``count`` bytes of video ``name``."""
        await self._until(lambda: self.bytes_served[name] >= count)

    async def _until(self, holds: Callable[[], bool]) -> None:
        if holds():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((holds, future))
        await future

    def _wake(self) -> None:
        for waiter in [w for w in self._waiters if w[0]()]:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(None)

    def total_bytes(self, name: str | None = None) -> int:
        if name is None:
            return sum(self.bytes_served.values())
        return self.bytes_served[name]


class FixtureSite:
    """Start with ``async with FixtureSite() as site:``; ``site.url`` is its origin."""

    cdn: CdnControl
    """Fault scripts and modes of the CDN routes (set by ``cdn.add_routes``)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        pages_dir: Path = PAGES_DIR,
        secret: bytes = DEFAULT_SECRET,
        videos: dict[str, FakeVideo] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.pages_dir = pages_dir
        self.secret = secret
        self.videos: dict[str, FakeVideo] = dict(VIDEOS if videos is None else videos)
        self.stats = SiteStats()
        self.app = web.Application()
        with warnings.catch_warnings():
            # Route modules (pages, cdn, ...) look the site up as app["site"]; one string key
            # shared by all of them is simpler than threading an AppKey through each.
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            self.app["site"] = self
        self._runner: web.AppRunner | None = None
        from . import cdn, dynamic, pages

        pages.add_routes(self)
        dynamic.add_routes(self)
        cdn.add_routes(self)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner, self.port = await serve(
            self.app, self.host, self.port, before_listening=self._count_connections
        )

    def _count_connections(self, runner: web.AppRunner) -> None:
        # aiohttp's web.Server hears every TCP connection end (its connection_lost), which is
        # what a per-host cap is about; a request handler cannot see its connection close.
        server = runner.server
        assert server is not None
        lost = server.connection_lost

        def connection_lost(handler: web.RequestHandler, exc: BaseException | None = None) -> None:
            self.stats.connection_lost(handler)
            lost(handler, exc)

        server.connection_lost = connection_lost  # type: ignore[method-assign]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FixtureSite:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def _serve(host: str, port: int) -> None:
    from .pages import share_urls

    async with FixtureSite(host=host, port=port) as site:
        print(f"fixture site on {site.url}", flush=True)
        for name, url in share_urls(site).items():
            print(f"  {name}: {url}", flush=True)
        print("ready", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
