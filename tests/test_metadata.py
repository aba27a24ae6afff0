"""What pages say besides the URL (parsing.metadata), on fixture pages in the real shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sora_browser.parsing import json_post_info, page_post_info
from sora_browser.testing.site import PAGES_DIR
from sora_browser.testing.sora_html import post_json, post_page


def page(name: str) -> str:
    return (PAGES_DIR / f"{name}.html").read_text(encoding="utf-8")


def test_a_sora2_post_in_flight_chunks() -> None:
    info = page_post_info(page("next_flight"))
    assert info.post_id == "s_9f5c15f72463e312d19bb72a93e44c6b"
    assert info.prompt == "A humpback whale breaching through a sea of clouds at sunrise"
    assert info.username == "skywhale"
    assert info.profile_url == "https://sora.chatgpt.com/profile/skywhale"
    assert info.generation_id is not None
    assert info.generation_id.startswith("gen_")
    assert (info.width, info.height, info.n_frames) == (704, 1280, 450)
    assert info.state == "public"
    assert info.duration_seconds is None  # frames alone do not give a duration


def test_a_sora1_generation() -> None:
    info = page_post_info(page("sora1_gen"))
    assert info.prompt == "A tiny astronaut tending a bonsai on the moon"
    assert info.posted_at == datetime(2025, 3, 2, 11, 4, 51, tzinfo=UTC)
    assert info.post_id is None


def test_json_ld_gives_duration_and_date() -> None:
    info = page_post_info(page("json_ld"))
    assert info.duration_seconds == 10.0
    assert info.posted_at == datetime(2025, 10, 14, 18, 22, 5, tzinfo=UTC)
    assert (info.width, info.height) == (1920, 1080)


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"tombstoned_at": "2026-01-02T03:04:05Z"}, "removed"),
        ({"permissions": {"can_read": False, "share_setting": "private"}}, "private"),
        ({"output_blocked": True}, "private"),
    ],
)
def test_removed_and_private_posts(changes: dict[str, object], state: str) -> None:
    data = post_json("s_" + "a" * 32, username="someone", prompt="p", encodings={})
    data["post"].update(changes)
    assert page_post_info(post_page(data, og_video=None)).state == state
    assert json_post_info(json.dumps(data)).state == state


def test_username_from_og_title_when_no_profile() -> None:
    html = '<html><head><meta property="og:title" content="skater on Sora"></head></html>'
    info = page_post_info(html)
    assert info.username == "skater"
    assert info.profile_url == "https://sora.chatgpt.com/profile/skater"


def test_frames_and_a_frame_rate_give_a_duration() -> None:
    body = {"post": {"id": "s_1", "attachments": [{"n_frames": 300, "fps": 30}]}}
    assert json_post_info(json.dumps(body)).duration_seconds == 10.0


def test_merged_fills_only_what_is_missing() -> None:
    first = page_post_info(page("next_flight"))
    other = page_post_info(page("json_ld"))
    both = first.merged(other)
    assert both.prompt == first.prompt
    assert both.duration_seconds == 10.0


def test_pages_without_post_json_say_nothing() -> None:
    info = page_post_info(page("og_video"))
    assert info.prompt is None
    assert info.state is None
