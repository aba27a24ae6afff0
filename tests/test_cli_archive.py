"""The installed command recovering videos from an archive (the session's pywb, named by the
environment conftest.py gives every subprocess, or the IA stand-in named on the command line).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from test_cli import assert_one_clean_line, sora

from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.pywb import PywbArchive
from sora_browser.testing.scenario import Scenario


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def at(ia: IAStandIn) -> tuple[str, ...]:
    return ("--wayback", ia.prefix, "--wayback-cdx", ia.cdx_url)


async def test_download_from_the_archive_says_where_it_came_from(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("other_signature")
    out = tmp_path / "v.mp4"
    run = await sora("download", case.share_url, str(out), "--mode", "archive", "--json")
    assert run.code == 0, run.err
    assert sha256(out) == case.sha256
    (record,) = run.json_lines()
    assert record["resolver"] == "archive"
    assert record["sha256"] == case.sha256
    assert record["mp4_url"] == record["replay_url"]
    assert str(record["original_media_url"]).startswith("https://videos.openai.com/az/files/")
    assert str(record["page_captured_at"]).startswith("2025-")
    assert record["media_captured_at"] is not None
    assert "Download complete" in run.err


async def test_auto_mode_reaches_the_archive_when_sora_is_unreachable(
    archive_scenario: Scenario,
) -> None:
    # sora.chatgpt.com cannot even be looked up from here (the loopback guard refuses): the
    # live step fails at once and the archive answers.
    case = archive_scenario.case("psh_only")
    run = await sora("resolve", case.share_url, "--json", "--retries", "0")
    assert run.code == 0, run.err
    (record,) = run.json_lines()
    assert record["resolver"] == "archive"


async def test_a_page_whose_video_was_never_archived(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("media_missing")
    out = tmp_path / "v.mp4"
    run = await sora("download", case.share_url, str(out), "--mode", "archive")
    assert run.code == 3
    assert "never archived" in run.err
    assert_one_clean_line(run)
    assert not out.exists()


async def test_no_wayback_and_mode_archive_is_bad_input(archive_scenario: Scenario) -> None:
    run = await sora("resolve", archive_scenario.case("sora1").share_url, "--mode", "archive",
                     "--no-wayback")  # fmt: skip
    assert run.code == 2
    assert "--no-wayback" in run.err


async def test_an_unreachable_archive_is_exit_4_naming_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/sora"
    link = "https://sora.chatgpt.com/p/s_" + "7" * 32
    run = await sora("resolve", link, "--mode", "archive", "--wayback", dead,
                     "--wayback-cdx", f"{dead}/cdx")  # fmt: skip
    assert run.code == 4
    assert f"127.0.0.1:{port}" in run.err
    assert_one_clean_line(run)


async def test_batch_from_the_archive_with_a_download_archive(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    names = ("sora1", "www_host", "media_missing")
    links = [archive_scenario.case(n).share_url for n in names]
    record = tmp_path / "done.txt"
    run = await sora("batch", *links, "-o", str(tmp_path / "videos"), "--mode", "archive",
                     "--download-archive", str(record))  # fmt: skip
    assert run.code == 1  # one link has no archived video; the others were all tried
    assert len(record.read_text().splitlines()) == 2
    for name in names[:2]:
        case = archive_scenario.case(name)
        share_id = case.share_url.rsplit("/", 1)[-1]
        assert sha256(tmp_path / "videos" / f"{share_id}.mp4") == case.sha256


async def test_wayback_list_pages_past_the_cut_off(
    ia_archive: IAStandIn, archive_scenario: Scenario
) -> None:
    ia_archive.max_rows = 4  # the index cuts long answers: the listing must page
    run = await sora("wayback", "list", *at(ia_archive), "--no-cache")
    assert run.code == 0, run.err
    links = run.out.splitlines()
    assert len(links) == len(set(links))
    expected = {
        c.share_url.split("?")[0]
        for c in archive_scenario.cases.values()
        if c.share_url.startswith("https://sora.chatgpt.com/p/") and c.name != "not_found"
    }
    assert set(links) == expected
    assert ia_archive.cdx_count > 3  # several pages
    assert "1 more with no readable capture" in run.err


async def test_wayback_list_json_checks_media(
    ia_archive: IAStandIn, archive_scenario: Scenario
) -> None:
    run = await sora("wayback", "list", *at(ia_archive), "--json", "--check-media", "-q")
    assert run.code == 0, run.err
    records = {str(r["share_id"]): r for r in run.json_lines()}
    whole = archive_scenario.case("whole_206").share_url.rsplit("/", 1)[-1]
    missing = archive_scenario.case("media_missing").share_url.rsplit("/", 1)[-1]
    challenged = archive_scenario.case("newest_challenge").share_url.rsplit("/", 1)[-1]
    assert records[whole]["media"] == "whole"
    assert records[missing]["media"] == "none"
    assert records[challenged]["captures"] == 3
    assert str(records[challenged]["first_capture"]) < str(records[challenged]["last_capture"])
    assert run.err == ""


async def test_every_cli_test_names_the_local_archive(pywb_archive: PywbArchive) -> None:
    # The tool's default is web.archive.org: the environment must point it here.
    assert os.environ["SORA_BROWSER_WAYBACK"] == pywb_archive.prefix
    assert (
        json.loads(json.dumps(os.environ["PYTHONPATH"]))
        .split(os.pathsep)[0]
        .endswith("loopback_only")
    )
