"""Videos an archive holds only in pieces (a player's ranged 206 captures), joined into the file.

Scenario cases (``sora_browser.testing.scenario``): ``pieces`` (three pieces, two signatures,
two dates, overlapping), ``pieces_gap`` (bytes 700000-899999 never captured),
``pieces_conflict`` (two pieces disagree where they overlap), ``pieces_total_mismatch`` (two
pieces name different file sizes). ``testing.big_archive`` makes a big video in many pieces.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest
from test_archive_resolver import Archive, archive_only, wayback
from test_cli import assert_one_clean_line, sora

from sora_browser.download import VideoDownloader
from sora_browser.download.partfile import PartFile
from sora_browser.errors import ArchivedInPieces, IncompleteDownload
from sora_browser.options import DownloadOptions, ResolveOptions
from sora_browser.service import SoraClient, SoraExtractionService
from sora_browser.testing.big_archive import pieces_case
from sora_browser.testing.cdn import Fault
from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.scenario import Scenario


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_three_pieces_make_the_whole_file(
    archive: Archive, archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("pieces")
    assert case.video is not None
    service = SoraExtractionService(resolve_options=archive_only(archive))
    async with service:
        done = await service.extract(case.share_url, tmp_path / "v.mp4")
    assert sha256(done.download.path) == case.sha256
    resolved = done.resolved
    assert resolved.media_ranges_held == ((0, case.video.size - 1),)
    assert len(resolved.pieces) == 3
    assert {p.url.split("id_/")[1].split("?")[0] for p in resolved.pieces} == {
        str(case.media_url).split("?")[0]
    }  # one media path, captured under two signatures
    assert not (tmp_path / "v.mp4.part").exists()


async def test_each_piece_is_fetched_once(
    ia_archive: IAStandIn, archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("pieces")
    async with SoraClient(archive_only(ia_archive)) as client:
        resolved = await client.resolve(case.share_url)
    ia_archive.reset()
    async with VideoDownloader(DownloadOptions().trusting(frozenset({"127.0.0.1"}))) as down:
        await down.fetch_pieces(resolved.pieces, tmp_path / "v.mp4")
    fetched = [r.path for r in ia_archive.requests_to("replay")]
    assert len(fetched) == len(set(fetched)) == 3


async def test_a_gap_says_which_bytes_were_never_archived(
    archive: Archive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("pieces_gap")
    async with SoraClient(archive_only(archive)) as client:
        with pytest.raises(ArchivedInPieces) as caught:
            await client.resolve(case.share_url)
    assert "archived in pieces; bytes 700000-899999 of 1100001 were never archived" in str(
        caught.value
    )
    assert caught.value.ranges_held == ((0, 699_999), (900_000, 1_100_000))
    assert caught.value.exit_code == 3


async def test_pieces_that_disagree_are_reported_not_mixed(
    archive: Archive, archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("pieces_conflict")
    out = tmp_path / "v.mp4"
    service = SoraExtractionService(resolve_options=archive_only(archive))
    async with service:
        with pytest.raises(ArchivedInPieces) as caught:
            await service.extract(case.share_url, out)
    message = str(caught.value)
    assert "disagree on bytes 400000-599999" in message
    assert "2025-11-20 08:00 capture was left out" in message
    assert "bytes 600000-1000018 of 1000019 were never archived" in message
    assert not out.exists()


async def test_pieces_whose_totals_disagree_are_left_out(
    archive: Archive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("pieces_total_mismatch")
    async with SoraClient(archive_only(archive)) as client:
        with pytest.raises(ArchivedInPieces, match="1 claiming 904103 bytes"):
            await client.resolve(case.share_url)


async def test_an_interrupted_assembly_resumes_with_what_is_on_disk(
    ia_archive: IAStandIn, archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("pieces")
    async with SoraClient(archive_only(ia_archive)) as client:
        resolved = await client.resolve(case.share_url)
    trusted = DownloadOptions(retries=0).trusting(frozenset({"127.0.0.1"}))
    out = tmp_path / "v.mp4"
    ia_archive.reset()
    ia_archive.script("replay", [Fault.ok(), Fault.ok(), Fault.drop_after(fraction=0.5)])
    async with VideoDownloader(trusted) as down:
        with pytest.raises(IncompleteDownload):
            await down.fetch_pieces(resolved.pieces, out)
    saved = PartFile(out).saved_state()
    assert saved is not None
    assert saved.pieces is not None
    # The broken piece, and any the failure stopped midway (they share one run): each has
    # its progress saved, and a finished one stays finished.
    unfinished = sum(1 for piece in saved.pieces if piece.remaining)
    assert unfinished >= 1
    ia_archive.reset()
    async with VideoDownloader(trusted) as down:
        result = await down.fetch_pieces(resolved.pieces, out)
    assert sha256(out) == case.sha256
    assert len(ia_archive.requests_to("replay")) == unfinished  # finished pieces stay done
    assert result.resumed_from == sum(p.pos - p.start for p in saved.pieces) > 0


async def test_assembling_keeps_memory_flat(tmp_path: Path) -> None:
    big = pieces_case("archive_big_pieces", 48 * 1024 * 1024 + 17, 16)
    async with IAStandIn(big.captures) as ia:
        options = ResolveOptions(mode="archive", wayback=wayback(ia))
        async with SoraClient(options) as client:
            resolved = await client.resolve(big.share_url)
        assert len(resolved.pieces) == 16
        tracemalloc.start()
        try:
            async with VideoDownloader(DownloadOptions().trusting(frozenset({"127.0.0.1"}))) as d:
                await d.fetch_pieces(resolved.pieces, tmp_path / "big.mp4")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sha256(tmp_path / "big.mp4") == big.sha256
    assert peak < 16 * 1024 * 1024  # a third of the file: no piece is ever held whole


# -- the command line ----------------------------------------------------------------------


async def test_cli_gap_is_exit_3_and_json_lists_the_ranges_held(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("pieces_gap")
    out = tmp_path / "v.mp4"
    run = await sora("download", case.share_url, str(out), "--mode", "archive", "--json")
    assert run.code == 3
    assert_one_clean_line(run)
    (record,) = run.json_lines()
    assert record["media_ranges_held"] == [[0, 699_999], [900_000, 1_100_000]]
    assert record["error"]["type"] == "ArchivedInPieces"  # type: ignore[index]
    assert not out.exists()


async def test_cli_json_of_a_joined_video(archive_scenario: Scenario, tmp_path: Path) -> None:
    case = archive_scenario.case("pieces")
    assert case.video is not None
    run = await sora("download", case.share_url, str(tmp_path / "v.mp4"), "--mode", "archive",
                     "--json")  # fmt: skip
    assert run.code == 0, run.err
    (record,) = run.json_lines()
    assert record["media_ranges_held"] == [[0, case.video.size - 1]]
    assert record["sha256"] == case.sha256


async def test_wayback_list_says_how_much_of_each_video_is_held(
    ia_archive: IAStandIn, archive_scenario: Scenario
) -> None:
    at = ("--wayback", ia_archive.prefix, "--wayback-cdx", ia_archive.cdx_url)
    run = await sora("wayback", "list", *at, "--json", "--check-media", "-q", "--no-cache")
    assert run.code == 0, run.err
    records = {str(r["share_id"]): r for r in run.json_lines()}

    def of(name: str) -> dict[str, object]:
        return records[archive_scenario.case(name).share_url.rsplit("/", 1)[-1]]

    assert of("pieces")["media"] == "pieces_complete"
    gap = of("pieces_gap")
    assert gap["media"] == "pieces_partial"
    assert gap["media_share_held"] == round(900_001 / 1_100_001, 4)
    assert of("whole_206")["media"] == "whole"
