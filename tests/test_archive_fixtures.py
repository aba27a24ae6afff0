"""The test archive itself: the scenario's WARC read back with warcio, a real pywb serving it,
and the IA stand-in answering IA's CDX and replay API over the same captures.

All traffic stays on loopback: pytest-socket guards this process, and pywb runs under the
``loopback_only`` guard (``sora_browser/testing/loopback_only/sitecustomize.py``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import sys
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl
from multidict import CIMultiDictProxy
from warcio.archiveiterator import ArchiveIterator

from sora_browser.testing.captures import (
    Capture,
    iter_body,
    media_capture,
    payload_digest,
    write_warc,
)
from sora_browser.testing.cdn import Fault
from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.ia_cdx import surt_key
from sora_browser.testing.media import video_bytes
from sora_browser.testing.pywb import PywbArchive, loopback_only_env
from sora_browser.testing.scenario import Scenario, ScenarioCase

pytestmark = pytest.mark.allow_hosts(["127.0.0.1", "::1"])

REQUIRED_CASES = {
    "newest_challenge", "psh_only", "sora1", "other_signature", "renditions",
    "media_missing", "whole_206", "pieces", "pieces_gap", "pieces_conflict",
    "pieces_total_mismatch", "removed", "revisit", "www_host",
}  # fmt: skip


def _bytes_of(capture: Capture) -> bytes:
    return b"".join(iter_body(capture.payload))


def _captures_of(scenario: Scenario, url: str | None) -> list[Capture]:
    return [c for c in scenario.captures if c.url == url]


def _media_captures(scenario: Scenario, case: ScenarioCase) -> list[Capture]:
    """Every capture of the case's media path, under any signature."""
    assert case.media_url is not None
    path = case.media_url.split("?")[0]
    return [c for c in scenario.captures if c.url.startswith(path + "?")]


async def _get(url: str, **kwargs: Any) -> tuple[int, CIMultiDictProxy[str], bytes]:
    """One GET of an exact URL (never re-encoded), without following redirects."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(yarl.URL(url, encoded=True), allow_redirects=False, **kwargs) as response,
    ):
        return response.status, response.headers, await response.read()


async def _query(url: str, params: list[tuple[str, str]]) -> tuple[int, bytes]:
    """A CDX query; aiohttp escapes the values, so ``%2F`` in a URL reaches the server as is."""
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as response:
        return response.status, await response.read()


# -- the WARC ---------------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[str, Any, bytes]]:
    with path.open("rb") as file:
        for record in ArchiveIterator(file):
            yield record.rec_type, record, record.content_stream().read()


def test_warc_reads_back(archive_scenario: Scenario, archive_warc: Path) -> None:
    records = list(_records(archive_warc))
    assert records[0][0] == "warcinfo"
    pairs = [records[i : i + 2] for i in range(1, len(records), 2)]
    assert len(pairs) == len(archive_scenario.captures)
    for capture, ((kind, record, body), (req_kind, request, _)) in zip(
        archive_scenario.captures, pairs, strict=True
    ):
        headers = record.rec_headers
        assert (kind, req_kind) == (capture.kind, "request")
        assert headers.get_header("WARC-Target-URI") == capture.url  # %2F kept as is
        assert request.rec_headers.get_header("WARC-Target-URI") == capture.url
        assert headers.get_header("WARC-Date") == capture.moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert headers.get_header("WARC-Payload-Digest") == payload_digest(capture.payload)
        assert record.http_headers.get_statuscode() == str(capture.status)
        assert body == (_bytes_of(capture) if kind == "response" else b"")


def test_warc_holds_206_pieces_and_revisits(archive_scenario: Scenario, archive_warc: Path) -> None:
    records = [(k, r) for k, r, _ in _records(archive_warc) if k in ("response", "revisit")]
    ranges = [r.http_headers.get_header("Content-Range") for k, r in records if k == "response"]
    whole = archive_scenario.case("whole_206").video
    assert whole is not None
    assert f"bytes 0-{whole.size - 1}/{whole.size}" in ranges
    revisit = next(r for k, r in records if k == "revisit")
    original = _captures_of(archive_scenario, archive_scenario.case("revisit").share_url)[0]
    headers = revisit.rec_headers
    assert headers.get_header("WARC-Refers-To-Target-URI") == original.url
    assert headers.get_header("WARC-Refers-To-Date").startswith("2025-10-20T14:00:00")
    assert headers.get_header("WARC-Payload-Digest") == payload_digest(original.body)


def _sha1(chunks: Iterable[bytes]) -> tuple[int, str]:
    digest, length = hashlib.sha1(), 0
    for data in chunks:
        digest.update(data)
        length += len(data)
    return length, "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def test_big_bodies_stream_through_the_writer(tmp_path: Path) -> None:
    size, block = 64 * 1024 * 1024, bytes(range(256)) * 256

    def body() -> Iterator[bytes]:
        return (block for _ in range(size // len(block)))

    url = "https://videos.openai.com/az/files/big%2Fraw?sig=x"
    capture = media_capture(url, "20251201000000", body)
    tracemalloc.start()
    try:
        write_warc(tmp_path / "big.warc", [capture], gzip=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"{peak} bytes held while writing a {size}-byte body"
    with (tmp_path / "big.warc").open("rb") as file:
        record = next(r for r in ArchiveIterator(file) if r.rec_type == "response")
        stream = record.content_stream()
        assert _sha1(iter(lambda: stream.read(1024 * 1024), b"")) == (size, payload_digest(body))


async def test_file_bodies_are_written_and_replayed_from_their_offsets(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1200
    (tmp_path / "clip.mp4").write_bytes(data)
    url = "https://videos.openai.com/az/files/file%2Fraw?se=1&sig=a%2Bb%3D"
    capture = media_capture(url, "20251201000000", tmp_path / "clip.mp4")
    write_warc(tmp_path / "file.warc.gz", [capture])
    bodies = [body for kind, _, body in _records(tmp_path / "file.warc.gz") if kind == "response"]
    assert bodies == [data]
    async with IAStandIn([capture]) as ia:
        status, headers, body = await _get(
            f"{ia.prefix}/20251201000000id_/{url}", headers={"Range": "bytes=1000-1999"}
        )
    assert (status, headers["Content-Range"]) == (206, f"bytes 1000-1999/{len(data)}")
    assert body == data[1000:2000]


# -- the scenario -----------------------------------------------------------------------------


def test_scenario_names_every_case_with_real_urls(archive_scenario: Scenario) -> None:
    assert set(archive_scenario.cases) >= REQUIRED_CASES
    keys = [(c.url, c.timestamp) for c in archive_scenario.captures]
    assert len(keys) == len(set(keys))
    for case in archive_scenario.cases.values():
        assert case.share_url.startswith(
            ("https://sora.chatgpt.com/p/s_", "https://sora.com/g/gen_")
        )
        assert all(_captures_of(archive_scenario, url) for url in case.page_urls)
        if case.media_url is not None:
            assert case.media_url.startswith("https://videos.openai.com/")
            assert "%2F" in case.media_url.split("?")[0]
        assert (case.sha256 is None) == (case.video is None)


def _page_naming(scenario: Scenario, case: ScenarioCase) -> str:
    """The text of the page capture whose flight JSON names the case's media URL."""
    assert case.media_url is not None
    escaped = case.media_url.replace("&", "\\u0026").replace("/", "\\/")
    pages = [_bytes_of(c).decode() for url in case.page_urls for c in _captures_of(scenario, url)]
    return next(page for page in pages if escaped in page)


def test_sora2_pages_look_like_real_share_pages(archive_scenario: Scenario) -> None:
    case = archive_scenario.case("newest_challenge")
    page = _page_naming(archive_scenario, case)
    assert case.media_url is not None
    assert '<meta property="og:title" content="user' in page
    assert ' on Sora">' in page
    assert f'<meta property="og:video" content="{case.media_url.replace("&", "&amp;")}">' in page
    assert 'self.__next_f.push([1,"4:[\\"$\\",\\"$L3\\",null,{\\"initialPost\\"' in page
    renditions = archive_scenario.case("renditions")
    flight = _page_naming(archive_scenario, renditions)
    assert flight.index('\\"md\\":{\\"path\\"') < flight.index('\\"source\\":{\\"path\\"')


def test_removed_post_is_tombstoned_in_its_newest_capture(archive_scenario: Scenario) -> None:
    case = archive_scenario.case("removed")
    newest = _captures_of(archive_scenario, case.share_url)[-1]
    page = _bytes_of(newest).decode()
    assert '\\"tombstoned_at\\":\\"2026-' in page
    assert '\\"attachments\\":[]' in page
    assert "og:video" not in page


def _span(capture: Capture) -> tuple[int, int, int]:
    found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", capture.header("Content-Range") or "")
    assert found is not None, capture.headers
    return int(found[1]), int(found[2]), int(found[3])


def _merged(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


@pytest.mark.parametrize(
    "name", ["pieces", "pieces_gap", "pieces_conflict", "pieces_total_mismatch"]
)
def test_piece_cases_hold_the_ranges_they_name(archive_scenario: Scenario, name: str) -> None:
    case = archive_scenario.case(name)
    pieces = _media_captures(archive_scenario, case)
    assert {c.status for c in pieces} == {206}
    assert _merged((a, b) for a, b, _ in map(_span, pieces)) == case.ranges_held


def test_pieces_assemble_or_disagree(archive_scenario: Scenario) -> None:
    case = archive_scenario.case("pieces")
    assert case.video is not None
    pieces = _media_captures(archive_scenario, case)
    assert len({c.url for c in pieces}) == 2
    assert len({c.timestamp[:8] for c in pieces}) == 2
    assembled = bytearray(case.video.size)
    for piece in pieces:
        data = _bytes_of(piece)
        assembled[_span(piece)[0] : _span(piece)[0] + len(data)] = data
    assert hashlib.sha256(assembled).hexdigest() == case.sha256
    first, second = _media_captures(archive_scenario, archive_scenario.case("pieces_conflict"))
    assert (_span(first)[0], _span(second)[0]) == (0, 400_000)
    assert _bytes_of(first)[400_000:600_000] != _bytes_of(second)[:200_000]
    mismatch = _media_captures(archive_scenario, archive_scenario.case("pieces_total_mismatch"))
    assert len({_span(c)[2] for c in mismatch}) == 2


# -- pywb -------------------------------------------------------------------------------------


def _json_lines(body: bytes) -> list[dict[str, str]]:
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


@pytest.mark.pywb
async def test_pywb_cdx_json_lines_and_cdxj(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("newest_challenge")
    query = [("url", case.share_url)]
    status, body = await _query(pywb_archive.cdx_url, [*query, ("output", "json")])
    rows = _json_lines(body)
    assert status == 200
    assert [(r["timestamp"], r["status"]) for r in rows] == [
        ("20251014093000", "200"), ("20251202181500", "200"), ("20260220070000", "403"),
    ]  # fmt: skip
    assert {r["url"] for r in rows} == {case.share_url}
    _, text = await _query(pywb_archive.cdx_url, query)
    key, timestamp, rest = text.decode().splitlines()[0].split(" ", 2)
    assert (key, timestamp) == (surt_key(case.share_url), "20251014093000")
    assert json.loads(rest)["status"] == "200"


@pytest.mark.pywb
async def test_pywb_prefix_lookup_finds_media_under_another_signature(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("other_signature")
    assert case.media_url is not None
    cdx = pywb_archive.cdx_url
    _, body = await _query(cdx, [("url", case.media_url), ("output", "json")])
    assert _json_lines(body) == []
    path = case.media_url.split("?")[0]
    _, body = await _query(cdx, [("url", path), ("matchType", "prefix"), ("output", "json")])
    (row,) = _json_lines(body)
    assert row["url"] != case.media_url
    assert row["url"].startswith(path + "?")
    status, _, _ = await _get(f"{pywb_archive.prefix}/20251203220006id_/{case.media_url}")
    assert status == 404  # no fuzzy match: the page's own signature was never captured


@pytest.mark.pywb
async def test_pywb_replays_exact_bytes(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("newest_challenge")
    page = _captures_of(archive_scenario, case.share_url)[1]
    status, headers, body = await _get(f"{pywb_archive.prefix}/{page.timestamp}id_/{page.url}")
    assert (status, body) == (200, _bytes_of(page))
    assert headers["Memento-Datetime"] == "Tue, 02 Dec 2025 18:15:00 GMT"
    (media,) = _captures_of(archive_scenario, case.media_url)
    status, headers, body = await _get(f"{pywb_archive.prefix}/{media.timestamp}id_/{media.url}")
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == case.sha256
    assert headers["X-Archive-Orig-ETag"] == media.header("ETag")


@pytest.mark.pywb
@pytest.mark.parametrize("asked", [None, "bytes=0-", "bytes=100-199"])
async def test_pywb_replays_206_records_as_recorded(
    pywb_archive: PywbArchive, archive_scenario: Scenario, asked: str | None
) -> None:
    case = archive_scenario.case("pieces_gap")
    piece = _captures_of(archive_scenario, case.media_url)[1]
    headers = {} if asked is None else {"Range": asked}
    url = f"{pywb_archive.prefix}/{piece.timestamp}id_/{piece.url}"
    status, answer, body = await _get(url, headers=headers)
    assert (status, answer["Content-Range"]) == (206, piece.header("Content-Range"))
    assert body == _bytes_of(piece)


@pytest.mark.pywb
async def test_pywb_serves_ranges_of_200_records_and_revisits(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("revisit")
    assert case.video is not None
    (media,) = _captures_of(archive_scenario, case.media_url)
    url = f"{pywb_archive.prefix}/{media.timestamp}id_/{media.url}"
    status, headers, body = await _get(url, headers={"Range": "bytes=100-199"})
    assert (status, headers["Content-Range"]) == (206, f"bytes 100-199/{case.video.size}")
    assert body == video_bytes(case.video, 100, 200)
    original, revisit = _captures_of(archive_scenario, case.share_url)
    status, _, body = await _get(f"{pywb_archive.prefix}/{revisit.timestamp}id_/{revisit.url}")
    assert (status, body) == (200, _bytes_of(original))


@pytest.mark.pywb
async def test_pywb_quirks_a_client_must_live_with(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("revisit")
    assert case.video is not None
    cdx, share = pywb_archive.cdx_url, case.share_url
    _, body = await _query(cdx, [("url", share), ("output", "json")])
    assert "status" not in _json_lines(body)[-1]  # a revisit row has no status at all
    _, body = await _query(cdx, [("url", share), ("output", "json"), ("limit", "-1")])
    assert body.strip() == b""  # no negative limit: ask with sort=reverse&limit=1 instead
    resumable = [("url", share), ("output", "json"), ("limit", "1"), ("showResumeKey", "true")]
    assert len(_json_lines((await _query(cdx, resumable))[1])) == 1  # and no resume key
    status, headers, _ = await _get(f"{pywb_archive.prefix}/20251201id_/{share}")
    assert status == 200  # not redirected: Content-Location names the capture served
    assert headers["Content-Location"].endswith(f"/20251208140000id_/{share}")
    (media,) = _captures_of(archive_scenario, case.media_url)
    url = f"{pywb_archive.prefix}/{media.timestamp}id_/{media.url}"
    status, headers, _ = await _get(url, headers={"Range": "bytes=-100"})
    assert (status, headers["Content-Length"]) == (200, str(case.video.size))
    status, headers, _ = await _get(url, headers={"Range": f"bytes={case.video.size}-"})
    assert status == 416
    assert "Content-Range" not in headers


@pytest.mark.pywb
async def test_pywb_finds_www_pages_and_never_left_loopback(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("www_host")
    _, body = await _query(pywb_archive.cdx_url, [("url", case.share_url), ("output", "json")])
    assert [r["url"] for r in _json_lines(body)] == list(case.page_urls)
    assert pywb_archive.refused() == []
    assert "loopback_only" not in pywb_archive.log()


async def test_loopback_guard_refuses_everything_else() -> None:
    # A second audit hook, added after the guard's, fails loudly instead of letting anything
    # the guard missed through, so this test cannot send traffic even if the guard is broken.
    child = (
        "import socket, sys\n"
        "from gevent import monkey; monkey.patch_all()\n"
        "def backstop(event, args):\n"
        "    if event in ('socket.connect', 'socket.getaddrinfo'):\n"
        "        raise SystemExit('guard missed ' + event)\n"
        "sys.addaudithook(backstop)\n"
        "for target in [('192.0.2.1', 80), ('example.com', 443), ('2001:db8::1', 80)]:\n"
        "    try:\n"
        "        socket.create_connection(target, timeout=1)\n"
        "    except OSError as exc:\n"
        "        print('refused' if 'loopback_only' in str(exc) else exc)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", child, env=loopback_only_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert out.decode().split() == ["refused"] * 3, err.decode()
    assert err.decode().count("loopback_only: refused") >= 3


# -- the IA stand-in --------------------------------------------------------------------------


async def _ia_rows(ia: IAStandIn, params: list[tuple[str, str]]) -> list[list[str]]:
    status, body = await _query(ia.cdx_url, [*params, ("output", "json")])
    assert status == 200, body
    rows: list[list[str]] = json.loads(body)
    return rows


async def test_ia_cdx_pages_with_resume_keys(ia_archive: IAStandIn) -> None:
    query = [("url", "sora.chatgpt.com/p/"), ("matchType", "prefix"), ("fl", "original,timestamp")]
    everything = (await _ia_rows(ia_archive, query))[1:]
    ia_archive.max_rows = 4
    pages: list[list[list[str]]] = []
    key: str | None = None
    while True:
        resume = [] if key is None else [("resumeKey", key)]
        rows = await _ia_rows(ia_archive, [*query, ("showResumeKey", "true"), *resume])
        assert rows[0] == ["original", "timestamp"]
        if len(rows) > 2 and rows[-2] == []:
            pages.append(rows[1:-2])
            key = rows[-1][0]
        else:
            pages.append(rows[1:])
            break
    assert len(everything) > 8
    assert all(len(page) <= 4 for page in pages)
    assert [row for page in pages for row in page] == everything
    assert ia_archive.cdx_count == 1 + len(pages)


async def test_ia_cdx_filters_limits_and_text(
    ia_archive: IAStandIn, archive_scenario: Scenario
) -> None:
    media = [("url", "videos.openai.com"), ("matchType", "host"), ("fl", "timestamp,statuscode")]
    rows = await _ia_rows(ia_archive, [*media, ("filter", "statuscode:206")])
    assert len(rows) > 1
    assert {r[1] for r in rows[1:]} == {"206"}
    page = archive_scenario.case("newest_challenge").share_url
    fl = ("fl", "timestamp,statuscode")
    rows = await _ia_rows(ia_archive, [("url", page), fl, ("filter", "!statuscode:403")])
    assert rows[1:] == [["20251014093000", "200"], ["20251202181500", "200"]]
    assert (await _ia_rows(ia_archive, [("url", page), fl, ("limit", "-1")]))[1:] == [
        ["20260220070000", "403"]
    ]
    rows = await _ia_rows(ia_archive, [("url", page), fl, ("from", "2025"), ("to", "202511")])
    assert rows[1:] == [["20251014093000", "200"]]
    rows = await _ia_rows(ia_archive, [("url", "sora.chatgpt.com/p/*"), ("collapse", "urlkey")])
    assert len({r[0] for r in rows[1:]}) == len(rows) - 1
    _, text = await _query(ia_archive.cdx_url, [("url", page), ("fl", "statuscode,original")])
    assert text.decode().splitlines()[-1] == f"403 {page}"
    assert await _ia_rows(ia_archive, [("url", "sora.chatgpt.com/p/s_none")]) == []


async def test_ia_cdx_prefix_finds_media_under_any_signature(
    ia_archive: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("pieces")
    assert case.media_url is not None
    path = case.media_url.split("?")[0].removeprefix("https://")
    rows = await _ia_rows(ia_archive, [("url", path), ("matchType", "prefix"), ("fl", "original")])
    assert len(rows) - 1 == 3
    assert len({r[0] for r in rows[1:]}) == 2
    assert await _ia_rows(ia_archive, [("url", path)]) == []


@pytest.mark.pywb
def test_ia_url_keys_match_pywbs(pywb_archive: PywbArchive, archive_warc: Path) -> None:
    index = next((pywb_archive.folder / "collections" / "sora" / "indexes").glob("*.cdxj"))
    for line in index.read_text().splitlines():
        key, _, rest = line.split(" ", 2)
        assert surt_key(json.loads(rest)["url"]) == key


async def _patient_cdx_client(url: str, params: list[tuple[str, str]]) -> int:
    """A client that honours Retry-After, as the archive resolver must."""
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(url, params=params) as response:
                if response.status != 429:
                    return response.status
            await asyncio.sleep(float(response.headers["Retry-After"]))


async def test_ia_429_script_and_request_times(ia_archive: IAStandIn) -> None:
    ia_archive.script("cdx", [Fault.status(429, retry_after=0.2)] * 2)
    params = [("url", "sora.chatgpt.com/p/*"), ("output", "json"), ("limit", "1")]
    client = asyncio.create_task(_patient_cdx_client(ia_archive.cdx_url, params))
    await ia_archive.wait_for_requests("cdx", 1)
    assert [r.status for r in ia_archive.requests_to("cdx")] == [429]
    assert await client == 200
    first, second, third = ia_archive.requests_to("cdx")
    assert [r.status for r in (first, second, third)] == [429, 429, 200]
    assert second.at - first.at >= 0.2
    assert third.at - second.at >= 0.2
    assert ia_archive.cdx_count == 3
    assert ia_archive.requests_to("replay") == []


async def test_ia_replay_redirects_to_the_nearest_capture(
    ia_archive: IAStandIn, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("newest_challenge")
    status, headers, _ = await _get(f"{ia_archive.prefix}/20251130id_/{case.share_url}")
    assert status == 302
    assert headers["Location"] == f"{ia_archive.prefix}/20251202181500id_/{case.share_url}"
    page = _captures_of(archive_scenario, case.share_url)[1]
    status, headers, body = await _get(headers["Location"])
    assert (status, body) == (200, _bytes_of(page))
    assert headers["X-Archive-Orig-Server"] == "cloudflare"
    assert headers["Memento-Datetime"] == "Tue, 02 Dec 2025 18:15:00 GMT"
    assert f'<{case.share_url}>; rel="original"' in headers["Link"]
    status, headers, _ = await _get(f"{ia_archive.prefix}/20260220070000id_/{case.share_url}")
    assert (status, headers["X-Archive-Orig-cf-mitigated"]) == (403, "challenge")
    status, _, body = await _get(f"{ia_archive.prefix}/20251202181500/{case.share_url}")
    assert status == 200
    assert body != _bytes_of(page)
    assert b"WAYBACK TOOLBAR" in body


async def test_ia_replay_of_media_and_ranges(
    ia_archive: IAStandIn, archive_scenario: Scenario
) -> None:
    whole = archive_scenario.case("other_signature")
    assert whole.video is not None
    (media,) = _media_captures(archive_scenario, whole)
    url = f"{ia_archive.prefix}/{media.timestamp}id_/{media.url}"
    status, _, body = await _get(url)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == whole.sha256
    status, headers, body = await _get(url, headers={"Range": "bytes=1000-"})
    assert (status, headers["Content-Range"]) == (
        206,
        f"bytes 1000-{whole.video.size - 1}/{whole.video.size}",
    )
    assert body == video_bytes(whole.video, 1000)
    status, headers, _ = await _get(url, headers={"Range": f"bytes={whole.video.size}-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{whole.video.size}")
    status, _, _ = await _get(f"{ia_archive.prefix}/{media.timestamp}id_/{whole.media_url}")
    assert status == 404  # the page's own signature was never captured
    piece = _captures_of(archive_scenario, archive_scenario.case("pieces_gap").media_url)[1]
    url = f"{ia_archive.prefix}/{piece.timestamp}id_/{piece.url}"
    status, headers, body = await _get(url, headers={"Range": "bytes=0-99"})
    assert (status, headers["Content-Range"], body) == (
        206,
        piece.header("Content-Range"),
        _bytes_of(piece),
    )


async def test_ia_replay_faults(ia_archive: IAStandIn, archive_scenario: Scenario) -> None:
    case = archive_scenario.case("whole_206")
    (media,) = _captures_of(archive_scenario, case.media_url)
    url = f"{ia_archive.prefix}/{media.timestamp}id_/{media.url}"
    ia_archive.script("replay", [Fault.status(503, retry_after=1), Fault.truncate(fraction=0.5)])
    status, headers, _ = await _get(url)
    assert (status, headers["Retry-After"]) == (503, "1")
    with pytest.raises(aiohttp.ClientPayloadError):
        await _get(url)
    assert [r.status for r in ia_archive.requests_to("replay")] == [503, 206]
    with pytest.raises(ValueError, match="cdx cannot play"):
        ia_archive.script("cdx", [Fault.truncate(fraction=0.5)])
