"""Downloads from the fixture CDN, each figure beside ``curl`` (and ``aria2c`` for parallel).

    .venv/bin/python benchmarks/bench_download.py [--runs 3] [--sizes 10,256,1024]

- plain: file-backed 10 MiB, 256 MiB and 1 GiB videos (generated under a temp dir), served
  with sendfile by the fixture site running in its own process (its CPU is not ours). Each run
  is a fresh ``python -c`` process calling ``VideoDownloader.fetch`` (one connection, which
  hashes and fsyncs), against ``curl -s -o`` of the same URL, and against curl followed by
  ``sync -d`` (the same durability as our fsync; curl alone leaves dirty pages behind). Wall
  time per child, peak RSS from GNU time, and for ours also the time spent inside ``fetch``
  (without interpreter start-up and imports). Medians of ``--runs``; outputs deleted between
  runs.
- parallel: a 64 MiB video throttled per connection on the server; 1 vs 4 connections vs
  ``aria2c -x4 -s4``.
Targets: ours/curl <= 1.0 on one connection; peak RSS for 1 GiB within 5 MiB of 10 MiB and
under 60 MiB; 4 connections >= 3.5x one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sora_browser.testing.media import FakeVideo, write_video_file

MiB = 1024 * 1024
THROTTLE = 16 * MiB
"""Bytes per second per connection for the parallel comparison."""
THROTTLED_SIZE = 64 * MiB

# The fixture site in its own process: registers the file-backed videos, prints their URLs.
SERVER = r"""
import asyncio, json, sys
from pathlib import Path
from sora_browser.testing.media import FakeVideo, signed_url
from sora_browser.testing.site import FixtureSite

async def serve(spec):
    async with FixtureSite() as site:
        urls = {}
        for name, size, path, throttle in spec:
            video = FakeVideo(name, size)
            site.cdn.add_file_video(video, Path(path))
            if throttle:
                site.cdn.configure(name, throttle=throttle)
            urls[name] = signed_url(site.url, video)
        print(json.dumps(urls), flush=True)
        await asyncio.Event().wait()

asyncio.run(serve(json.loads(sys.argv[1])))
"""

# One download with the library, as the CLI would do it.
OURS = r"""
import asyncio, json, sys
from pathlib import Path
from sora_browser.download import VideoDownloader
from sora_browser.options import DownloadOptions

async def fetch(url, out, connections):
    options = DownloadOptions(allow_hosts=frozenset({"127.0.0.1"}), connections=connections)
    async with VideoDownloader(options) as downloader:
        result = await downloader.fetch(url, Path(out))
    print(json.dumps({"sha256": result.sha256, "elapsed": result.elapsed}))

asyncio.run(fetch(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""

Fetcher = Callable[..., tuple[float, float, str]]


@dataclass
class Figures:
    wall: float
    """Median seconds for the whole child process."""
    peak_rss: float
    """Largest peak RSS over the runs, MiB."""
    inside: float | None
    """Median seconds inside ``fetch`` (ours only: no interpreter start-up or imports)."""


def run_child(argv: Sequence[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, and stdout of one child process.

    Peak RSS comes from GNU time's ``%M``: a child forked straight from this (big) Python
    process would report at least our own RSS, since Linux carries ``ru_maxrss`` across exec.
    """
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with {done.returncode}: {done.stderr.strip()}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return elapsed, peak_kib / 1024, done.stdout.strip()


def ours(url: str, out: Path, connections: int = 1) -> tuple[float, float, str]:
    return run_child([sys.executable, "-c", OURS, url, str(out), str(connections)])


def curl(url: str, out: Path) -> tuple[float, float, str]:
    return run_child(["curl", "-s", "-o", str(out), url])


def curl_sync(url: str, out: Path) -> tuple[float, float, str]:
    """curl, then ``sync -d`` on the file: the same durability promise as our fsync."""
    return run_child(["sh", "-c", 'curl -s -o "$1" "$2" && sync -d "$1"', "sh", str(out), url])


def aria2c(url: str, out: Path) -> tuple[float, float, str]:
    argv = ["aria2c", "-q", "-x4", "-s4", "-k1M", "--allow-overwrite=true"]
    argv += ["--file-allocation=none", "-d", str(out.parent), "-o", out.name, url]
    return run_child(argv)


def make_videos(folder: Path, sizes: list[int]) -> tuple[list[list[object]], dict[str, str]]:
    spec: list[list[object]] = []
    digests: dict[str, str] = {}
    for size_mib, throttle in [(s, 0) for s in sizes] + [(THROTTLED_SIZE // MiB, THROTTLE)]:
        name = f"v{size_mib}" + ("_throttled" if throttle else "")
        path = folder / f"{name}.bin"
        digests[name] = write_video_file(path, FakeVideo(name, size_mib * MiB))
        spec.append([name, size_mib * MiB, str(path), throttle])
    return spec, digests


def start_server(spec: list[list[object]]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, json.dumps(spec)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    urls: dict[str, str] = json.loads(server.stdout.readline())
    return server, urls


def median_of(
    runs: int, fetch: Fetcher, url: str, out: Path, digest: str | None, *extra: int
) -> Figures:
    walls, peaks, insides = [], [], []
    for _ in range(runs):
        out.unlink(missing_ok=True)
        wall, peak, printed = fetch(url, out, *extra)
        if printed.startswith("{"):
            reported = json.loads(printed)
            if reported["sha256"] != digest:
                raise SystemExit(f"sha256 mismatch for {url}")
            insides.append(float(reported["elapsed"]))
        walls.append(wall)
        peaks.append(peak)
    out.unlink(missing_ok=True)
    inside = statistics.median(insides) if insides else None
    return Figures(statistics.median(walls), max(peaks), inside)


def bench_plain(
    urls: dict[str, str], digests: dict[str, str], sizes: list[int], work: Path, runs: int
) -> None:
    print(
        f"{'size':>8} {'ours s':>7} {'(fetch)':>7} {'curl s':>7} {'+sync s':>7} {'/curl':>6}"
        f" {'/+sync':>6} {'ours RSS':>9} {'curl RSS':>9}"
    )
    for size in sizes:
        name = f"v{size}"
        mine = median_of(runs, ours, urls[name], work / "ours.mp4", digests[name])
        theirs = median_of(runs, curl, urls[name], work / "curl.mp4", None)
        synced = median_of(runs, curl_sync, urls[name], work / "curl.mp4", None)
        print(
            f"{size:>5}MiB {mine.wall:>7.2f} {mine.inside or 0:>7.2f} {theirs.wall:>7.2f}"
            f" {synced.wall:>7.2f} {mine.wall / theirs.wall:>6.2f}"
            f" {mine.wall / synced.wall:>6.2f} {mine.peak_rss:>7.1f}Mi"
            f" {theirs.peak_rss:>7.1f}Mi",
            flush=True,
        )


def bench_parallel(urls: dict[str, str], digests: dict[str, str], work: Path, runs: int) -> None:
    name = f"v{THROTTLED_SIZE // MiB}_throttled"
    url, digest = urls[name], digests[name]
    one = median_of(runs, ours, url, work / "p1.mp4", digest, 1)
    four = median_of(runs, ours, url, work / "p4.mp4", digest, 4)
    aria = median_of(runs, aria2c, url, work / "aria.mp4", None)
    print(f"\nthrottled {THROTTLED_SIZE // MiB} MiB at {THROTTLE // MiB} MiB/s per connection:")
    print(f"{'':>16} {'wall s':>7} {'(fetch)':>7} {'peak RSS':>9}")
    for label, figures in (("1 connection", one), ("4 connections", four), ("aria2c -x4", aria)):
        inside = "-" if figures.inside is None else f"{figures.inside:.2f}"
        print(f"{label:>16} {figures.wall:>7.2f} {inside:>7} {figures.peak_rss:>7.1f}Mi")
    ratio_inside = (one.inside or 0) / (four.inside or 1)
    print(
        f"4 vs 1 connection: {one.wall / four.wall:.2f}x wall, {ratio_inside:.2f}x inside"
        f" fetch; ours(4)/aria2c {four.wall / aria.wall:.2f} wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10,256,1024", help="MiB, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench_download_"))
    server = None
    try:
        spec, digests = make_videos(work, sizes)
        server, urls = start_server(spec)
        bench_plain(urls, digests, sizes, work, args.runs)
        if shutil.which("aria2c"):
            bench_parallel(urls, digests, work, args.runs)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
