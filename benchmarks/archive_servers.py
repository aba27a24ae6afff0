"""The archives bench_archive.py measures against, each in its own process, so its CPU is not
the benchmark's.

    with server(kind="big", size=..., pieces=16) as running:   # starts this script
        running.info            # what it printed: archive prefix and CDX URL, share links, sha256
        running.requests()      # the IA stand-in's records: (endpoint, arrival time, status, path)
        running.ask("reset")    # forget them

``python archive_servers.py SPEC`` builds the captures ``SPEC`` names, starts a real pywb over a
WARC written with ``write_warc`` (``PywbArchive``: itself a process) or the IA stand-in
(``IAStandIn``), prints one JSON line, then answers commands on stdin until it closes. Big
bodies are files or made on demand (``big_archive.body_range``), never whole in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sora_browser.testing.big_archive import body_range, pieces_case, sha256_of
from sora_browser.testing.captures import (
    Body,
    Capture,
    body_length,
    media_capture,
    page_capture,
    write_warc,
)
from sora_browser.testing.ia import IAStandIn
from sora_browser.testing.media import FakeVideo, write_video_file
from sora_browser.testing.pywb import PywbArchive, loopback_only_env
from sora_browser.testing.scenario import sora_scenario
from sora_browser.testing.site import FixtureSite
from sora_browser.testing.sora_html import hex_id, post_json, post_page, sas_url, source_path

VISIT = "20251105120000"
STATIC_PAGE = (
    "<!-- Benchmark share page: og:video meta only, like testing/pages/og_video.html -->\n"
    "<!-- fixture: path=/p/{share_id} -->\n"
    '<html><head><meta property="og:video" content="{{{{media:{name}|html}}}}"></head></html>\n'
)

Info = dict[str, Any]
Served = tuple[Info, IAStandIn | None]
Serve = Callable[[Info, Path, contextlib.AsyncExitStack], Awaitable[Served]]


# -- what the archives hold (built in the server process) --------------------------------------


@dataclass(frozen=True, slots=True)
class Post:
    share_url: str
    media_url: str
    media_stamp: str
    captures: tuple[Capture, ...]


def archived_post(name: str, body: Body, size: int, visit: str = VISIT) -> Post:
    """A Sora 2 post page and its source video archived whole (a 200), five seconds later."""
    share_id = "s_" + hex_id(name)
    share = f"https://sora.chatgpt.com/p/{share_id}"
    media = sas_url(source_path(FakeVideo(name, size)), signed=visit)
    data = post_json(share_id, username="bench", prompt=name, encodings={"source": media})
    stamp = visit[:12] + "05"
    page = page_capture(share, visit, post_page(data, og_video=media))
    return Post(share, media, stamp, (page, media_capture(media, stamp, body)))


def listing_captures(posts: int, per_post: int) -> list[Capture]:
    """``per_post`` captures of each of ``posts`` pages (later visits add ``?psh=``), no media."""
    captures = []
    start = datetime(2025, 10, 1, tzinfo=UTC)
    for number in range(posts):
        share_id = "s_" + hex_id(f"listed_{number}")
        data = post_json(share_id, username="bench", prompt=str(number), encodings={})
        html = post_page(data, og_video=None)
        for visit in range(per_post):
            moment = start + timedelta(days=visit, minutes=number)
            query = f"?psh={hex_id(share_id, 16)}" if visit else ""
            url = f"https://sora.chatgpt.com/p/{share_id}{query}"
            captures.append(page_capture(url, moment.strftime("%Y%m%d%H%M%S"), html))
    return captures


def replay_url(prefix: str, post: Post) -> str:
    return f"{prefix}/{post.media_stamp}id_/{post.media_url}"


# -- the server process ------------------------------------------------------------------------


async def start_ia(
    captures: Sequence[Capture], stack: contextlib.AsyncExitStack, max_rows: int = 10_000
) -> IAStandIn:
    return await stack.enter_async_context(IAStandIn(captures, max_rows=max_rows))


def archive_info(archive: IAStandIn | PywbArchive) -> Info:
    return {"prefix": archive.prefix, "cdx": archive.cdx_url}


async def serve_whole(spec: Info, folder: Path, stack: contextlib.AsyncExitStack) -> Served:
    """Part 1: a pywb holding one post and its video, and the fixture site with the same file."""
    size = spec["size"]
    video_file = folder / "video.mp4"
    digest = write_video_file(video_file, FakeVideo("bench_whole", size))
    post = archived_post("bench_whole", video_file, size)
    warc = write_warc(folder / "bench-whole.warc.gz", post.captures)
    pywb = await stack.enter_async_context(PywbArchive([warc]))
    pages = folder / "pages"
    pages.mkdir()
    share_id = "s_" + hex_id("bench_static")
    (pages / "bench.html").write_text(STATIC_PAGE.format(share_id=share_id, name="bench_static"))
    site = await stack.enter_async_context(FixtureSite(pages_dir=pages))
    site.cdn.add_file_video(FakeVideo("bench_static", size), video_file)
    info = {"archive_share": post.share_url, "static_share": f"{site.url}/p/{share_id}"}
    info |= {"replay": replay_url(pywb.prefix, post), "sha256": digest, "size": size}
    return info | archive_info(pywb), None


async def serve_scenario(spec: Info, folder: Path, stack: contextlib.AsyncExitStack) -> Served:
    """Part 2: the scenario's captures, as the tests' IA stand-in holds them."""
    scenario = sora_scenario()
    ia = await start_ia(scenario.captures, stack)
    cases = {
        name: [case.share_url, case.sha256, _kind(case.video is not None, bool(case.ranges_held))]
        for name, case in scenario.cases.items()
    }
    return {"cases": cases} | archive_info(ia), ia


def _kind(has_video: bool, in_pieces: bool) -> str:
    if not has_video:
        return "no video"
    return "pieces" if in_pieces else "whole"


async def serve_listing(spec: Info, folder: Path, stack: contextlib.AsyncExitStack) -> Served:
    """Part 3: many page captures, answers cut at ``max_rows`` so a listing has to page."""
    captures = listing_captures(spec["posts"], spec["per_post"])
    ia = await start_ia(captures, stack, max_rows=spec["max_rows"])
    return {"posts": spec["posts"], "rows": len(captures)} | archive_info(ia), ia


async def serve_batch(spec: Info, folder: Path, stack: contextlib.AsyncExitStack) -> Served:
    """Part 4: ``links`` posts, each with its own video archived whole."""
    size, captures, links = spec["size"], list[Capture](), dict[str, str]()
    for number in range(spec["links"]):
        name = f"bench_batch_{number}"
        post = archived_post(name, body_range(name, size, 0, size), size)
        captures += post.captures
        links[post.share_url] = sha256_of(name, size)
    ia = await start_ia(captures, stack)
    return {"links": links} | archive_info(ia), ia


async def serve_big(spec: Info, folder: Path, stack: contextlib.AsyncExitStack) -> Served:
    """Part 5: a big video in pieces, the same bytes archived whole under another post, and a
    small video in as many pieces (the memory baseline)."""
    size, name = spec["size"], "bench_big"
    big = pieces_case(name, size, spec["pieces"])
    small = pieces_case("bench_small", spec["small"], spec["pieces"])
    whole_file = folder / "whole.mp4"
    with whole_file.open("wb") as out:
        for data in body_range(name, size, 0, size)():
            out.write(data)
    whole = archived_post("bench_big_whole", whole_file, size)
    ia = await start_ia([*big.captures, *small.captures, *whole.captures], stack)
    pieces = [c for c in big.captures if c.status == 206]
    info = {"pieces_share": big.share_url, "whole_share": whole.share_url, "size": size}
    info |= {"replay": replay_url(ia.prefix, whole), "sha256": big.sha256}
    info |= {"piece_replays": [f"{ia.prefix}/{c.timestamp}id_/{c.url}" for c in pieces]}
    info |= {"pieces_bytes": sum(body_length(c.body) for c in pieces)}
    info |= {"small_share": small.share_url, "small_sha256": small.sha256}
    return info | archive_info(ia), ia


SERVERS: dict[str, Serve] = {
    "whole": serve_whole,
    "scenario": serve_scenario,
    "listing": serve_listing,
    "batch": serve_batch,
    "big": serve_big,
}


async def serve(spec: Info) -> None:
    """Build the archive, print its info as one JSON line, then answer commands on stdin."""
    folder = Path(tempfile.mkdtemp(prefix="bench-archive-serve-"))
    try:
        async with contextlib.AsyncExitStack() as stack:
            info, ia = await SERVERS[spec["kind"]](spec, folder, stack)
            print(json.dumps(info), flush=True)
            await answer_commands(ia)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def answer_commands(ia: IAStandIn | None) -> None:
    """``requests``: the stand-in's records as JSON; ``reset``: forget them; EOF: stop."""
    while command := (await asyncio.to_thread(sys.stdin.readline)).strip():
        if ia is not None and command == "reset":
            ia.reset()
        records = ia.requests if ia is not None and command == "requests" else []
        answer = [[r.endpoint, r.at, r.status, r.path] for r in records]
        print(json.dumps(answer), flush=True)


# -- the parent's handle on a server ----------------------------------------------------


class Server:
    """``serve`` in its own process; ``info`` is what it printed, ``ask`` sends a command."""

    def __init__(self, **spec: Any) -> None:
        argv = [sys.executable, str(Path(__file__).resolve()), json.dumps(spec)]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=loopback_only_env()
        )
        line = self.ask(None)
        if not isinstance(line, dict):
            raise SystemExit(f"the {spec['kind']} server did not start")
        self.info: Info = line

    def ask(self, command: str | None) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def requests(self) -> list[tuple[str, float, int, str]]:
        return [(e, float(at), int(s), p) for e, at, s, p in self.ask("requests")]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait()


@contextlib.contextmanager
def server(**spec: Any) -> Iterator[Server]:
    running = Server(**spec)
    try:
        yield running
    finally:
        running.close()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
