"""Share-link normalisation, the host/address policy and signed-URL expiry."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from sora_browser.errors import BadInput, InvalidShareURL, PolicyRefused
from sora_browser.urls import (
    UrlPolicy,
    allowed_host,
    canonical_host,
    is_expired,
    parse_share_url,
    signed_url_expiry,
)

EXPIRY = datetime(2025, 10, 17, 18, 22, 5, tzinfo=UTC)
POST = "s_13ec453c78866e5c707cfeb2f120f667"
GEN = "gen_01qjhakntza8v0jtq70t2mt4kf"
TASK = "task_01jv7r7a70s0nyj0z5xbmt84wb"


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        (f"https://sora.chatgpt.com/p/{POST}", f"https://sora.chatgpt.com/p/{POST}"),
        (f"sora.chatgpt.com/p/{POST}", f"https://sora.chatgpt.com/p/{POST}"),
        (f"  http://sora.chatgpt.com/p/{POST}/  ", f"https://sora.chatgpt.com/p/{POST}"),
        (f"https://www.sora.com/g/{GEN}", f"https://www.sora.com/g/{GEN}"),
        (f"www.sora.com/t/{TASK}#comments", f"https://www.sora.com/t/{TASK}"),
        (f"https://SORA.chatgpt.com./d/{GEN}", f"https://sora.chatgpt.com/d/{GEN}"),
        (f"https://sora.com/share/{POST}", f"https://sora.com/share/{POST}"),
        (
            f"https://sora.chatgpt.com/p/{POST}?psh=HXVzZXItM&utm_source=x&utm_medium=y",
            f"https://sora.chatgpt.com/p/{POST}?psh=HXVzZXItM",
        ),
        (
            f"https://sora.chatgpt.com/p/{POST}?utm_source=share",
            f"https://sora.chatgpt.com/p/{POST}",
        ),
    ],
)
def test_parse_share_url_normalises(raw: str, url: str) -> None:
    assert parse_share_url(raw).url == url


def test_parse_share_url_parts() -> None:
    link = parse_share_url(f"https://www.sora.chatgpt.com/g/{GEN}/")
    assert (link.host, link.kind, link.share_id) == ("www.sora.chatgpt.com", "g", GEN)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        f"ftp://sora.chatgpt.com/p/{POST}",
        f"file:///etc/passwd#/p/{POST}",
        f"javascript:alert(1)//sora.chatgpt.com/p/{POST}",
        "https://sora.chatgpt.com/",
        "https://sora.chatgpt.com/explore",
        "https://sora.chatgpt.com/p/",
        f"https://sora.chatgpt.com/x/{POST}",
        f"https://sora.chatgpt.com/p/{POST}/extra",
        "https://sora.chatgpt.com/p/..%2F..%2Fetc",
        "https://sora.chatgpt.com/p/s_1%00",
        "not a url",
    ],
)
def test_parse_share_url_rejects_malformed(raw: str) -> None:
    with pytest.raises(InvalidShareURL) as info:
        parse_share_url(raw)
    assert info.value.exit_code == 2
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "raw",
    [
        f"https://example.com/p/{POST}",
        f"https://sora.chatgpt.com.evil.test/p/{POST}",
        f"https://evilsora.com/p/{POST}",
        f"https://chatgpt.com/p/{POST}",
        f"http://127.0.0.1:8765/p/{POST}",
        f"http://localhost/p/{POST}",
        f"https://user@example.com/p/{POST}",
    ],
)
def test_parse_share_url_refuses_other_hosts(raw: str) -> None:
    with pytest.raises(PolicyRefused) as info:
        parse_share_url(raw)
    assert info.value.exit_code == 2
    assert "--allow-host" in str(info.value)
    assert isinstance(info.value, BadInput)


def test_allow_host_admits_a_share_host_and_keeps_its_scheme_and_port() -> None:
    policy = UrlPolicy(frozenset({"127.0.0.1"}))
    link = parse_share_url(f"http://127.0.0.1:8765/p/{POST}/?psh=a", policy=policy)
    assert link.url == f"http://127.0.0.1:8765/p/{POST}?psh=a"
    assert link.host == "127.0.0.1"


def test_allow_host_is_exact_not_a_suffix() -> None:
    policy = UrlPolicy(frozenset({"mirror.test"}))
    assert parse_share_url(f"https://mirror.test/p/{POST}", policy=policy).host == "mirror.test"
    with pytest.raises(PolicyRefused):
        parse_share_url(f"https://evil.mirror.test/p/{POST}", policy=policy)
    with pytest.raises(InvalidShareURL):  # still only share paths on an allowed host
        parse_share_url("https://mirror.test/admin", policy=policy)


# --- media URL policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/v.mp4",
        "http://127.1.2.3:8080/v.mp4",
        "http://10.0.0.5/v.mp4",
        "http://172.16.0.1/v.mp4",
        "http://192.168.1.1/v.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/v.mp4",
        "http://[fe80::1]/v.mp4",
        "http://[::ffff:127.0.0.1]/v.mp4",
        "http://0.0.0.0/v.mp4",
        "http://localhost/v.mp4",
        "http://video.localhost/v.mp4",
        "file:///etc/passwd",
        "ftp://videos.openai.com/v.mp4",
        "data:video/mp4;base64,AAAA",
        "https:///nohost.mp4",
    ],
)
def test_check_url_refuses_non_public_targets(url: str) -> None:
    with pytest.raises(PolicyRefused) as info:
        UrlPolicy().check_url(url)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://videos.openai.com/az/files/x%2Fraw?se=1&sig=2",
        "http://8.8.8.8/v.mp4",
        "https://[2606:4700::1111]/v.mp4",
    ],
)
def test_check_url_accepts_public_targets(url: str) -> None:
    UrlPolicy().check_url(url)


def test_check_url_allows_an_explicitly_allowed_host() -> None:
    policy = UrlPolicy(frozenset({"127.0.0.1", "::1", "localhost"}))
    for url in ("http://127.0.0.1:9/v.mp4", "http://[::1]:9/v.mp4", "http://localhost:9/a"):
        policy.check_url(url)
    with pytest.raises(PolicyRefused):
        policy.check_url("http://127.0.0.2/v.mp4")


def test_check_address_refuses_names_resolving_inside() -> None:
    policy = UrlPolicy()
    with pytest.raises(PolicyRefused):
        policy.check_address("videos.example", "10.1.2.3")
    policy.check_address("videos.example", "93.184.216.34")
    UrlPolicy(frozenset({"videos.example"})).check_address("videos.example", "10.1.2.3")


# --- signed URL expiry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expiry"),
    [
        (
            "https://videos.openai.com/az/files/x%2Fraw?se=2025-10-17T18%3A22%3A05Z&sp=r&sig=a",
            EXPIRY,
        ),
        (
            "https://v.test/a.mp4?se=2025-10-17T18:22:05Z",
            EXPIRY,
        ),
        (
            "https://v.test/a.mp4?se=2025-10-17T18:22:05",
            EXPIRY,
        ),
        ("https://v.test/a.mp4?se=1760725325", EXPIRY),
        ("https://v.test/a.mp4?sig=a", None),
        ("https://v.test/a.mp4?se=soon", None),
    ],
)
def test_signed_url_expiry(url: str, expiry: datetime | None) -> None:
    assert signed_url_expiry(url) == expiry


def test_is_expired_with_margin() -> None:
    url = "https://v.test/a.mp4?se=2025-10-17T18%3A22%3A05Z"
    before = datetime(2025, 10, 17, 18, 0, 0, tzinfo=UTC)
    assert not is_expired(url, now=before)
    assert is_expired(url, now=before, margin_seconds=3600)
    assert is_expired(url, now=datetime(2025, 10, 18, tzinfo=UTC))
    assert not is_expired("https://v.test/a.mp4", now=before)


def test_checking_a_good_link_loads_no_http_stack() -> None:
    # A browser-only run checks the link before launching Chromium; aiohttp (~0.2 s to import)
    # must not sit in front of the launch. A bad link may load it: it is on its way out.
    probe = (
        "import sys\n"
        "from sora_browser.urls import UrlPolicy, parse_share_url\n"
        "link = 'sora.chatgpt.com/p/s_0123456789abcdef0123456789abcdef'\n"
        "parse_share_url(link, policy=UrlPolicy())\n"
        "print('aiohttp' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# --- one address, however written (issue: hostile input) --------------------------------------

# 127.0.0.2 as browsers and inet_aton also accept it: each must be refused as 127.0.0.2.
SPELLINGS_OF_127_0_0_2 = [
    "127.0.0.2",
    "0x7f000002",
    "0X7F000002",
    "2130706434",
    "0177.0.0.2",
    "0177.0.0.02",
    "127.2",
    "127.0.2",
    "0x7f.0.0.0x2",
    "127.0.0.2.",
    "127.0.0.%32",
    "１２７．０．０．２",  # full-width digits and dots: IDNA maps them to ASCII
    "[::ffff:127.0.0.2]",
    "[::ffff:7f00:2]",
    "[::127.0.0.2]",
    "[64:ff9b::7f00:2]",
    "[2002:7f00:2::]",
]


@pytest.mark.parametrize("host", SPELLINGS_OF_127_0_0_2)
def test_every_spelling_of_an_address_gets_one_refusal(host: str) -> None:
    with pytest.raises(PolicyRefused) as caught:
        UrlPolicy().check_url(f"http://{host}:8080/v.mp4")
    assert "non-public address" in caught.value.message
    if not host.startswith("[") or "ffff" in host:  # IPv4-mapped: the IPv4 address itself
        assert "address 127.0.0.2:" in caught.value.message


@pytest.mark.parametrize("host", ["0x7f000002", "2130706434", "0177.0.0.2", "127.2"])
def test_an_allowed_address_is_allowed_in_every_spelling(host: str) -> None:
    UrlPolicy(frozenset({"127.0.0.2"})).check_url(f"http://{host}/v.mp4")
    assert canonical_host(host) == "127.0.0.2"


@pytest.mark.parametrize(
    "url",
    [
        "http://1.2.3.09/v.mp4",  # ends in a number, but 09 is no octal: no browser connects
        "http://4294967296/v.mp4",
        "http://1.2.3.4.5/v.mp4",
        "http://[::1/v.mp4",
        "http://example.com:99999/v.mp4",
        "http://127.0.0.2\\@example.com/v.mp4",
    ],
)
def test_malformed_hosts_are_refused_not_crashed_on(url: str) -> None:
    with pytest.raises(PolicyRefused):
        UrlPolicy().check_url(url)


def test_ipv6_share_links_keep_their_brackets() -> None:
    policy = UrlPolicy(frozenset({"::1"}))
    link = parse_share_url(f"http://[::1]:9000/p/{POST}", policy=policy)
    assert link.url == f"http://[::1]:9000/p/{POST}"
    assert parse_share_url(f"http://[0:0:0:0:0:0:0:1]/p/{POST}", policy=policy).url == (
        f"http://[::1]/p/{POST}"
    )


def test_share_link_with_a_bad_port_is_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidShareURL):
        parse_share_url(f"https://sora.chatgpt.com:99999/p/{POST}")


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("127.0.0.1:8765", "allow the host alone (127.0.0.1)"),
        ("[::1]:8765", "allow the host alone (::1)"),
        ("http://127.0.0.1", "allow the host alone (127.0.0.1)"),
        ("https://mirror.test/p/", "allow the host alone (mirror.test)"),
        ("mirror.test/p", "allow the host alone (mirror.test)"),
    ],
)
def test_allowed_host_refuses_ports_and_urls_naming_the_fix(value: str, fix: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fix)):
        allowed_host(value)


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("Mirror.Test.", "mirror.test"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("0x7f000001", "127.0.0.1"),
    ],
)
def test_allowed_host_normalises(value: str, host: str) -> None:
    assert allowed_host(value) == host
