"""StaticResolver against the fixture site on loopback (real aiohttp server, port 0)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from sora_browser.errors import (
    ChallengeRequired,
    FetchError,
    HTTPStatusError,
    LoginRequired,
    MediaRefused,
    NoVideoFound,
    PageGone,
)
from sora_browser.models import ResolvedVideo
from sora_browser.options import ResolveOptions
from sora_browser.resolvers.base import Resolver
from sora_browser.resolvers.static import StaticResolver
from sora_browser.testing.media import check_signature, render_template
from sora_browser.testing.pages import load_pages, share_url, share_urls
from sora_browser.testing.site import FixtureSite
from sora_browser.urls import ShareLink, UrlPolicy, parse_share_url

OPTIONS = ResolveOptions(allow_hosts=frozenset({"127.0.0.1"}), retries=2, timeout=10)
FAST = (0.01, 0.02)


def link_to(site: FixtureSite, name: str) -> ShareLink:
    return parse_share_url(share_url(site, name), policy=UrlPolicy(OPTIONS.allow_hosts))


async def resolve(site: FixtureSite, name: str, options: ResolveOptions = OPTIONS) -> ResolvedVideo:
    resolver = StaticResolver(options, backoff=FAST)
    try:
        return await resolver.resolve(link_to(site, name))
    finally:
        await resolver.aclose()


def requested_paths(site: FixtureSite) -> list[str]:
    return [path for _, path, _ in site.stats.requests]


@pytest.mark.parametrize(
    ("name", "video", "strategy", "variant"),
    [
        ("og_video", "source", "og:video", None),
        ("video_src_amp", "source_wm", "video-src", None),
        ("source_list", "md", "source-src", None),
        ("json_ld", "source", "json-ld", None),
        ("next_data", "source", "next-data", "source"),
        ("next_flight", "source", "next-flight", "source"),
        ("variants_wrong_first", "source", "script-json", "source"),
        ("double_escaped", "source_wm", "script-json", "source_wm"),
        ("sora1_gen", "sora1", "next-flight", "source"),
        ("og_video_sora1", "sora1", "og:video", None),
        ("relative_url", "md", "video-src", None),
        ("protocol_relative", "source", "og:video", None),
        ("refused_mixed", "md", "video-src", None),
    ],
)
async def test_page_resolves_to_the_right_video(
    site: FixtureSite, name: str, video: str, strategy: str, variant: str | None
) -> None:
    link = link_to(site, name)
    resolver = StaticResolver(OPTIONS)
    try:
        result = await resolver.resolve(link)
    finally:
        await resolver.aclose()
    parts = urlsplit(result.mp4_url)
    assert f"{parts.scheme}://{parts.netloc}" == site.url
    assert parts.path == site.videos[video].path  # %2F kept: the signature covers it
    assert check_signature(parts.path, parts.query, secret=site.secret) == "ok"
    assert (result.resolver, result.strategy, result.variant) == ("static", strategy, variant)
    assert (result.share_url, result.share_id) == (link.url, link.share_id)
    assert result.expires_at is not None
    # One page GET and nothing else: resolving never touches the media.
    assert requested_paths(site) == [urlsplit(link.url).path]


async def test_title_comes_from_the_page_or_the_prompt(site: FixtureSite) -> None:
    og = await resolve(site, "og_video")
    flight = await resolve(site, "next_flight")
    assert og.title == "Paper boats racing down a rainy Tokyo street"
    assert flight.title == "A humpback whale breaching through a sea of clouds at sunrise"
    assert (flight.width, flight.height) == (704, 1280)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("gone", PageGone),
        ("gone_soft", PageGone),
        ("login_wall", LoginRequired),
        ("challenge", ChallengeRequired),
        ("js_only", NoVideoFound),
        ("thumbnail_only", NoVideoFound),
    ],
)
async def test_pages_without_a_video(
    site: FixtureSite, name: str, error: type[NoVideoFound]
) -> None:
    with pytest.raises(NoVideoFound) as info:
        await resolve(site, name)
    assert type(info.value) is error
    assert info.value.exit_code == 3
    assert isinstance(info.value, ValueError)
    assert link_to(site, name).url in str(info.value)
    # Not retried: a retry cannot change the answer.
    assert len(site.stats.requests) == 1


async def test_no_video_message_matches_the_original_api(site: FixtureSite) -> None:
    with pytest.raises(NoVideoFound, match=r"^Could not find MP4 URL in Sora share page "):
        await resolve(site, "js_only")


async def test_challenge_says_to_try_the_browser(site: FixtureSite) -> None:
    with pytest.raises(ChallengeRequired, match="--browser"):
        await resolve(site, "challenge")


async def test_server_error_is_retried_then_a_fetch_error(site: FixtureSite) -> None:
    with pytest.raises(HTTPStatusError) as info:
        await resolve(site, "server_error")
    assert info.value.status == 503
    assert info.value.exit_code == 4
    assert isinstance(info.value, FetchError | aiohttp.ClientError)
    assert not isinstance(info.value, NoVideoFound)
    assert len(site.stats.requests) == OPTIONS.retries + 1


async def test_no_retries_means_one_request(site: FixtureSite) -> None:
    with pytest.raises(HTTPStatusError):
        await resolve(site, "server_error", dataclasses.replace(OPTIONS, retries=0))
    assert len(site.stats.requests) == 1


async def test_refused_media_host_is_never_fetched(site: FixtureSite) -> None:
    with pytest.raises(NoVideoFound) as info:
        await resolve(site, "refused_host")
    assert type(info.value) is MediaRefused  # exit 3, and no browser fallback (chain.py)
    assert "localhost" in str(info.value)
    assert requested_paths(site) == [urlsplit(link_to(site, "refused_host").url).path]
    assert site.stats.total_bytes() == 0


async def test_connection_refused_is_a_network_error_after_retries(
    unused_tcp_port: int,
) -> None:
    link = parse_share_url(
        f"http://127.0.0.1:{unused_tcp_port}/p/s_13ec453c78866e5c707cfeb2f120f667",
        policy=UrlPolicy(OPTIONS.allow_hosts),
    )
    resolver = StaticResolver(dataclasses.replace(OPTIONS, retries=1), backoff=FAST)
    try:
        with pytest.raises(FetchError) as info:
            await resolver.resolve(link)
    finally:
        await resolver.aclose()
    assert info.value.exit_code == 4
    assert info.value.retryable


async def test_old_share_path_redirects_to_the_post(site: FixtureSite) -> None:
    policy = UrlPolicy(OPTIONS.allow_hosts)
    link = parse_share_url(f"{site.url}/share/s_13ec453c78866e5c707cfeb2f120f667", policy=policy)
    resolver = StaticResolver(OPTIONS)
    try:
        result = await resolver.resolve(link)
    finally:
        await resolver.aclose()
    assert result.mp4_url.split("?")[0] == site.url + site.videos["source"].path
    assert requested_paths(site) == [
        "/share/s_13ec453c78866e5c707cfeb2f120f667",
        "/p/s_13ec453c78866e5c707cfeb2f120f667",
    ]


async def test_trailing_slash_redirect_sets_the_base_url(site: FixtureSite) -> None:
    resolver = StaticResolver(OPTIONS)
    try:
        page = await resolver.fetch_page(share_url(site, "relative_url") + "/")
    finally:
        await resolver.aclose()
    assert page.url == share_url(site, "relative_url")
    assert page.status == 200


async def test_page_size_is_capped(site: FixtureSite) -> None:
    page = load_pages(site.pages_dir)["next_flight"]
    html = render_template(page.template, site=site.url, media_base=site.url)
    assert html.index("%2Fraw") > 1024  # the first video URL is past the cap
    with pytest.raises(NoVideoFound):
        await resolve(site, "next_flight", dataclasses.replace(OPTIONS, max_page_bytes=1024))
    assert (await resolve(site, "next_flight")).variant == "source"


async def test_browser_like_headers_and_cookies_are_sent(site: FixtureSite, tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t0\t__Secure-next-auth.session-token\ttok123\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t1\texpired\tgone\n"
    )
    await resolve(site, "og_video", dataclasses.replace(OPTIONS, cookies_file=cookies))
    (_, _, headers), *_ = site.stats.requests
    assert headers["Accept"].startswith("text/html")
    assert headers["User-Agent"] == OPTIONS.user_agent
    assert headers["Cookie"] == "__Secure-next-auth.session-token=tok123"


async def test_a_passed_in_session_is_used_and_not_closed(site: FixtureSite) -> None:
    async with aiohttp.ClientSession() as session:
        resolver = StaticResolver(OPTIONS, session=session)
        assert isinstance(resolver, Resolver)
        await resolver.resolve(link_to(site, "og_video"))
        await resolver.aclose()
        assert not session.closed


async def test_share_urls_cover_every_page(site: FixtureSite) -> None:
    urls = share_urls(site)
    assert urls["og_video"] == f"{site.url}/p/s_13ec453c78866e5c707cfeb2f120f667"
    assert all(url.startswith(site.url + "/") for url in urls.values())
    with pytest.raises(KeyError):
        share_url(site, "no_such_page")


async def test_post_json_route(site: FixtureSite) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{site.url}/backend/project_y/post/s_9f5c15f72463e312d19bb72a93e44c6b") as r,
    ):
        body = await r.json()
    assert r.status == 200
    path = body["post"]["attachments"][0]["encodings"]["source"]["path"]
    assert urlsplit(path).path == site.videos["source"].path
