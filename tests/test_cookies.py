"""The Netscape cookies.txt loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from sora_browser.cookies import load_cookies
from sora_browser.errors import BadInput
from sora_browser.models import Cookie

GOOD = (
    "# Netscape HTTP Cookie File\n"
    "# https://curl.se/docs/http-cookies.html\n"
    "\n"
    ".sora.chatgpt.com\tTRUE\t/\tTRUE\t4102444800\t__Secure-next-auth.session-token\tabc.def\n"
    "#HttpOnly_sora.chatgpt.com\tFALSE\t/backend\tTRUE\t0\tcf_clearance\tx=y\n"
    "sora.chatgpt.com\tFALSE\t/\tFALSE\t1000\told\tstale\n"
    "sora.chatgpt.com\tFALSE\t/\tFALSE\t0\tempty\t\n"
    "sora.chatgpt.com\tFALSE\t/\tFALSE\t0\tnotab\n"
)


def test_load_cookies(tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(GOOD)
    assert load_cookies(path, now=2000) == (
        Cookie("__Secure-next-auth.session-token", "abc.def", ".sora.chatgpt.com", "/"),
        Cookie("cf_clearance", "x=y", "sora.chatgpt.com", "/backend"),
        Cookie("empty", "", "sora.chatgpt.com", "/"),
        Cookie("notab", "", "sora.chatgpt.com", "/"),
    )


def test_windows_line_endings_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"
    path.write_bytes(b"\xef\xbb\xbfsora.com\tFALSE\t/\tFALSE\t0\ta\tb\r\n")
    assert load_cookies(path) == (Cookie("a", "b", "sora.com", "/"),)


@pytest.mark.parametrize(
    "text",
    [
        '[{"name": "a", "value": "b"}]',  # a JSON export, not cookies.txt
        "sora.com FALSE / FALSE 0 a b\n",  # spaces instead of tabs
        "sora.com\tMAYBE\t/\tFALSE\t0\ta\tb\n",
        "sora.com\tFALSE\t/\tFALSE\tsoon\ta\tb\n",
        "\tFALSE\t/\tFALSE\t0\ta\tb\n",
        "sora.com\tFALSE\t/\tFALSE\t0\ta\tb\textra\n",
    ],
)
def test_malformed_file_is_bad_input(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(text)
    with pytest.raises(BadInput, match=r"cookies\.txt:1") as info:
        load_cookies(path)
    assert info.value.exit_code == 2


def test_missing_or_binary_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="Cannot read cookies file"):
        load_cookies(tmp_path / "missing.txt")
    binary = tmp_path / "cookies.sqlite"
    binary.write_bytes(b"SQLite format 3\x00\xff\xfe")
    with pytest.raises(BadInput):
        load_cookies(binary)
