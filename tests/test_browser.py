"""The browser resolver against JS-driven fixture pages, in the real Chromium, on loopback only.

One Chromium serves the whole session: ``shared_browser`` holds the process-wide launcher, so
each test pays for a context, not a launch, and browser and aiohttp share one event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sora_browser.errors import (
    BrowserUnavailable,
    ChallengeRequired,
    LoginRequired,
    NetworkError,
    NoVideoFound,
    PageGone,
)
from sora_browser.models import ResolvedVideo
from sora_browser.options import ResolveOptions
from sora_browser.resolvers.browser import launch as _launch
from sora_browser.resolvers.browser.launch import LAUNCHER, BrowserLauncher
from sora_browser.resolvers.browser.resolver import BrowserResolver
from sora_browser.resolvers.chain import ChainResolver, build_resolver
from sora_browser.service import SoraClient
from sora_browser.testing.dynamic import CHALLENGE_ID, POST_TITLE, state_of
from sora_browser.testing.media import media_path_of, signed_url
from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite
from sora_browser.urls import ShareLink, UrlPolicy, parse_share_url

pytestmark = pytest.mark.browser

LOOPBACK = frozenset({"127.0.0.1"})


@pytest.fixture(scope="session")
async def shared_browser() -> AsyncIterator[BrowserLauncher]:
    await LAUNCHER.acquire()
    try:
        yield LAUNCHER
    finally:
        await LAUNCHER.release()


@pytest.fixture
async def resolver(shared_browser: BrowserLauncher) -> AsyncIterator[BrowserResolver]:
    browser = BrowserResolver(options())
    yield browser
    await browser.aclose()


def options(**changes: object) -> ResolveOptions:
    # The live site only: the archive step has its own tests (test_archive_resolver.py).
    base: dict[str, object] = {
        "mode": "browser",
        "allow_hosts": LOOPBACK,
        "timeout": 30.0,
        "wayback": None,
    }
    return ResolveOptions(**{**base, **changes})  # type: ignore[arg-type]


def link(url: str) -> ShareLink:
    return parse_share_url(url, policy=UrlPolicy(LOOPBACK))


def media_path(site: FixtureSite, name: str) -> str:
    return media_path_of(signed_url(site.url, site.videos[name]))


def assert_video(resolved: ResolvedVideo, site: FixtureSite, name: str = "source") -> None:
    assert urlsplit(resolved.mp4_url).path == media_path(site, name)
    assert resolved.mp4_url.startswith(site.url)
    assert resolved.resolver == "browser"


async def test_post_json_fetched_after_load(site: FixtureSite, resolver: BrowserResolver) -> None:
    resolved = await resolver.resolve(link(share_url(site, "js_post_fetch")))

    # The player plays `md`; the post JSON it fetched names `source`, which wins.
    assert_video(resolved, site, "source")
    assert resolved.variant == "source"
    assert resolved.title == POST_TITLE
    assert resolved.expires_at is not None
    assert site.stats.total_bytes() == 0  # media bodies are aborted, never downloaded


async def test_blob_playback_found_on_the_network(
    site: FixtureSite, resolver: BrowserResolver
) -> None:
    resolved = await resolver.resolve(link(share_url(site, "js_blob")))

    assert_video(resolved, site, "source")
    assert resolved.strategy == "network"


async def test_click_to_play(site: FixtureSite, resolver: BrowserResolver) -> None:
    resolved = await resolver.resolve(link(share_url(site, "js_click")))

    assert_video(resolved, site, "source")
    assert resolved.variant == "source"
    assert state_of(site).post_fetches >= 1


@pytest.mark.parametrize("name", ["js_post_fetch", "js_blob", "challenge", "js_click"])
async def test_clicks_only_a_page_that_waits_for_it(
    site: FixtureSite, resolver: BrowserResolver, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="sora_browser.resolvers.browser")
    url = f"{site.url}/p/{CHALLENGE_ID}" if name == "challenge" else share_url(site, name)

    assert_video(await resolver.resolve(link(url)), site, "source")

    clicks = [r.getMessage() for r in caplog.records if r.getMessage().startswith("clicked")]
    # js_blob's bare <video> waits on a fetch, not a click; only the card's button is clicked.
    assert clicks == (["clicked button[aria-label*='play' i]"] if name == "js_click" else [])


async def test_challenge_sets_cookie_and_reloads(
    site: FixtureSite, resolver: BrowserResolver
) -> None:
    resolved = await resolver.resolve(link(f"{site.url}/p/{CHALLENGE_ID}"))

    assert_video(resolved, site, "source")
    assert ("cf_clearance", "ok-fixture") in {(c.name, c.value) for c in resolved.cookies}
    assert resolved.title == POST_TITLE


async def test_cookies_file_is_loaded_into_the_context(
    site: FixtureSite, shared_browser: BrowserLauncher, tmp_path: Path
) -> None:
    jar = tmp_path / "cookies.txt"
    jar.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tcf_clearance\tfile\n"
    )
    browser = BrowserResolver(options(cookies_file=jar))
    try:
        resolved = await browser.resolve(link(f"{site.url}/p/{CHALLENGE_ID}"))
    finally:
        await browser.aclose()

    # The clearance from the file passes the challenge, so its script never replaced it.
    assert ("cf_clearance", "file") in {(c.name, c.value) for c in resolved.cookies}
    assert_video(resolved, site, "source")


async def test_no_video_page_ends_quickly(site: FixtureSite, resolver: BrowserResolver) -> None:
    started = time.perf_counter()
    with pytest.raises(NoVideoFound) as caught:
        await resolver.resolve(link(share_url(site, "js_no_video")))

    assert time.perf_counter() - started < 8.0  # the timeout is 30 s
    assert caught.value.exit_code == 3


async def test_gone_page_is_page_gone(site: FixtureSite, resolver: BrowserResolver) -> None:
    started = time.perf_counter()
    with pytest.raises(PageGone):
        await resolver.resolve(link(f"{site.url}/p/s_{'0' * 32}"))
    assert time.perf_counter() - started < 8.0


async def test_challenge_that_never_clears_ends_at_the_timeout(
    site: FixtureSite, shared_browser: BrowserLauncher
) -> None:
    browser = BrowserResolver(options(timeout=2.0))
    started = time.perf_counter()
    try:
        with pytest.raises(ChallengeRequired):
            await browser.resolve(link(share_url(site, "challenge")))  # no script ever clears it
    finally:
        await browser.aclose()
    assert 2.0 <= time.perf_counter() - started < 6.0


@pytest.mark.parametrize(
    ("name", "error"), [("login_wall", LoginRequired), ("gone_soft", PageGone)]
)
async def test_what_the_page_says_is_the_diagnosis(
    site: FixtureSite, resolver: BrowserResolver, name: str, error: type[NoVideoFound]
) -> None:
    with pytest.raises(error):
        await resolver.resolve(link(share_url(site, name)))


async def test_unreachable_page_is_a_network_error(resolver: BrowserResolver) -> None:
    with pytest.raises(NetworkError) as caught:
        await resolver.resolve(link(f"http://127.0.0.1:{closed_port()}/p/s_{'1' * 32}"))
    assert caught.value.exit_code == 4


async def test_policy_aborts_refused_requests_before_connecting(
    site: FixtureSite, resolver: BrowserResolver
) -> None:
    # A twin of the site on 127.0.0.2, same port: any request that leaked would land here or on
    # the site itself (via "localhost") and count a hit. Both stay on loopback even so.
    async with FixtureSite(host="127.0.0.2", port=site.port) as twin:
        with pytest.raises(NoVideoFound):
            await resolver.resolve(link(share_url(site, "js_refused")))
        assert state_of(twin).secret_hits == 0
        assert twin.stats.requests == []
    assert state_of(site).secret_hits == 0
    hosts = {urlsplit(url).hostname for url in resolver.blocked}
    assert hosts == {"localhost", "127.0.0.2"}
    assert any("/az/files/" in url for url in resolver.blocked)


async def test_pages_run_concurrently_within_the_bound(
    site: FixtureSite, shared_browser: BrowserLauncher
) -> None:
    browser = BrowserResolver(options(browser_pages=2))
    names = ["js_post_fetch", "js_blob", "js_click", "js_post_fetch"]
    try:
        results = await asyncio.gather(*(browser.resolve(link(share_url(site, n))) for n in names))
    finally:
        await browser.aclose()
    assert {urlsplit(r.mp4_url).path for r in results} == {media_path(site, "source")}
    assert browser.peak_pages == 2


async def test_resolvers_share_one_browser(
    site: FixtureSite, shared_browser: BrowserLauncher
) -> None:
    launches = shared_browser.launches
    first, second = BrowserResolver(options()), BrowserResolver(options())
    try:
        await first.resolve(link(share_url(site, "js_post_fetch")))
        await second.resolve(link(share_url(site, "js_post_fetch")))
    finally:
        await first.aclose()
        await second.aclose()
    assert shared_browser.launches == launches
    assert shared_browser.running  # the session fixture still holds it


async def test_early_launch_is_the_browser_the_resolver_uses(
    site: FixtureSite, shared_browser: BrowserLauncher
) -> None:
    launches, users = shared_browser.launches, shared_browser.users
    async with _launch.launched_early(None, "sora_browser.client"):
        browser = BrowserResolver(options())
        try:
            assert_video(await browser.resolve(link(share_url(site, "js_post_fetch"))), site)
        finally:
            await browser.aclose()
        assert shared_browser.users == users + 1  # still held by the early launch
    assert (shared_browser.launches, shared_browser.users) == (launches, users)


async def test_early_launch_leaves_a_failure_to_the_resolver(site: FixtureSite) -> None:
    launcher, missing = BrowserLauncher(), Path("/nonexistent/chromium")
    async with _launch.launched_early(missing, launcher=launcher):
        browser = BrowserResolver(options(chromium_path=missing), launcher=launcher)
        with pytest.raises(BrowserUnavailable):
            await browser.resolve(link(share_url(site, "js_post_fetch")))
        await browser.aclose()
    assert (launcher.launches, launcher.users, launcher.running) == (0, 0, False)


async def test_cli_browser_mode_end_to_end(site: FixtureSite, tmp_path: Path) -> None:
    url, allow = share_url(site, "js_click"), ("--allow-host", "127.0.0.1")
    found = await _cli("resolve", url, "--browser", "--json", *allow)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["resolver"] == "browser"
    missing = await _cli("resolve", url, "--browser", "--chromium", str(tmp_path / "no"), *allow)
    assert missing.returncode == 3
    assert missing.stderr.decode().count("\n") == 1  # one clean line, no traceback
    assert "apt-get install chromium" in missing.stderr.decode()


async def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "sora-browser"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


# -- auto mode: static when it can, the browser when it must, never on a bug -----------------


async def test_auto_uses_static_without_touching_the_browser(
    site: FixtureSite, shared_browser: BrowserLauncher
) -> None:
    asked = shared_browser.acquired
    async with SoraClient(options(mode="auto")) as client:
        resolved = await client.resolve(share_url(site, "og_video"))
    assert resolved.resolver == "static"
    assert shared_browser.acquired == asked


async def test_auto_falls_back_to_the_browser(
    site: FixtureSite, shared_browser: BrowserLauncher
) -> None:
    asked = shared_browser.acquired
    async with SoraClient(options(mode="auto")) as client:
        resolved = await client.resolve(share_url(site, "js_post_fetch"))
    assert resolved.resolver == "browser"
    assert resolved.variant == "source"
    assert shared_browser.acquired == asked + 1


async def test_auto_does_not_fall_through_on_a_network_error(
    shared_browser: BrowserLauncher,
) -> None:
    asked = shared_browser.acquired
    resolver = build_resolver(options(mode="auto", retries=0, timeout=5.0))
    try:
        with pytest.raises(NetworkError):
            await resolver.resolve(link(f"http://127.0.0.1:{closed_port()}/p/s_{'2' * 32}"))
    finally:
        await resolver.aclose()
    assert shared_browser.acquired == asked


class _Fake:
    def __init__(self, name: str, outcome: BaseException | ResolvedVideo) -> None:
        self.name = name
        self.outcome = outcome
        self.calls = 0

    async def resolve(self, link: ShareLink) -> ResolvedVideo:
        self.calls += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(
    "error",
    [NetworkError("connection reset"), RuntimeError("a bug"), PageGone("404")],
    ids=["network", "bug", "gone"],
)
async def test_chain_falls_back_only_on_no_video(error: BaseException) -> None:
    built: list[str] = []

    def browser() -> _Fake:
        built.append("browser")
        return _Fake("browser", RuntimeError("must not run"))

    chain = ChainResolver([lambda: _Fake("static", error), browser])
    with pytest.raises(type(error)):
        await chain.resolve(link(f"https://sora.chatgpt.com/p/s_{'3' * 32}"))
    assert built == []


async def test_chain_falls_back_on_no_video_found() -> None:
    target = link(f"https://sora.chatgpt.com/p/s_{'4' * 32}")
    found = ResolvedVideo(
        share_url=target.url,
        share_id=target.share_id,
        mp4_url="https://videos.openai.com/az/files/x%2Fraw",
        resolver="browser",
        strategy="network",
    )
    fallback = _Fake("browser", found)
    chain = ChainResolver([lambda: _Fake("static", NoVideoFound("js only")), lambda: fallback])
    assert await chain.resolve(target) is found
    assert fallback.calls == 1


# -- finding Chromium -----------------------------------------------------------------------


async def test_missing_explicit_chromium(site: FixtureSite) -> None:
    launcher = BrowserLauncher()
    browser = BrowserResolver(
        options(chromium_path=Path("/nonexistent/chromium")), launcher=launcher
    )
    with pytest.raises(BrowserUnavailable) as caught:
        await browser.resolve(link(share_url(site, "js_post_fetch")))
    await browser.aclose()
    assert "apt-get install chromium" in str(caught.value)
    assert "/nonexistent/chromium" in str(caught.value)
    assert caught.value.exit_code == 3
    assert launcher.launches == 0
    assert not launcher.running


async def test_no_chromium_anywhere(site: FixtureSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_launch, "SYSTEM_CHROMIUMS", ("/nonexistent/chromium", "no-such-chrome"))
    monkeypatch.setattr(_launch, "_playwright_own", lambda playwright: "/nonexistent/pw/chrome")
    browser = BrowserResolver(options(), launcher=BrowserLauncher())
    with pytest.raises(BrowserUnavailable) as caught:
        await browser.resolve(link(share_url(site, "js_post_fetch")))
    assert "playwright install chromium" in str(caught.value)
    assert "apt-get install chromium" in str(caught.value)


def test_find_chromium_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, own, system = (tmp_path / n for n in ("explicit", "own", "system"))
    for path in (explicit, own, system):
        path.write_text("")
    monkeypatch.setattr(_launch, "SYSTEM_CHROMIUMS", (str(system),))
    assert _launch.find_chromium(explicit, str(own)) == explicit
    assert _launch.find_chromium(None, str(own)) == own
    assert _launch.find_chromium(None, str(tmp_path / "missing")) == system


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
