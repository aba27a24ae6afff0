"""The pure parsers over every fixture page, plus ranking, escaping and classification rules.

No server: templates are rendered with the public Sora origin and CDN as bases.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

import pytest

from sora_browser.parsing import (
    STRATEGIES,
    Candidate,
    PageState,
    candidates_from_json,
    classify_page,
    decode_js_string,
    find_candidates,
    page_title,
    rank_candidates,
    unescape_html,
    unescape_url,
)
from sora_browser.testing.media import VIDEOS, render_template, signed_url
from sora_browser.testing.pages import FixturePage, load_pages
from sora_browser.testing.site import PAGES_DIR

SITE = "https://sora.chatgpt.com"
CDN = "https://videos.openai.com"
EXPIRY = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
PAGES = load_pages(PAGES_DIR)


class Expect(NamedTuple):
    video: str
    strategy: str
    variant: str | None = None
    width: int | None = None
    height: int | None = None
    title: str | None = None
    base: str = CDN


EXPECTED: dict[str, Expect] = {
    "og_video": Expect("source", "og:video", width=1280, height=704),
    "video_src_amp": Expect("source_wm", "video-src", width=704, height=1280),
    "source_list": Expect("md", "source-src"),
    "json_ld": Expect(
        "source", "json-ld", None, 1920, 1080, "A glass jellyfish drifting through a neon city"
    ),
    "next_data": Expect(
        "source",
        "next-data",
        "source",
        1280,
        720,
        "Lanterns rising over a mountain lake at dusk, handheld",
    ),
    "next_flight": Expect(
        "source",
        "next-flight",
        "source",
        704,
        1280,
        "A humpback whale breaching through a sea of clouds at sunrise",
    ),
    "variants_wrong_first": Expect(
        "source",
        "script-json",
        "source",
        1080,
        1920,
        "Neon koi circling in a dark pond, macro lens",
    ),
    "double_escaped": Expect(
        "source_wm",
        "script-json",
        "source_wm",
        1280,
        720,
        "Origami cranes taking flight from a library shelf",
    ),
    "sora1_gen": Expect(
        "sora1", "next-flight", "source", 480, 480, "A tiny astronaut tending a bonsai on the moon"
    ),
    "relative_url": Expect("md", "video-src", base=SITE),
    "og_video_sora1": Expect("sora1", "og:video", width=480, height=480),
    "protocol_relative": Expect("source", "og:video"),
    "refused_host": Expect("source", "og:video"),
    "refused_mixed": Expect("source", "og:video"),
    # DESIGN.md's shapes seen in real captures: the clean source beats its _wm copy; a web
    # session's lone _wm file is still the best it has; og:video naming drvs/md loses to the
    # source the post JSON lists.
    "app_context": Expect(
        "app_source",
        "next-flight",
        "source",
        1080,
        1920,
        "A paper boat sailing down a rain gutter, macro",
    ),
    "web_context": Expect(
        "web_wm", "next-flight", "source", 1080, 1920, "Tide pool creatures waking at dawn"
    ),
    "drvs_og_video": Expect(
        "source", "next-flight", "source", 1080, 1920, "Lanternfish drifting through a dark trench"
    ),
}
NO_VIDEO: dict[str, PageState] = {
    "thumbnail_only": PageState.OK,
    "js_only": PageState.OK,
    "gone": PageState.GONE,
    "gone_soft": PageState.GONE,
    "login_wall": PageState.LOGIN,
    "challenge": PageState.CHALLENGE,
    "server_error": PageState.OK,
    "removed_post": PageState.GONE,
    "private_post": PageState.OK,
}


def render(page: FixturePage) -> str:
    return render_template(page.template, site=SITE, media_base=CDN, expires_at=EXPIRY)


def media(name: str, base: str = CDN) -> str:
    return signed_url(base, VIDEOS[name], expires_at=EXPIRY)


def without_start(url: str) -> str:
    """Sora 1 URLs carry ``st`` (signing time, "now - 5 min"), which differs per render."""
    return re.sub(r"st=[^&]*&", "", url)


def best_of(page: FixturePage) -> Candidate | None:
    ranked = rank_candidates(find_candidates(render(page), SITE + page.path))
    return ranked[0] if ranked else None


def test_every_fixture_page_has_an_expectation() -> None:
    # js_* pages belong to the browser work: JavaScript builds their player.
    static_pages = {name for name in PAGES if not name.startswith("js_")}
    assert static_pages - {"js_only"} <= set(EXPECTED) | set(NO_VIDEO)
    assert len(PAGES) >= 14


def test_every_fixture_names_its_real_world_shape() -> None:
    for page in PAGES.values():
        assert page.template.lstrip().startswith("<!-- "), page.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_page_best_candidate(name: str) -> None:
    expect = EXPECTED[name]
    best = best_of(PAGES[name])
    assert best is not None
    assert without_start(best.url) == without_start(media(expect.video, expect.base))
    assert (best.strategy, best.variant) == (expect.strategy, expect.variant)
    assert (best.width, best.height, best.title) == (expect.width, expect.height, expect.title)


@pytest.mark.parametrize("name", sorted(NO_VIDEO))
def test_fixture_page_without_video(name: str) -> None:
    page = PAGES[name]
    html = render(page)
    assert rank_candidates(find_candidates(html, SITE + page.path)) == []
    assert classify_page(page.status, dict(page.headers), html) is NO_VIDEO[name]


@pytest.mark.parametrize("name", sorted(n for n in PAGES if n.startswith("js_")))
def test_javascript_pages_have_nothing_for_a_static_parser(name: str) -> None:
    page = PAGES[name]
    html = render(page)
    assert rank_candidates(find_candidates(html, SITE + page.path)) == []
    assert classify_page(page.status, dict(page.headers), html) is PageState.OK


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pages_with_video_classify_ok(name: str) -> None:
    page = PAGES[name]
    assert classify_page(page.status, dict(page.headers), render(page)) is PageState.OK


def test_all_variants_ranked_and_images_dropped() -> None:
    page = PAGES["variants_wrong_first"]
    ranked = rank_candidates(find_candidates(render(page), SITE + page.path))
    assert [c.variant for c in ranked] == ["source", "source_wm", "md", "ld"]
    paths = {VIDEOS[n].path for n in ("thumbnail", "gif")}
    assert not any(c.url.split("?")[0].removeprefix(CDN) in paths for c in ranked)


def test_flight_chunks_split_mid_object_are_joined() -> None:
    page = PAGES["next_flight"]
    found = find_candidates(render(page), SITE + page.path)
    flight = {c.variant for c in found if c.strategy == "next-flight"}
    assert {"md", "source", "thumbnail"} <= flight


def test_post_json_files_parse_like_the_network_body() -> None:
    text = render_template(
        PAGES["js_only"].post or "", site=SITE, media_base=CDN, expires_at=EXPIRY
    )
    ranked = rank_candidates(candidates_from_json(text, SITE + "/p/x", strategy="network"))
    assert [c.variant for c in ranked] == ["source", "source_wm", "md", "ld"]
    assert ranked[0].strategy == "network"
    assert ranked[0].title == "A fox made of autumn leaves running through a forest"
    assert (ranked[0].width, ranked[0].height) == (1280, 704)
    # downloadable_url is the same URL as source_wm: merged, not listed twice
    assert len({c.url for c in ranked}) == len(ranked)


# --- ranking ----------------------------------------------------------------------------------

VIDEO = CDN + "/az/files/0b1c%2Fraw?se=1&sig=a"


def cand(url: str, strategy: str = "script-json", **kwargs: object) -> Candidate:
    return Candidate(url=url, strategy=strategy, **kwargs)  # type: ignore[arg-type]


def test_variant_order_beats_document_order() -> None:
    names = ["ld", "md", None, "source_wm", "source"]
    found = [cand(f"{CDN}/az/files/{i}%2Fraw", variant=v) for i, v in enumerate(names)]
    assert [c.variant for c in rank_candidates(found)] == ["source", "source_wm", None, "md", "ld"]


def test_video_cdn_urls_rank_above_anything_else() -> None:
    other = cand("https://example.com/player?id=1", strategy="og:video", variant="source")
    cdn = cand(CDN + "/az/files/x%2Fraw", strategy="script-url", variant="ld")
    mp4 = cand("https://media.example.net/clip.mp4", strategy="script-url", variant="md")
    assert rank_candidates([other, cdn, mp4]) == [mp4, cdn, other]


@pytest.mark.parametrize(
    "candidate",
    [
        cand(VIDEO, variant="thumbnail"),
        cand(VIDEO, variant="gif"),
        cand(VIDEO, variant="spritesheet"),
        cand(VIDEO, variant="poster"),
        cand(CDN + "/az/files/x%2Fthumbnail.webp?se=1", variant="source"),
        cand("https://cdn.openai.com/poster.jpg"),
        cand("https://videos.openai.com/hls/master.m3u8"),
    ],
)
def test_images_and_playlists_are_never_candidates(candidate: Candidate) -> None:
    assert rank_candidates([candidate]) == []


def test_dedupe_keeps_the_richest_metadata() -> None:
    plain = cand(VIDEO, strategy="og:video")
    rich = cand(VIDEO, strategy="next-flight", variant="source", width=1280, title="A fox")
    sized = cand(VIDEO, strategy="script-url", height=704)
    assert rank_candidates([plain, rich, sized]) == [
        cand(VIDEO, strategy="next-flight", variant="source", width=1280, height=704, title="A fox")
    ]


def test_an_image_name_anywhere_taints_the_url() -> None:
    found = [cand(VIDEO, strategy="og:video"), cand(VIDEO, variant="thumbnail")]
    assert rank_candidates(found) == []


def test_strategy_order_is_data() -> None:
    names = [name for name, _ in STRATEGIES]
    assert names[:3] == ["og:video", "video-src", "source-src"]
    assert set(names) >= {"json-ld", "next-data", "next-flight", "script-json", "script-url"}


# --- escaping ---------------------------------------------------------------------------------

RAW = "https://videos.openai.com/az/files/7f3e%2Fraw?se=2031-01-02T03%3A04%3A05Z&sp=r&sig=Ab%2B"


@pytest.mark.parametrize(
    "escaped",
    [
        RAW,
        RAW.replace("&", "&amp;"),
        RAW.replace("&", "\\u0026").replace("/", "\\/"),
        RAW.replace("&", "\\u0026").replace("/", "\\u002F"),
        RAW.replace("&", "\\u0026").replace("/", "\\u002f"),
        RAW.replace("&", "\\\\u0026").replace("/", "\\\\/"),
        RAW.replace("&", "&amp;amp;"),
    ],
)
def test_unescape_url_keeps_percent_encoding(escaped: str) -> None:
    assert unescape_url(escaped) == RAW
    assert "%2Fraw" in unescape_url(escaped)


@pytest.mark.parametrize(
    ("script", "strategy"),
    [
        ('var u = "' + RAW.replace("/", "\\/").replace("&", "\\u0026") + '";', "script-url"),
        ('window.s = {"video_url": "' + RAW.replace("&", "\\u0026") + '"};', "script-json"),
        (
            'x = JSON.parse("{\\"md\\":{\\"path\\":\\"' + RAW.replace("/", "\\\\/") + '\\"}}")',
            "script-json",
        ),
    ],
)
def test_urls_in_scripts_however_escaped(script: str, strategy: str) -> None:
    found = find_candidates(f"<html><script>{script}</script></html>", SITE + "/p/s_1")
    assert RAW in {c.url for c in found}
    assert rank_candidates(found)[0].url == RAW
    assert strategy in {c.strategy for c in found}


def test_attribute_entities_need_a_semicolon() -> None:
    # html.unescape would turn "&region" into "®ion"; browsers keep it in attributes.
    assert unescape_html("a?x=1&region=eu&amp;y=2&#47;") == "a?x=1&region=eu&y=2/"
    html = '<video src="https://videos.openai.com/v.mp4?a=1&region=eu&copy=2"></video>'
    assert find_candidates(html, SITE)[0].url.endswith("?a=1&region=eu&copy=2")


def test_relative_and_protocol_relative_urls_resolve_against_the_page() -> None:
    html = (
        '<meta property="og:video" content="//videos.openai.com/a.mp4">'
        '<video src="/media/b.mp4"></video><video src="c.mp4"></video>'
        '<video src="blob:https://sora.chatgpt.com/1"></video>'
    )
    urls = [c.url for c in find_candidates(html, "https://sora.chatgpt.com/p/s_1")]
    assert urls == [
        "https://videos.openai.com/a.mp4",
        "https://sora.chatgpt.com/media/b.mp4",
        "https://sora.chatgpt.com/p/c.mp4",
    ]


def test_decode_js_string_accepts_js_only_escapes() -> None:
    assert decode_js_string(r'"a\x26b\'c\u002Fd"') == "a&b'c/d"


def test_og_video_with_html_type_is_a_player_page_not_a_video() -> None:
    html = (
        '<meta property="og:video" content="https://sora.chatgpt.com/embed/s_1">'
        '<meta property="og:video:type" content="text/html">'
    )
    assert find_candidates(html, SITE) == []


def test_commented_out_markup_is_ignored() -> None:
    assert find_candidates('<!-- <video src="https://x.test/a.mp4"> -->', SITE) == []


def test_links_in_json_are_not_media() -> None:
    text = '{"url": "/p/s_1", "source": "https://example.com/credits", "href": "/explore"}'
    assert candidates_from_json(text, SITE) == []


# --- candidates_from_json robustness ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"post": {"attachments": [{"encodings": {"source": {"path": "RAW"}}}]}}',
        ')]}\'\n{"post": {"attachments": [{"encodings": {"source": {"path": "RAW"}}}]}}',
        '0:["$"]\n1:{"post":{"attachments":[{"encodings":{"source":{"path":"RAW"}}}]}}\n',
        '{"data": "{\\"encodings\\": {\\"source\\": {\\"path\\": \\"RAW\\"}}}"}',
        '[{"items": [{"encodings": {"source": "RAW"}}]}]',
    ],
)
def test_candidates_from_json_shapes(text: str) -> None:
    found = candidates_from_json(text.replace("RAW", RAW), SITE, strategy="network")
    best = rank_candidates(found)[0]
    assert (best.url, best.variant, best.strategy) == (RAW, "source", "network")


@pytest.mark.parametrize("text", ["", "null", "not json at all", "{", '{"a": [1, 2]}', "[]"])
def test_candidates_from_json_on_junk(text: str) -> None:
    assert candidates_from_json(text, SITE) == []


def test_candidates_from_json_on_deep_nesting() -> None:
    text = '{"a":' * 5000 + '"' + RAW + '"' + "}" * 5000
    assert [c.url for c in candidates_from_json(text, SITE)] == [RAW]


def test_candidates_from_json_relative_paths() -> None:
    found = candidates_from_json('{"encodings": {"md": {"path": "/az/files/x%2Fraw"}}}', SITE)
    assert [c.url for c in found] == [SITE + "/az/files/x%2Fraw"]


# --- classify_page ----------------------------------------------------------------------------

PLAIN = "<html><head><title>Sora</title></head><body><main></main></body></html>"


@pytest.mark.parametrize(
    ("status", "headers", "text", "state"),
    [
        (200, {}, PLAIN, PageState.OK),
        (404, {}, PLAIN, PageState.GONE),
        (410, {}, "", PageState.GONE),
        (200, {}, "<body><h1>This content is no longer available</h1></body>", PageState.GONE),
        (200, {}, "<p>Post not found</p>", PageState.GONE),
        (403, {"CF-Mitigated": "challenge"}, "", PageState.CHALLENGE),
        (503, {"cf-mitigated": "Challenge"}, PLAIN, PageState.CHALLENGE),
        (403, {}, "<title>Just a moment...</title>", PageState.CHALLENGE),
        (403, {}, "<script>window._cf_chl_opt={}</script>", PageState.CHALLENGE),
        (
            200,
            {},
            "<title>Just a moment...</title><script>_cf_chl_opt={}</script>",
            PageState.CHALLENGE,
        ),
        (401, {}, PLAIN, PageState.LOGIN),
        (302, {"Location": "https://auth.openai.com/log-in?x=1"}, "", PageState.LOGIN),
        (200, {}, "<h1>Log in to continue</h1>", PageState.LOGIN),
        (200, {}, '<form><input type="password" name="p"></form>', PageState.LOGIN),
    ],
)
def test_classify_page(status: int, headers: dict[str, str], text: str, state: PageState) -> None:
    assert classify_page(status, headers, text) is state


def test_classify_page_ignores_ui_strings_in_scripts() -> None:
    text = '<button>Log in</button><script>t={"e":"Not found","l":"Log in to continue"}</script>'
    assert classify_page(200, {}, text) is PageState.OK


def test_classify_page_with_a_video_and_login_buttons_is_ok() -> None:
    text = '<meta property="og:video" content="x"><h1>Log in to continue</h1>'
    assert classify_page(200, {}, text) is PageState.OK


def test_cloudflare_bot_detection_script_on_a_real_page_is_no_challenge() -> None:
    text = PLAIN + '<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>'
    assert classify_page(200, {"Server": "cloudflare"}, text) is PageState.OK


# --- page_title -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "title"),
    [
        (
            '<meta property="og:title" content="Koi &amp; lanterns"><title>Sora</title>',
            "Koi & lanterns",
        ),
        ("<title>A corgi surfing | Sora</title>", "A corgi surfing"),
        ("<title>\n  Sora\n</title>", None),
        ('<meta name="twitter:title" content="Sora"><title>Rainy  street</title>', "Rainy street"),
        ("<p>no title</p>", None),
    ],
)
def test_page_title(html: str, title: str | None) -> None:
    assert page_title(html) == title
