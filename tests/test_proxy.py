"""Issue: hostile input, proxies. The library takes a ``proxy`` (aiohttp and the browser); the
CLI sets it from ``--proxy`` or from ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and
``NO_PROXY`` as curl users expect; the URL policy still checks every target.

The proxy is a recording forward proxy on loopback; ``share.test`` is a name only it knows
(mapped to 127.0.0.1), so nothing here needs DNS or leaves loopback.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_cli import ALLOW, GOOD_PAGE, assert_one_clean_line, sora

from sora_browser.options import DownloadOptions, ResolveOptions
from sora_browser.resolvers.browser.launch import LAUNCHER
from sora_browser.resolvers.browser.resolver import BrowserResolver
from sora_browser.testing.hostile import (
    HitCounter,
    HostileServer,
    Media,
    Page,
    RecordingProxy,
    mp4_body,
)
from sora_browser.testing.pages import share_url
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite
from sora_browser.urls import UrlPolicy, parse_share_url

SHARE_PATH = "/p/s_" + "f" * 32
BODY = mp4_body(300 * 1024)


async def _names_to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@pytest.fixture
async def proxy() -> AsyncIterator[RecordingProxy]:
    policy = UrlPolicy(frozenset({"127.0.0.1", "share.test"}))
    running = await RecordingProxy(policy, resolve=_names_to_loopback).start()
    yield running
    await running.aclose()


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as running:
        yield running


def _paths(proxy: RecordingProxy) -> list[str]:
    return [url.split("/", 3)[-1].split("?", 1)[0] for url in proxy.asked]


async def test_proxy_option_carries_page_and_download(
    site: FixtureSite, proxy: RecordingProxy, tmp_path: Path
) -> None:
    url = share_url(site, GOOD_PAGE)
    run = await sora("download", url, str(tmp_path / "v.mp4"), "--proxy", proxy.url, *ALLOW)
    assert run.code == 0, run.err
    asked = _paths(proxy)
    assert url.split("/", 3)[-1] in asked
    assert any(path.startswith("az/files/") for path in asked)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
async def test_proxy_from_the_environment(
    site: FixtureSite, proxy: RecordingProxy, variable: str
) -> None:
    run = await sora("resolve", share_url(site, GOOD_PAGE), *ALLOW, env={variable: proxy.url})
    assert run.code == 0, run.err
    assert len(proxy.asked) == 1


@pytest.mark.parametrize("bypass", ["127.0.0.1", "127.0.0.0/8", "*"])
async def test_no_proxy_is_honoured(site: FixtureSite, proxy: RecordingProxy, bypass: str) -> None:
    env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": f"example.com,{bypass}"}
    run = await sora("resolve", share_url(site, GOOD_PAGE), *ALLOW, env=env)
    assert run.code == 0, run.err
    assert proxy.asked == []


async def test_an_empty_proxy_option_overrides_the_environment(
    site: FixtureSite, proxy: RecordingProxy
) -> None:
    run = await sora(
        "resolve", share_url(site, GOOD_PAGE), "--proxy", "", *ALLOW, env={"HTTPS_PROXY": proxy.url}
    )
    assert run.code == 0, run.err
    assert proxy.asked == []


async def test_only_http_proxies_are_taken() -> None:
    run = await sora("resolve", "https://sora.chatgpt.com/p/s_1", "--proxy", "socks5://h:1080")
    assert run.code == 2
    assert "only http:// proxies" in run.err
    with pytest.raises(ValueError, match="proxy must be an http://host:port URL"):
        ResolveOptions(proxy="socks5://h:1080")
    with pytest.raises(TypeError, match="no_proxy must be a set"):
        DownloadOptions(proxy="http://h:3128", no_proxy="localhost")  # type: ignore[arg-type]


async def test_the_policy_still_checks_every_target_through_a_proxy(
    hostile: HostileServer, proxy: RecordingProxy, tmp_path: Path
) -> None:
    async with HitCounter("127.0.0.2") as refused:
        media = f"{refused.url}/az/files/v.mp4"
        page = hostile.add_page(SHARE_PATH, Page(f'<video src="{media}"></video>'))
        run = await sora("download", page, str(tmp_path / "v.mp4"), "--proxy", proxy.url, *ALLOW)
        redirect = hostile.add_page("/v.mp4", Page(status=302, location=media))
        moved = hostile.add_page(SHARE_PATH, Page(f'<video src="{redirect}"></video>'))
        hop = await sora("download", moved, str(tmp_path / "w.mp4"), "--proxy", proxy.url, *ALLOW)
    assert run.code == 3, run.err
    assert "refused by the URL policy: 127.0.0.2" in run.err
    assert hop.code == 2, hop.err  # a redirect to a refused address, found mid-download
    assert_one_clean_line(hop)
    assert refused.connections == 0
    assert not any("127.0.0.2" in url for url in proxy.asked)


async def test_a_proxy_on_a_private_address_reaches_names_only_it_knows(
    hostile: HostileServer, proxy: RecordingProxy, tmp_path: Path
) -> None:
    # The proxy is on 127.0.0.1, which the policy does not allow here: it is the user's own.
    origin = f"http://share.test:{hostile.port}"
    hostile.add_media("/v.mp4", Media(BODY))
    hostile.add_page(SHARE_PATH, Page(f'<video src="{origin}/v.mp4"></video>'))
    out = tmp_path / "v.mp4"
    run = await sora(
        "download",
        origin + SHARE_PATH,
        str(out),
        "--proxy",
        proxy.url,
        "--allow-host",
        "share.test",
    )
    assert run.code == 0, run.err
    assert out.read_bytes() == BODY
    assert _paths(proxy) == [SHARE_PATH.lstrip("/"), "v.mp4"]


@pytest.mark.browser
async def test_the_browser_goes_through_the_proxy(
    hostile: HostileServer, proxy: RecordingProxy
) -> None:
    origin = f"http://share.test:{hostile.port}"
    hostile.add_page("/api/post.json", Page(f'{{"url": "{origin}/v.mp4"}}', "application/json"))
    script = """<html><body><script>
    fetch("/api/post.json").then((r) => r.json()).then((post) => {
      const video = document.createElement("video");
      video.src = post.url;
      document.body.appendChild(video);
    });
    </script></body></html>"""
    hostile.add_page(SHARE_PATH, Page(script))
    options = ResolveOptions(mode="browser", allow_hosts=frozenset({"share.test"}), proxy=proxy.url)
    resolver = BrowserResolver(options, launcher=LAUNCHER)
    try:
        link = parse_share_url(origin + SHARE_PATH, policy=UrlPolicy(options.allow_hosts))
        resolved = await resolver.resolve(link)
    finally:
        await resolver.aclose()
    assert resolved.mp4_url == f"{origin}/v.mp4"
    assert {SHARE_PATH.lstrip("/"), "api/post.json"} <= set(_paths(proxy))


async def test_the_archive_is_asked_through_the_proxy(
    archive_scenario: Scenario, proxy: RecordingProxy, tmp_path: Path
) -> None:
    # Since Sora was switched off most links resolve from the archive: its CDX lookups, its
    # replayed page and the replayed video all go through the user's proxy too.
    case = archive_scenario.case("other_signature")
    out = tmp_path / "v.mp4"
    args = ("--mode", "archive", "--proxy", proxy.url, "--no-cache")
    run = await sora("download", case.share_url, str(out), *args)
    assert run.code == 0, run.err
    assert hashlib.sha256(out.read_bytes()).hexdigest() == case.sha256
    assert any("/cdx?" in url for url in proxy.asked), proxy.asked
    assert any("id_/https://videos.openai.com/" in url for url in proxy.asked), proxy.asked
    listed = await sora("wayback", "list", "--proxy", proxy.url, "--no-cache")
    assert listed.code == 0, listed.err
    assert case.share_url.split("://", 1)[1] in listed.out
    assert sum("/cdx?" in url for url in proxy.asked) >= 3, proxy.asked
