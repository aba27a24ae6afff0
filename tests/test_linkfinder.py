"""Share links found in any text: exports, notes, CSV, JSON (linkfinder.py)."""

from __future__ import annotations

import json

from sora_browser.linkfinder import find_links
from sora_browser.urls import UrlPolicy

A = "s_" + "a" * 32
B = "s_" + "b" * 32


def test_a_chat_export_in_json_with_escaped_slashes() -> None:
    export = json.dumps(
        {"messages": [{"text": f"look https://sora.chatgpt.com/p/{A}?psh=x!"}, {"text": "hi"}]}
    ).replace("/", "\\/")
    found = find_links([export])
    assert found.links == [f"https://sora.chatgpt.com/p/{A}?psh=x"]


def test_markdown_csv_and_bare_links_one_per_video() -> None:
    note = (
        f"- [cat](https://sora.chatgpt.com/p/{A}) and again sora.chatgpt.com/p/{A}/\n"
        f"id,link\n1,https://sora.com/p/{B}\n"
        "see https://example.com/article and https://sora.chatgpt.com/profile/someone\n"
    )
    found = find_links(note.splitlines())
    assert found.links == [f"https://sora.chatgpt.com/p/{A}", f"https://sora.com/p/{B}"]
    assert found.repeats == 1
    assert found.ignored == 2


def test_cdn_links_only_when_the_archive_may_be_used() -> None:
    cdn = "https://videos.openai.com/az/files/f5991219-bd4e-527b-8a70-d9ab89670055%2Fraw?se=1"
    assert find_links([cdn]).links == []
    assert find_links([cdn], media=True).links == [cdn]


def test_allowed_hosts_count() -> None:
    local = f"http://127.0.0.1:8765/p/{A}"
    assert find_links([local]).links == []
    assert find_links([local], UrlPolicy(frozenset({"127.0.0.1"}))).links == [local]
