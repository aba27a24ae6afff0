"""Issue: hostile input, fuzzing. The parsers and the URL handling take whatever a page or a
user hands them and return candidates (or "none"), never raising anything else: a crash
there is an "internal error" for a link any stranger's page can produce.

Text is drawn from fragments of what Sora pages hold (script tags, escaped JSON, flight
pushes, entity and unicode escapes, URL pieces, broken IPv6 literals) mixed with arbitrary
text, so the shrunk counterexamples read like pages.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sora_browser import parsing
from sora_browser.errors import BadInput, PolicyRefused
from sora_browser.parsing import Candidate, PageState
from sora_browser.urls import (
    UrlPolicy,
    allowed_host,
    canonical_host,
    is_expired,
    parse_share_url,
    proxy_for,
    signed_url_expiry,
)

FUZZ = settings(
    max_examples=int(os.environ.get("SORA_FUZZ_EXAMPLES", "300")),
    deadline=None,  # a slow, shared machine: time is asserted elsewhere, with a bound
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BASE = "https://sora.chatgpt.com/p/s_0123456789abcdef0123456789abcdef"

PAGE_PIECES = [
    "<script>",
    "</script>",
    '<script type="application/ld+json">',
    '<script id="__NEXT_DATA__">',
    'self.__next_f.push([1,"',
    '"])',
    '<meta property="og:video" content="',
    '<video src="',
    '<source type="video/mp4" src="',
    '">',
    "<!--",
    "-->",
    "<title>",
    "</title>",
    '{"post":{"attachments":[{"encodings":{"source":{"path":"',
    '"}}}]}}',
    '"width":',
    '{"contentUrl":"',
    '"@graph":[',
    "\\u0026",
    "\\u002F",
    "\\/",
    "\\\\",
    "\\x26",
    "&amp;",
    "&#x2F;",
    "&region=",
    'JSON.parse("{\\"',
    "https://videos.openai.com/az/files/",
    "%2Fraw?se=2025-01-01T00:00:00Z&sig=",
    ".mp4",
    "http://[",
    "http://[::1",
    "https://",
    "//",
    "blob:",
    "data:",
    "javascript:",
    "http://0x7f000001/",
    "http://127.0.0.1:99999/",
    "\u3002",
    "\uff0e",
    "\x00",
    "\ud7ff",
    "{",
    "}",
    "[",
    "]",
    '"',
    "'",
    ":",
    ",",
    " ",
    "\n",
]
page_text = st.lists(
    st.one_of(st.sampled_from(PAGE_PIECES), st.text(max_size=20)), max_size=60
).map("".join)

URL_PIECES = [
    "http://",
    "https://",
    "ftp://",
    "HTTP://",
    "//",
    "sora.chatgpt.com",
    "www.sora.com",
    "videos.openai.com",
    "127.0.0.1",
    "0x7f000002",
    "2130706434",
    "0177.0.0.2",
    "[::1]",
    "[::ffff:127.0.0.2]",
    "[",
    "]",
    "[fe80::1%25eth0]",
    ":",
    ":8080",
    ":99999",
    "@",
    "\\",
    "/p/",
    "/g/",
    "/share/",
    "s_0123456789abcdef0123456789abcdef",
    "?psh=x",
    "&se=",
    "9" * 30,
    "2025-13-45T99:99:99Z",
    "%2F",
    "%zz",
    "#",
    ".",
    "..",
    "\uff11",
    "\u3002",
    "localhost",
    "xn--",
    "\t",
    "\n",
    " ",
]
url_text = st.lists(st.one_of(st.sampled_from(URL_PIECES), st.text(max_size=8)), max_size=12).map(
    "".join
)


# A URL where pages keep one: attributes, JSON values, flight rows, plain script text.
URL_SLOTS = [
    ('<video src="', '"></video>'),
    ('<meta property="og:video" content="', '">'),
    ('<source src="', '">'),
    ('<script>{"encodings":{"source":{"path":"', '"}}}</script>'),
    ('<script>{"downloadable_url":"', '"}</script>'),
    ('<script type="application/ld+json">{"contentUrl":"', '"}</script>'),
    ('<script>self.__next_f.push([1,"1:{\\"url\\":\\"', '\\"}\\n"])</script>'),
    ("<script>var u = '", ".mp4';</script>"),
]
page_with_urls = st.lists(
    st.tuples(st.sampled_from(URL_SLOTS), st.one_of(url_text, page_text)), max_size=6
).map(lambda parts: "".join(f"{open_}{url}{close}" for (open_, close), url in parts))


def _candidates(found: object) -> None:
    assert isinstance(found, list)
    assert all(isinstance(c, Candidate) for c in found)


@FUZZ
@given(st.one_of(page_text, page_with_urls))
@example('<video src="http://["></video>')  # found by this test: urljoin raised ValueError
def test_find_candidates_never_raises(page: str) -> None:
    found = parsing.find_candidates(page, BASE)
    _candidates(found)
    _candidates(parsing.rank_candidates(found))


@FUZZ
@given(st.one_of(page_text, page_with_urls))
@example('<script>{"encodings":{"source":{"path":"http://["}}}</script>')
def test_candidates_from_json_never_raises(body: str) -> None:
    _candidates(parsing.candidates_from_json(body, BASE))


@FUZZ
@given(
    page_text, st.integers(100, 599), st.dictionaries(st.text(max_size=12), st.text(max_size=30))
)
def test_classify_and_title_never_raise(page: str, status: int, headers: dict[str, str]) -> None:
    assert isinstance(parsing.classify_page(status, headers, page), PageState)
    title = parsing.page_title(page)
    assert title is None or isinstance(title, str)


@FUZZ
@given(page_text)
def test_unescaping_never_raises(text: str) -> None:
    assert isinstance(parsing.unescape_url(text), str)
    assert isinstance(parsing.unescape_html(text), str)
    assert isinstance(parsing.decode_js_string(f'"{text}"'), str)
    assert all(c is not None for c in parsing.json_values(text))


@FUZZ
@given(url_text)
@example("http://[")
def test_the_policy_refuses_or_accepts_and_nothing_else(url: str) -> None:
    with contextlib.suppress(PolicyRefused):
        UrlPolicy().check_url(url)
    with contextlib.suppress(PolicyRefused):
        UrlPolicy(frozenset({"127.0.0.1", "::1"})).check_url(url)
    assert isinstance(parsing.looks_like_video(url), bool)


@FUZZ
@given(url_text)
def test_share_links_parse_or_are_bad_input(raw: str) -> None:
    try:
        link = parse_share_url(raw, policy=UrlPolicy(frozenset({"127.0.0.1"})))
    except BadInput:
        return
    assert parse_share_url(link.url, policy=UrlPolicy(frozenset({"127.0.0.1"}))) == link


@FUZZ
@given(url_text)
def test_hosts_canonicalise_or_are_value_errors(text: str) -> None:
    for function in (canonical_host, allowed_host):
        with contextlib.suppress(ValueError):
            assert isinstance(function(text), str)
    proxied = proxy_for(text, "http://proxy:3128", frozenset({"example.com", "10.0.0.0/8", text}))
    assert proxied in (None, "http://proxy:3128")


@FUZZ
@given(url_text)
@example("http://[")
@example("https://v.test/a?se=99999999999999999999")  # found: fromtimestamp overflowed
def test_signed_url_expiry_never_raises(url: str) -> None:
    expiry = signed_url_expiry(url)
    assert expiry is None or isinstance(expiry, datetime)
    assert isinstance(is_expired(url), bool)


# -- big pages ---------------------------------------------------------------------------------

MB = 1000 * 1000


BIG_PAGES = {
    "spaces": "<html>" + " " * (20 * MB),
    "prose": "<html><body>" + "lorem ipsum dolor sit amet, " * (20 * MB // 28),
    "dotted-I": "<html>" + "İ" * (20 * MB),  # grows when lowered: indices must not drift
    "script": "<html><script>" + 'var a="x";' * (2 * MB) + "</script>",
}


@pytest.mark.parametrize("name", ["spaces", "prose", "dotted-I"])
def test_classifying_a_20_mb_page_is_quick(name: str) -> None:
    started = time.perf_counter()
    assert parsing.classify_page(200, {}, BIG_PAGES[name]) is PageState.OK
    # ~0.3 s here; it was 6-13 s (IGNORECASE alternations over every character). 3 s leaves a
    # slow machine ten times the room and still fails the old way.
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize("name", list(BIG_PAGES))
def test_a_20_mb_page_parses_in_bounded_time(name: str) -> None:
    page = BIG_PAGES[name]
    started = time.perf_counter()
    parsing.classify_page(200, {}, page)
    assert parsing.rank_candidates(parsing.find_candidates(page, BASE)) == []
    parsing.page_title(page)
    assert time.perf_counter() - started < 30  # ~0.4-2.5 s here: a guard, not a benchmark


def test_hints_find_what_the_patterns_find() -> None:
    removed = "<p>" + "x " * 5000 + "This video has been removed.</p>"
    assert parsing.classify_page(200, {}, removed) is PageState.GONE
    login = "İ" * 100 + "<p>Log in to continue</p>"
    assert parsing.classify_page(200, {}, login) is PageState.LOGIN
    challenge = "<html><head><title>Just a moment...</title></head></html>"
    assert parsing.classify_page(403, {}, challenge) is PageState.CHALLENGE
