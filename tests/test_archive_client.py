"""``WaybackClient`` against a scripted aiohttp archive on 127.0.0.1 (port 0): paging, both
answer formats, 429 handling, unreachable archives, the cache. Nothing leaves loopback.

The scripted answers follow DESIGN.md ("Archives"): IA's CDX server answers an array of arrays
and closes a page with an empty row and ``[resumeKey]``; pywb's ``/COLL/cdx`` answers one JSON
object per line and ignores ``showResumeKey``.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from multidict import MultiDict

from sora_browser.archive import client as client_module
from sora_browser.archive.client import WaybackClient
from sora_browser.archive.options import ARCHIVE_USER_AGENT, IA_CDX_URL, WaybackOptions
from sora_browser.errors import (
    ArchiveAnswerError,
    ArchiveRateLimited,
    ArchiveUnreachable,
    BadInput,
    HTTPStatusError,
    NetworkError,
    NotArchived,
    NoVideoFound,
    PolicyRefused,
)
from sora_browser.testing.serving import serve

FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
UUID = "00000000-1111-2222-3333-444444444444"
MEDIA = f"https://videos.openai.com/az/files/{UUID}%2Fraw"


def media_rows(count: int) -> list[list[str]]:
    return [
        [
            f"com,openai,videos)/az/files/{UUID}/raw?sig={i}",
            f"202511040930{i:02d}",
            f"{MEDIA}?se=2025-11-10&sig={i}",
            "video/mp4",
            "206",
            f"DIGEST{i}",
            "5242880",
        ]
        for i in range(count)
    ]


@dataclass(frozen=True)
class Seen:
    at: float
    path: str
    query: MultiDict[str]
    user_agent: str


Responder = Callable[[web.Request, int], web.StreamResponse]


class FakeArchive:
    """Records every request (arrival time, path, query) and answers with ``respond``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.respond: Responder = lambda request, n: web.Response(text="[]")
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        seen = Seen(
            time.monotonic(),
            request.path,
            MultiDict(request.query),
            request.headers.get("User-Agent", ""),
        )
        self.requests.append(seen)
        return self.respond(request, len(self.requests) - 1)

    def ia_options(self, **changes: object) -> WaybackOptions:
        options = WaybackOptions(
            prefix=f"{self.base}/web",
            cdx_url=f"{self.base}/cdx/search/cdx",
            page_size=2,
            cdx_per_minute=6000,
            retries=2,
            backoff_initial=0.01,
            backoff_max=0.05,
        )
        return replace(options, **changes)  # type: ignore[arg-type]

    def pywb_options(self, **changes: object) -> WaybackOptions:
        options = WaybackOptions(prefix=f"{self.base}/coll", cdx_per_minute=6000, retries=0)
        return replace(options, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def archive() -> AsyncIterator[FakeArchive]:
    fake = FakeArchive()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", fake.handle)
    runner, port = await serve(app, "127.0.0.1", 0)
    fake.base = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


def ia_pager(rows: list[list[str]]) -> Responder:
    """IA's CDX server: ``limit`` rows from where ``resumeKey`` says, then ``[], [key]``."""

    def respond(request: web.Request, n: int) -> web.StreamResponse:
        start = int(request.query.get("resumeKey", "key-0").removeprefix("key-"))
        limit = int(request.query.get("limit", "100000"))
        page: list[list[str]] = [FIELDS, *rows[start : start + limit]]
        if start + limit < len(rows) and request.query.get("showResumeKey") == "true":
            page += [[], [f"key-{start + limit}"]]
        return web.Response(text=json.dumps(page), content_type="application/json")

    return respond


async def test_ia_paging_with_resume_keys_across_three_pages(archive: FakeArchive) -> None:
    archive.respond = ia_pager(media_rows(5))
    async with WaybackClient(archive.ia_options()) as client:
        records = await client.search(MEDIA, match_type="prefix", filters=["statuscode:206"])
    assert [r.timestamp for r in records] == [f"202511040930{i:02d}" for i in range(5)]
    assert records[0].original == f"{MEDIA}?se=2025-11-10&sig=0"
    assert len(archive.requests) == 3
    assert [s.query.get("resumeKey") for s in archive.requests] == [None, "key-2", "key-4"]
    first = archive.requests[0]
    assert first.path == "/cdx/search/cdx"
    assert first.query["url"] == MEDIA  # arrived exactly as given: %2F not decoded
    assert first.query["matchType"] == "prefix"
    assert first.query.getall("filter") == ["statuscode:206"]
    assert (first.query["output"], first.query["showResumeKey"]) == ("json", "true")
    assert all(s.query["limit"] == "2" for s in archive.requests)
    assert first.user_agent == ARCHIVE_USER_AGENT


async def test_iter_search_fetches_a_page_at_a_time(archive: FakeArchive) -> None:
    archive.respond = ia_pager(media_rows(5))
    async with WaybackClient(archive.ia_options()) as client:
        records = client.iter_search(MEDIA, match_type="prefix")
        first_two = [await anext(records), await anext(records)]
        assert len(archive.requests) == 1  # the second page is not asked for yet
        rest = [record async for record in records]
    assert len(first_two) == 2
    assert len(rest) == 3
    assert len(archive.requests) == 3


async def test_a_limit_spans_pages_and_stops_asking(archive: FakeArchive) -> None:
    archive.respond = ia_pager(media_rows(5))
    async with WaybackClient(archive.ia_options()) as client:
        records = await client.search(MEDIA, match_type="prefix", limit=3)
    assert len(records) == 3
    assert [s.query["limit"] for s in archive.requests] == ["2", "1"]


async def test_last_n_is_one_request_without_paging(archive: FakeArchive) -> None:
    archive.respond = ia_pager(media_rows(5))
    async with WaybackClient(archive.ia_options()) as client:
        await client.search(MEDIA, match_type="prefix", limit=-2)
    (seen,) = archive.requests
    assert seen.query["limit"] == "-2"
    assert "showResumeKey" not in seen.query


async def test_pywb_json_lines(archive: FakeArchive) -> None:
    lines = [
        {"urlkey": r[0], "timestamp": r[1], "url": r[2], "mime": r[3], "status": r[4],
         "digest": r[5], "length": "379", "offset": str(366 * i), "filename": "t.warc.gz",
         "source": "coll/indexes/index.cdxj", "source-coll": "coll", "access": "allow"}
        for i, r in enumerate(media_rows(3))
    ]  # fmt: skip
    body = "".join(json.dumps(line) + "\n" for line in lines)
    archive.respond = lambda request, n: web.Response(text=body, content_type="text/x-ndjson")
    async with WaybackClient(archive.pywb_options()) as client:
        assert client.cdx_url == f"{archive.base}/coll/cdx"
        records = await client.search(MEDIA, match_type="prefix")
    assert [r.offset for r in records] == ["0", "366", "732"]
    assert all(r.is_video and r.status == 206 for r in records)
    (seen,) = archive.requests  # no resume key came, so nothing more was asked
    assert seen.path == "/coll/cdx"
    assert "limit" not in seen.query  # pywb ignores showResumeKey: a page limit would cut it


async def test_a_429_is_honoured_then_the_same_request_is_sent_again(
    archive: FakeArchive,
) -> None:
    def respond(request: web.Request, n: int) -> web.StreamResponse:
        if n == 0:
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        return ia_pager(media_rows(1))(request, n)

    archive.respond = respond
    waits: list[tuple[float, str]] = []
    options = archive.ia_options()
    async with WaybackClient(options, on_wait=lambda s, why: waits.append((s, why))) as client:
        records = await client.search(MEDIA)
    assert len(records) == 1
    first, second = archive.requests
    assert second.at - first.at >= 1.0  # Retry-After: 1, never cut short
    assert second.query == first.query
    assert [why for _, why in waits] == ["HTTP 429"]
    assert waits[0][0] == pytest.approx(1.0, abs=0.2)
    assert client.waited >= 0.9


async def test_a_pause_longer_than_allowed_fails_at_once(archive: FakeArchive) -> None:
    archive.respond = lambda request, n: web.Response(status=429, headers={"Retry-After": "3600"})
    async with WaybackClient(archive.ia_options(max_rate_limit_wait=60.0)) as client:
        with pytest.raises(ArchiveRateLimited) as caught:
            await client.search(MEDIA)
        assert client.limiter.blocked_for() > 3500  # and the endpoint stays paused
    assert len(archive.requests) == 1
    assert caught.value.retry_after == 3600.0
    assert "pause of 3600 s" in str(caught.value)
    assert archive.base.removeprefix("http://") in str(caught.value)


async def test_429s_until_retries_run_out(archive: FakeArchive) -> None:
    archive.respond = lambda request, n: web.Response(status=429, headers={"Retry-After": "0"})
    async with WaybackClient(archive.ia_options(retries=1)) as client:
        with pytest.raises(ArchiveRateLimited, match="kept answering 429"):
            await client.search(MEDIA)
    assert len(archive.requests) == 2


async def test_an_unreachable_archive_is_exit_4_naming_the_host() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = WaybackOptions(
        prefix=f"http://127.0.0.1:{port}/coll", retries=1, backoff_initial=0.01, backoff_max=0.02
    )
    async with WaybackClient(options) as client:
        with pytest.raises(ArchiveUnreachable) as caught:
            await client.search("https://sora.chatgpt.com/p/s_1")
    error = caught.value
    assert error.exit_code == 4
    assert isinstance(error, NetworkError)
    assert error.retryable  # the link is fine; the archive may be back later
    assert error.archive == f"127.0.0.1:{port}"
    assert f"127.0.0.1:{port}" in str(error)
    assert "2 tries" in str(error)


async def test_5xx_is_retried_then_unreachable(archive: FakeArchive) -> None:
    archive.respond = lambda request, n: web.Response(status=503, text="down for maintenance")
    async with WaybackClient(archive.ia_options(retries=2)) as client:
        with pytest.raises(ArchiveUnreachable, match="HTTP 503"):
            await client.search(MEDIA)
    assert len(archive.requests) == 3


async def test_a_5xx_then_an_answer_succeeds(archive: FakeArchive) -> None:
    pager = ia_pager(media_rows(1))
    archive.respond = lambda request, n: web.Response(status=502) if n == 0 else pager(request, n)
    async with WaybackClient(archive.ia_options()) as client:
        assert len(await client.search(MEDIA)) == 1
    assert len(archive.requests) == 2


async def test_an_html_page_is_an_answer_error_not_retried(archive: FakeArchive) -> None:
    page = "<html><head><title>Wayback Machine is temporarily offline</title></head></html>"
    archive.respond = lambda request, n: web.Response(text=page, content_type="text/html")
    async with WaybackClient(archive.ia_options()) as client:
        with pytest.raises(ArchiveAnswerError, match="temporarily offline") as caught:
            await client.search(MEDIA)
    assert len(archive.requests) == 1
    assert caught.value.url is not None
    assert caught.value.url.startswith(f"{archive.base}/cdx/search/cdx?")


async def test_an_answer_past_the_size_cap_is_refused_not_read_on(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An index answer larger than any real one (the cap, made small here) is an answer error:
    # reading stops at the cap instead of holding whatever the server sends.
    monkeypatch.setattr(client_module, "MAX_ANSWER_BYTES", 4096)
    rows = json.dumps([FIELDS, *media_rows(200)])
    assert len(rows) > 4096
    archive.respond = lambda request, n: web.Response(text=rows, content_type="application/json")
    async with WaybackClient(archive.ia_options()) as client:
        with pytest.raises(ArchiveAnswerError, match="larger than 4096 bytes"):
            await client.search(MEDIA)
    assert len(archive.requests) == 1


async def test_a_404_from_the_index_is_an_http_error(archive: FakeArchive) -> None:
    archive.respond = lambda request, n: web.Response(status=404, text="no such collection")
    async with WaybackClient(archive.pywb_options(retries=2)) as client:
        with pytest.raises(HTTPStatusError) as caught:
            await client.search(MEDIA)
    assert caught.value.status == 404
    assert len(archive.requests) == 1


async def test_a_redirect_off_the_archive_to_loopback_is_refused(archive: FakeArchive) -> None:
    port = archive.base.rsplit(":", 1)[1]
    target = f"http://localhost:{port}/elsewhere"
    archive.respond = lambda request, n: web.Response(status=302, headers={"Location": target})
    async with WaybackClient(archive.pywb_options()) as client:
        with pytest.raises(PolicyRefused):
            await client.search(MEDIA)
    assert [s.path for s in archive.requests] == ["/coll/cdx"]


async def test_the_cache_spares_the_second_request(archive: FakeArchive, tmp_path: Path) -> None:
    archive.respond = ia_pager(media_rows(3))
    options = archive.ia_options(cache_dir=tmp_path / "cdx")
    async with WaybackClient(options) as client:
        first = await client.search(MEDIA, match_type="prefix")
        again = await client.search(MEDIA, match_type="prefix")
        streamed = [record async for record in client.iter_search(MEDIA, match_type="prefix")]
    assert first == again == tuple(streamed)
    assert len(archive.requests) == 2  # two pages, once
    async with WaybackClient(options) as other_client:  # a later run, same folder
        assert await other_client.search(MEDIA, match_type="prefix") == first
        assert len(archive.requests) == 2
        await other_client.search(MEDIA, match_type="exact")  # another query: asked
    assert len(archive.requests) == 4  # its two pages


async def test_not_archived_is_cached_too(archive: FakeArchive, tmp_path: Path) -> None:
    archive.respond = lambda request, n: web.Response(text="[]", content_type="application/json")
    async with WaybackClient(archive.ia_options(cache_dir=tmp_path)) as client:
        assert await client.search("https://sora.chatgpt.com/p/s_never") == ()
        assert await client.search("https://sora.chatgpt.com/p/s_never") == ()
    assert len(archive.requests) == 1


async def test_from_and_to_accept_datetimes(archive: FakeArchive) -> None:
    archive.respond = ia_pager([])
    async with WaybackClient(archive.ia_options()) as client:
        await client.search(
            MEDIA, from_=datetime(2025, 11, 4, 9, 30, tzinfo=UTC), to="2026", collapse="digest"
        )
    (seen,) = archive.requests
    assert (seen.query["from"], seen.query["to"]) == ("20251104093000", "2026")
    assert "matchType" not in seen.query  # exact is the default; a trailing * stays prefix
    assert seen.query["collapse"] == "digest"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"match_type": "everything"},
        {"filters": ["statuscode"]},
        {"from_": "2025-11-04"},
        {"to": "123456789012345"},
        {"limit": 0},
        {"collapse": "digest;drop"},
    ],
)
async def test_a_bad_query_is_bad_input_before_any_request(
    archive: FakeArchive, kwargs: dict[str, object]
) -> None:
    async with WaybackClient(archive.ia_options()) as client:
        with pytest.raises(BadInput) as caught:
            await client.search(MEDIA, **kwargs)  # type: ignore[arg-type]
    assert caught.value.exit_code == 2
    assert archive.requests == []


def test_replay_url_keeps_the_original_byte_for_byte() -> None:
    client = WaybackClient()
    original = f"{MEDIA}?se=2025-11-10&sig=a%2Fb%2B%3D"
    assert client.replay_url("20251104093015", original) == (
        f"https://web.archive.org/web/20251104093015id_/{original}"
    )
    pywb = WaybackClient(WaybackOptions(prefix="http://127.0.0.1:8080/coll/"))
    assert pywb.replay_url("2025", original) == f"http://127.0.0.1:8080/coll/2025id_/{original}"
    with pytest.raises(BadInput):
        client.replay_url("2025-11-04", original)


def test_options_follow_the_archive() -> None:
    ia = WaybackOptions()
    assert (ia.host, ia.cdx_endpoint, ia.cdx_budget, ia.cdx_page_size) == (
        "web.archive.org",
        IA_CDX_URL,
        24,
        5000,
    )
    assert ia.user_agent.startswith("sora-browser/0.1.0 (+https://")
    pywb = replace(ia, prefix="http://127.0.0.1:8080/my-coll")
    assert pywb.cdx_endpoint == "http://127.0.0.1:8080/my-coll/cdx"
    assert (pywb.host, pywb.cdx_netloc, pywb.cdx_budget) == ("127.0.0.1", "127.0.0.1:8080", 600)
    assert pywb.cdx_page_size is None
    assert WaybackClient(pywb).host == "127.0.0.1"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix": "ftp://web.archive.org/web"},
        {"prefix": "web.archive.org/web"},
        {"cdx_url": "https://web.archive.org/cdx?url=x"},
        {"cdx_per_minute": 0},
        {"page_size": 0},
        {"timeout": 0},
        {"retries": -1},
        {"cache_max_age": 0},
        {"user_agent": "x\r\nX-Injected: 1"},
    ],
)
def test_options_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- each case has its own message
        WaybackOptions(**kwargs)  # type: ignore[arg-type]


def test_not_archived_says_what_was_looked_for() -> None:
    error = NotArchived(
        url=MEDIA, archive="web.archive.org", match_type="prefix", filters=("statuscode:200",)
    )
    assert isinstance(error, NoVideoFound)
    assert error.exit_code == 3
    assert str(error) == (
        f"web.archive.org holds no capture of {MEDIA} (matchType=prefix, filter statuscode:200)"
    )
    assert str(NotArchived(url="https://sora.chatgpt.com/p/s_1", archive="pywb.local")) == (
        "pywb.local holds no capture of https://sora.chatgpt.com/p/s_1"
    )
