"""Issue: keep what the page knew. What lands beside the video and under which name: the info
JSON (field by field, no secrets), ``--template`` against hostile titles and collisions, and
skipping a video that is already there, proven by the fixture CDN's byte counter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_cli import ALLOW, assert_one_clean_line, sora

from sora_browser.testing.cdn import Fault
from sora_browser.testing.hostile import HostileServer, Media, Page, mp4_body
from sora_browser.testing.media import VIDEOS
from sora_browser.testing.pages import share_url
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite
from sora_browser.testing.sora_html import hex_id, post_json, post_page

APP = "app_context"
APP_ID = "s_771d42370832232306839b3fee976987"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_requests(site: FixtureSite, video: str) -> list[str]:
    """The methods of the CDN requests for ``video`` (a HEAD fetches no media byte)."""
    path = VIDEOS[video].path
    return [method for method, raw, _ in site.stats.requests if raw.startswith(path)]


def page_requests(site: FixtureSite, page: str) -> int:
    path = share_url(site, page).split("/", 3)[3]
    return sum(raw.lstrip("/").startswith(path) for _, raw, _ in site.stats.requests)


# -- the info JSON -----------------------------------------------------------------------------


async def test_the_info_json_field_by_field(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    run = await sora("download", share_url(site, APP), str(out), "--write-info-json", *ALLOW)
    assert run.code == 0, run.err
    text = (tmp_path / "clip.info.json").read_text()
    info = json.loads(text)
    assert info["share_url"] == share_url(site, APP)
    assert info["share_id"] == APP_ID
    assert info["mp4_url"] == site.url + VIDEOS["app_source"].path  # no signature
    assert (info["resolver"], info["strategy"]) == ("static", "next-flight")
    assert (info["variant"], info["watermarked"]) == ("source", False)
    assert (info["width"], info["height"], info["n_frames"]) == (1080, 1920, 300)
    assert info["prompt"] == info["title"] == "A paper boat sailing down a rain gutter, macro"
    assert info["username"] == "dreamweaver"
    assert info["profile_url"] == "https://sora.chatgpt.com/profile/dreamweaver"
    assert (info["post_id"], info["post_state"]) == (APP_ID, "public")
    assert info["generation_id"].startswith("gen_")
    assert info["posted_at"] == "2026-01-14T09:30:00+00:00"
    assert (info["sha256"], info["file_size_bytes"]) == (sha256(out), out.stat().st_size)
    assert info["local_path"] == str(out)
    downloaded = datetime.fromisoformat(info["downloaded_at"])
    assert timedelta(0) <= datetime.now(UTC) - downloaded < timedelta(hours=1)
    assert datetime.fromisoformat(info["expires_at"]) > downloaded
    assert info["page_captured_at"] is None
    assert "cookies" not in info
    assert "skipped" not in info
    assert "sig=" not in text
    assert "se=" not in text


async def test_json_output_keeps_the_url_usable(site: FixtureSite, tmp_path: Path) -> None:
    run = await sora("download", share_url(site, APP), str(tmp_path), "--json", *ALLOW)
    assert run.code == 0, run.err
    (record,) = run.json_lines()
    assert "sig=" in str(record["mp4_url"])
    assert record["username"] == "dreamweaver"
    assert record["skipped"] is False
    assert record["downloaded_at"] is not None


async def test_no_info_json_when_the_download_fails(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script("app_source", [Fault.status(404)])
    out = tmp_path / "clip.mp4"
    run = await sora("download", share_url(site, APP), str(out), "--write-info-json", *ALLOW)
    assert run.code == 4
    assert not out.exists()
    assert not (tmp_path / "clip.info.json").exists()


async def test_an_archived_video_records_where_it_came_from(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("other_signature")
    out = tmp_path / "v.mp4"
    run = await sora("download", case.share_url, str(out), "--mode", "archive", "--write-info-json")
    assert run.code == 0, run.err
    text = (tmp_path / "v.info.json").read_text()
    info = json.loads(text)
    assert info["resolver"] == "archive"
    assert info["page_captured_at"].startswith("2025-")
    assert info["media_captured_at"] is not None
    assert info["original_media_url"] == str(case.media_url).split("?", 1)[0]
    assert info["replay_url"] == info["mp4_url"]
    assert "?" not in info["replay_url"]
    assert "sig=" not in text


# -- already downloaded ------------------------------------------------------------------------


async def test_a_rerun_skips_without_fetching_anything(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    first = await sora("download", share_url(site, APP), str(out), "--write-info-json", *ALLOW)
    assert first.code == 0, first.err
    site.stats.reset()
    again = await sora("download", share_url(site, APP), str(out), *ALLOW)
    assert again.code == 0, again.err
    assert f"already downloaded: {out}" in again.err
    assert again.out.strip() == str(out)
    assert site.stats.total_bytes() == 0
    assert page_requests(site, APP) == 0  # the info JSON proved it: not even the page


async def test_without_an_info_json_the_size_decides(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    assert (await sora("download", share_url(site, APP), str(out), *ALLOW)).code == 0
    site.stats.reset()
    again = await sora("download", share_url(site, APP), str(out), "--json", *ALLOW)
    assert again.code == 0, again.err
    assert "already downloaded" in again.err
    assert site.stats.total_bytes() == 0
    assert media_requests(site, "app_source") == ["HEAD"]
    (record,) = again.json_lines()
    assert record["skipped"] is True
    assert record["sha256"] == sha256(out)


async def test_a_different_file_at_output_is_never_replaced_silently(
    site: FixtureSite, tmp_path: Path
) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"my own notes, not a video")
    run = await sora("download", share_url(site, APP), str(out), *ALLOW)
    assert run.code == 5
    assert "--force-overwrites" in run.err
    assert_one_clean_line(run)
    assert out.read_bytes() == b"my own notes, not a video"
    assert site.stats.total_bytes() == 0
    forced = await sora("download", share_url(site, APP), str(out), "--force-overwrites", *ALLOW)
    assert forced.code == 0, forced.err
    assert out.read_bytes()[4:8] == b"ftyp"


async def test_another_videos_info_json_at_output_is_exit_5(
    site: FixtureSite, tmp_path: Path
) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"\x00\x00\x00\x20ftyp" + b"\x00" * 64)
    (tmp_path / "clip.info.json").write_text(json.dumps({"share_id": "s_" + "e" * 32}))
    run = await sora("download", share_url(site, APP), str(out), *ALLOW)
    assert run.code == 5
    assert "holds another video (s_eeee" in run.err


async def test_force_overwrites_downloads_again(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    first = await sora("download", share_url(site, APP), str(out), "--write-info-json", *ALLOW)
    assert first.code == 0, first.err
    first_info = json.loads((tmp_path / "clip.info.json").read_text())
    first_done = datetime.fromisoformat(first_info["downloaded_at"])
    site.stats.reset()
    again = await sora("download", share_url(site, APP), str(out), "--force-overwrites", *ALLOW)
    assert again.code == 0, again.err
    assert site.stats.total_bytes("app_source") == VIDEOS["app_source"].size
    info = json.loads((tmp_path / "clip.info.json").read_text())  # kept true, not left stale
    assert datetime.fromisoformat(info["downloaded_at"]) > first_done


# -- templates ---------------------------------------------------------------------------------


async def test_a_template_makes_folders_from_the_page(site: FixtureSite, tmp_path: Path) -> None:
    template = "{username}/{date} {title} [{id}].{ext}"
    run = await sora(
        "download", share_url(site, APP), str(tmp_path), "--template", template, *ALLOW
    )
    assert run.code == 0, run.err
    expected = (
        tmp_path
        / "dreamweaver"
        / f"20260114 A paper boat sailing down a rain gutter, macro [{APP_ID}].mp4"
    )
    assert expected.is_file()
    assert run.out.strip() == str(expected)


async def test_a_template_with_an_output_file_is_bad_input(
    site: FixtureSite, tmp_path: Path
) -> None:
    out = tmp_path / "clip.mp4"
    run = await sora("download", share_url(site, APP), str(out), "--template", "{id}.{ext}", *ALLOW)
    assert run.code == 2
    assert_one_clean_line(run)


@pytest.mark.parametrize("template", ["../{id}.{ext}", "/tmp/{id}.{ext}", "{nope}.{ext}"])
async def test_a_template_that_leaves_the_folder_is_bad_input(
    site: FixtureSite, tmp_path: Path, template: str
) -> None:
    run = await sora(
        "download", share_url(site, APP), str(tmp_path), "--template", template, *ALLOW
    )
    assert run.code == 2
    assert site.stats.requests == []


async def test_a_symlinked_subfolder_is_never_written_through(
    site: FixtureSite, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "dreamweaver").symlink_to(outside)
    template = "{username}/{id}.{ext}"
    run = await sora("download", share_url(site, APP), str(folder), "--template", template, *ALLOW)
    assert run.code == 5
    assert "symlink" in run.err
    assert list(outside.iterdir()) == []


# -- hostile titles and collisions, on pages the tests write ------------------------------------

HOSTILE_TITLES = {
    "dots": "../../escaped",
    "newline": "first line\nsecond line",
    "long": "sora " * 100,
    "reserved": "CON",
    "dash": "-rf everything",
}


@pytest.fixture
async def titled() -> AsyncIterator[HostileServer]:
    """A share page per hostile title, each with its own small video, plus two pages whose
    titles are the same (two different videos)."""
    titles = {**HOSTILE_TITLES, "twin_a": "twin", "twin_b": "twin"}
    async with HostileServer() as server:
        for index, (name, title) in enumerate(titles.items()):
            share_id = "s_" + hex_id(name)
            body = mp4_body(40_000 + index * 1000, index)
            media = server.add_media(f"/media/{name}.mp4", Media(body))
            data = post_json(
                share_id, username="someone", prompt=title, encodings={"source": media}
            )
            server.add_page(f"/p/{share_id}", Page(post_page(data, og_video=None)))
        yield server


def link(server: HostileServer, name: str) -> str:
    return f"{server.url}/p/s_{hex_id(name)}"


async def test_hostile_titles_stay_inside_the_folder(titled: HostileServer, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    links = [link(titled, name) for name in HOSTILE_TITLES]
    run = await sora("batch", *links, "-o", str(folder), "--template", "{title}.{ext}", *ALLOW)
    assert run.code == 0, run.err
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == len(HOSTILE_TITLES)
    assert all(p.parent == folder for p in folder.rglob("*"))
    assert not (tmp_path / "escaped.mp4").exists()
    assert not any(name.startswith(("-", ".")) or "\n" in name for name in names)
    assert "_CON.mp4" in names
    assert all(len(name.encode()) + len(".part.json.tmp") <= 255 for name in names)


async def test_two_videos_with_one_name_never_overwrite_each_other(
    titled: HostileServer, tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    twins = [link(titled, "twin_a"), link(titled, "twin_b")]
    args = ("-o", str(folder), "--template", "{title}.{ext}", "--jobs", "1", *ALLOW)
    run = await sora("batch", *twins, *args)
    assert run.code == 0, run.err
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["twin [s_" + hex_id("twin_b") + "].mp4", "twin.mp4"]
    assert sha256(files[0]) != sha256(files[1])
    served = sum(media.served for media in titled.media.values())
    again = await sora("batch", *twins, *args)  # the same videos: the same files, nothing fetched
    assert again.code == 0, again.err
    assert again.err.count("already downloaded") == 2
    assert sum(media.served for media in titled.media.values()) == served
