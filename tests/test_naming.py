"""File names from templates, against hostile titles (naming.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath

import pytest

from sora_browser.errors import BadInput
from sora_browser.models import ResolvedVideo
from sora_browser.naming import DEFAULT_TEMPLATE, check_template, render
from sora_browser.safefs import LONGEST_SUFFIX


def video(**changes: object) -> ResolvedVideo:
    base: dict[str, object] = {
        "share_url": "https://sora.chatgpt.com/p/s_" + "a" * 32,
        "share_id": "s_" + "a" * 32,
        "mp4_url": "https://videos.openai.com/az/files/x%2Fraw",
        "resolver": "static",
        "strategy": "og:video",
    }
    return ResolvedVideo(**{**base, **changes})  # type: ignore[arg-type]


def test_the_default_is_the_old_name() -> None:
    assert render(DEFAULT_TEMPLATE, video()) == PurePosixPath("s_" + "a" * 32 + ".mp4")


def test_fields_and_folders() -> None:
    posted = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    got = render(
        "{username}/{date} {title}.{ext}", video(username="ana", title="Koi", posted_at=posted)
    )
    assert got == PurePosixPath("ana/20251103 Koi.mp4")


def test_missing_fields_are_na() -> None:
    assert render("{username}-{date}.{ext}", video()) == PurePosixPath("NA-NA.mp4")


@pytest.mark.parametrize(
    "title",
    [
        "../../x",
        "/etc/passwd",
        "a/b\\c",
        "line\nbreak\ttab",
        "..",
        ".hidden",
        "-rf",
        "CON",
        "nul.txt",
    ],
)
def test_hostile_titles_stay_one_safe_name(title: str) -> None:
    got = render("{title}.{ext}", video(title=title))
    assert len(got.parts) == 1
    name = got.parts[0]
    assert not name.startswith((".", "-"))
    assert not set(name) & {"/", "\\", "\n"}
    assert name.split(".")[0].lower() not in {"con", "nul", "prn", "aux"}


def test_a_long_title_fits_with_room_for_side_files() -> None:
    title = "é" * 500  # two bytes each
    name = render("{title}.{ext}", video(title=title)).parts[0]
    assert name.endswith(".mp4")
    assert len(name.encode()) + len(LONGEST_SUFFIX) <= 255
    name.encode().decode("utf-8")  # never cut mid-character


@pytest.mark.parametrize("template", ["../{id}.mp4", "/tmp/{id}.mp4", "{nope}.mp4", "{id", ""])
def test_bad_templates_are_bad_input(template: str) -> None:
    with pytest.raises(BadInput):
        render(template, video())


def test_check_template_accepts_the_documented_fields() -> None:
    template = "{id}{title}{username}{prompt}{variant}{width}{height}{date}.{ext}"
    assert check_template(template) == template
