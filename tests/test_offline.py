"""Offline sources: WARC files (written here with warcio from the test scenario), HAR files
with media bodies (recorded here by a real Chromium playing the video), and saved pages.
Nothing in these tests needs a network but loopback, and the WARC ones none at all.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_cli import assert_one_clean_line, sora

from sora_browser.archive.warc import WarcArchive, index_warc
from sora_browser.errors import BadInput, NotArchived
from sora_browser.options import ResolveOptions
from sora_browser.service import SoraClient, SoraExtractionService
from sora_browser.testing.big_archive import pieces_case
from sora_browser.testing.captures import Capture, page_capture, write_warc
from sora_browser.testing.media import VIDEOS, FakeVideo, sha256_of, video_bytes
from sora_browser.testing.pages import share_url
from sora_browser.testing.record_har import record_playing
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite

WHOLE = (
    *("newest_challenge", "sora1", "other_signature", "renditions", "whole_206", "pieces"),
    *("removed", "revisit", "www_host"),
)


@pytest.fixture(scope="module", params=["gz", "plain"])
def grab(
    request: pytest.FixtureRequest,
    archive_scenario: Scenario,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The scenario as one WARC, gzip (a member per record) or plain."""
    folder = tmp_path_factory.mktemp(f"grab-{request.param}")
    name = "grab.warc.gz" if request.param == "gz" else "grab.warc"
    return write_warc(folder / name, archive_scenario.captures, gzip=request.param == "gz")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", WHOLE)
async def test_videos_come_out_of_the_warc(
    grab: Path, archive_scenario: Scenario, case: str, tmp_path: Path
) -> None:
    expected = archive_scenario.case(case)
    service = SoraExtractionService(resolve_options=ResolveOptions(warc_paths=(grab,)))
    async with service:
        done = await service.extract(expected.share_url, tmp_path / "v.mp4")
    assert sha256(done.download.path) == expected.sha256
    assert done.resolved.resolver == "warc"
    assert done.resolved.mp4_url.startswith("warc:")


async def test_the_index_is_kept_beside_the_warc_and_reused(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    warc = write_warc(tmp_path / "g.warc.gz", archive_scenario.captures)
    first = WarcArchive([warc])
    await first.records()
    index = tmp_path / "g.warc.gz.cdxj"
    made = index.stat().st_mtime_ns
    again = WarcArchive([warc])
    assert len(await again.records()) == len(await first.records())
    assert index.stat().st_mtime_ns == made  # read back, not rebuilt
    warc.touch()  # the WARC changed (as far as size and mtime can tell): index anew
    await WarcArchive([warc]).records()
    assert index.stat().st_mtime_ns != made


async def test_an_index_planted_as_a_symlink_is_not_followed(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    # Beside a WARC in a shared folder, someone may plant ``X.warc.gz.cdxj`` as a link to a
    # file of theirs (or of the user's): it is not read, and is replaced by a real index.
    warc = write_warc(tmp_path / "g.warc.gz", archive_scenario.captures)
    index = tmp_path / "g.warc.gz.cdxj"
    await WarcArchive([warc]).records()
    elsewhere = tmp_path / "elsewhere.cdxj"
    index.rename(elsewhere)
    index.symlink_to(elsewhere)
    records = await WarcArchive([warc]).records()
    assert records
    assert not index.is_symlink()
    assert index.read_text() == elsewhere.read_text()


async def test_a_warc_without_the_link_names_the_forms_looked_for(grab: Path) -> None:
    link = "https://sora.chatgpt.com/p/s_" + "d" * 32
    async with SoraClient(ResolveOptions(warc_paths=(grab,))) as client:
        with pytest.raises(NotArchived) as caught:
            await client.resolve(link)
    message = str(caught.value)
    assert "looked for sora.chatgpt.com/p/s_dddd" in message
    assert "with or without www." in message
    assert caught.value.exit_code == 3


def test_a_truncated_warc_is_bad_input_with_the_offset(grab: Path, tmp_path: Path) -> None:
    cut = cut_short(grab, tmp_path)
    with pytest.raises(BadInput, match=r"cut off: the record at byte \d+"):
        index_warc(cut)


def test_a_file_that_is_not_a_warc_is_bad_input(tmp_path: Path) -> None:
    junk = tmp_path / "notes.warc"
    junk.write_text("these are not the records you are looking for\n")
    with pytest.raises(BadInput, match=r"not a readable WARC file \(at byte 0"):
        index_warc(junk)


def _chunked(body: bytes, size: int = 100_000) -> bytes:
    parts = [f"{len(body[i:i + size]):x}\r\n".encode() + body[i : i + size] + b"\r\n"
             for i in range(0, len(body), size)]  # fmt: skip
    return b"".join(parts) + b"0\r\n\r\n"


async def test_chunked_and_gzip_bodies_as_captured_are_decoded(tmp_path: Path) -> None:
    # Crawlers keep the body as the server sent it: a gzip-encoded, chunked page and media.
    video = FakeVideo("archive_chunked", 3 * 1024 * 1024 + 11)  # several read buffers
    media_url = "https://videos.openai.com/az/files/0c4d7e44-5c3f-4f8e-9a8c-6d2b7f0a1c22%2Fraw"
    page_url = "https://sora.chatgpt.com/p/s_" + "c" * 32
    html = f'<html><head><meta property="og:video" content="{media_url}?se=1&amp;sig=x"></head>'
    page = page_capture(page_url, "20251101120000", html)
    headers = (
        ("Content-Type", "video/mp4"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Encoding", "gzip"),
    )
    encoded = _chunked(gzip.compress(video_bytes(video)))
    media = Capture(url=media_url + "?se=1&sig=x", timestamp="20251101120001", status=200,
                    headers=headers, body=encoded)  # fmt: skip
    warc = write_warc(tmp_path / "chunked.warc.gz", [page, media])
    service = SoraExtractionService(resolve_options=ResolveOptions(warc_paths=(warc,)))
    async with service:
        done = await service.extract(page_url, tmp_path / "v.mp4")
    assert sha256(done.download.path) == sha256_of(video)


async def test_extracting_a_big_record_keeps_memory_flat(tmp_path: Path) -> None:
    big = pieces_case("archive_big_warc", 48 * 1024 * 1024 + 5, 1, overlap=0)
    warc = write_warc(tmp_path / "big.warc.gz", big.captures)
    options = ResolveOptions(warc_paths=(warc,))
    tracemalloc.start()
    try:
        async with SoraExtractionService(resolve_options=options) as service:
            done = await service.extract(big.share_url, tmp_path / "big.mp4")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sha256(done.download.path) == big.sha256
    assert peak < 16 * 1024 * 1024


# -- the command line ----------------------------------------------------------------------


async def test_cli_download_and_warc_list(
    grab: Path, archive_scenario: Scenario, tmp_path: Path
) -> None:
    listed = await sora("warc", "list", str(grab.parent))
    assert listed.code == 0, listed.err
    links = listed.out.splitlines()
    assert len(links) == len(set(links))
    case = archive_scenario.case("renditions")
    assert case.share_url in links
    out = tmp_path / "v.mp4"
    run = await sora("download", case.share_url, str(out), "--warc", str(grab), "--json")
    assert run.code == 0, run.err
    assert sha256(out) == case.sha256
    (record,) = run.json_lines()
    assert record["resolver"] == "warc"
    assert record["variant"] == "source"


async def test_cli_warc_list_json_says_if_the_video_is_there(
    grab: Path, archive_scenario: Scenario
) -> None:
    run = await sora("warc", "list", str(grab), "--json", "-q")
    assert run.code == 0, run.err
    records = {str(r["share_id"]): r for r in run.json_lines()}

    def media(name: str) -> object:
        return records[archive_scenario.case(name).share_url.rsplit("/", 1)[-1]]["media"]

    assert media("whole_206") == "whole"
    assert media("pieces") == "pieces_complete"
    assert media("pieces_gap") == "pieces_partial"
    assert media("media_missing") == "none"


def cut_short(grab: Path, folder: Path) -> Path:
    """The WARC, ended in the middle of a record."""
    cut = folder / ("cut" + "".join(grab.suffixes))
    cut.write_bytes(grab.read_bytes()[:300_000])
    return cut


async def test_cli_a_truncated_warc_is_exit_2(grab: Path, tmp_path: Path) -> None:
    cut = cut_short(grab, tmp_path)
    run = await sora("download", "https://sora.chatgpt.com/p/s_" + "1" * 32, str(tmp_path / "v"),
                     "--warc", str(cut))  # fmt: skip
    assert run.code == 2
    assert str(cut) in run.err
    assert "at byte" in run.err
    assert_one_clean_line(run)


# -- HAR files with the video in them ------------------------------------------------------


@pytest.fixture(scope="module")
async def small_site() -> AsyncIterator[FixtureSite]:
    # Small videos, so a browser fetches each whole, as players do for short clips.
    videos = {n: dataclasses.replace(v, size=min(v.size, 200_000)) for n, v in VIDEOS.items()}
    async with FixtureSite(videos=videos) as site:
        yield site


@pytest.mark.browser
async def test_a_har_with_the_video_in_it_needs_no_network(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    url = share_url(small_site, "video_src_amp")
    har = tmp_path / "playing.har"
    await record_playing(url, har)
    small_site.stats.reset()
    out = tmp_path / "v.mp4"
    run = await sora("download", url, str(out), "--har", str(har), "--allow-host", "127.0.0.1",
                     "--json")  # fmt: skip
    assert run.code == 0, run.err
    (record,) = run.json_lines()
    assert str(record["mp4_url"]).startswith("har:")
    assert small_site.stats.requests == []  # page and video both came from the HAR
    video = small_site.videos["source_wm"]
    assert sha256(out) == hashlib.sha256(video_bytes(video)).hexdigest()


@pytest.mark.browser
async def test_a_har_holding_part_of_the_video_says_what_is_missing(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    url = share_url(small_site, "video_src_amp")
    har = tmp_path / "half.har"
    await record_playing(url, har)
    data = json.loads(har.read_text())
    media = next(e for e in data["log"]["entries"] if e["response"]["status"] == 206)
    body = media["response"]["content"]
    import base64

    half = base64.b64decode(body["text"])[:100_000]
    body["text"] = base64.b64encode(half).decode()
    for item in media["response"]["headers"]:
        if item["name"].lower() == "content-range":
            item["value"] = "bytes 0-99999/200000"
    har.write_text(json.dumps(data))
    run = await sora("download", url, str(tmp_path / "v.mp4"), "--har", str(har),
                     "--allow-host", "127.0.0.1", "--mode", "archive", "--no-cache")  # fmt: skip
    assert run.code == 3
    assert "bytes 100000-199999 of 200000" in run.err


# -- a saved page ----------------------------------------------------------------------------


async def test_a_saved_page_with_its_video_in_a_warc(
    grab: Path, archive_scenario: Scenario, tmp_path: Path
) -> None:
    case = archive_scenario.case("renditions")
    async with SoraClient(ResolveOptions(warc_paths=(grab,))) as client:
        resolved = await client.resolve(case.share_url)
    source = WarcArchive([grab])
    pages = await source.search(case.share_url, match_type="prefix")
    saved = tmp_path / "post.html"
    text = await source.page_text(pages[-1], 10_000_000)
    assert text is not None
    saved.write_text(text)
    out = tmp_path / "v.mp4"
    run = await sora("download", str(out), "--page", str(saved), "--warc", str(grab), "--json")
    assert run.code == 0, run.err
    (record,) = run.json_lines()
    assert record["share_id"] == resolved.share_id  # the page said which post it is
    assert sha256(out) == case.sha256


async def test_a_saved_live_page_downloads_from_the_cdn(site: FixtureSite, tmp_path: Path) -> None:
    url = share_url(site, "og_video")
    async with SoraClient(ResolveOptions(allow_hosts=frozenset({site.host}), wayback=None)) as c:
        await c.resolve(url)
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        saved = tmp_path / "post.html"
        saved.write_text(await answer.text())
    out = tmp_path / "v.mp4"
    run = await sora("download", url, str(out), "--page", str(saved), "--allow-host",
                     "127.0.0.1", "--mode", "static")  # fmt: skip
    assert run.code == 0, run.err
    assert sha256(out) == sha256_of(site.videos["source"])


async def test_an_index_that_cannot_sit_beside_the_warc_goes_to_the_cache(
    archive_scenario: Scenario, tmp_path: Path
) -> None:
    # The WARC's folder cannot take the index (here its name is taken by a folder; a
    # read-only mount does the same): it is kept in the cache folder instead, and reused.
    warc = write_warc(tmp_path / "g.warc.gz", archive_scenario.captures)
    (tmp_path / "g.warc.gz.cdxj").mkdir()
    cache = tmp_path / "cache"
    await WarcArchive([warc], cache_dir=cache).records()
    (kept,) = (cache / "warc-index").iterdir()
    made = kept.stat().st_mtime_ns
    assert len(await WarcArchive([warc], cache_dir=cache).records()) > 0
    assert kept.stat().st_mtime_ns == made
