"""Downloads from the fixture CDN, each figure beside ``curl`` (and ``aria2c`` for parallel).

    .venv/bin/python benchmarks/bench_download.py [--runs 3] [--sizes 10,256,1024]

- plain: file-backed 10 MiB, 256 MiB and 1 GiB videos (generated under a temp dir), served
  with sendfile by the fixture site running in its own process (its CPU is not ours), each
  behind its own share page. Each run is the whole ``sora-browser download SHARE_URL`` command
  (resolve the page, then download on one connection, hashing and fsyncing), against
  ``curl -s -o`` of the already-resolved media URL, and against curl followed by ``sync -d``
  (the same durability as our fsync; curl alone leaves dirty pages behind). Wall time per
  child, peak RSS from GNU time, and for ours also the download's own time from ``--json``
  (``elapsed_seconds``: no interpreter start-up, imports or resolution). Medians of
  ``--runs``; outputs deleted between runs.
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

# The fixture site in its own process: registers the file-backed videos, and for each one a
# share page (og:video, as a link-preview bot sees a Sora post) in a temporary fixtures folder,
# then prints {name: [share URL, direct media URL]}.
SERVER = r"""
import asyncio, json, sys, tempfile
from pathlib import Path
from sora_browser.testing.media import FakeVideo, signed_url
from sora_browser.testing.site import FixtureSite

PAGE = (
    "<!-- Benchmark share page: og:video meta only, like testing/pages/og_video.html -->\n"
    "<!-- fixture: path=/p/{share_id} -->\n"
    '<html><head><meta property="og:video" content="{{{{media:{name}|html}}}}"></head></html>\n'
)

async def serve(spec):
    pages = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    for index, (name, *_rest) in enumerate(spec):
        share_id = "s_" + f"{index:032x}"
        text = PAGE.format(share_id=share_id, name=name)
        (pages / f"{name}.html").write_text(text)
    async with FixtureSite(pages_dir=pages) as site:
        urls = {}
        for index, (name, size, path, throttle) in enumerate(spec):
            video = FakeVideo(name, size)
            site.videos[name] = video
            site.cdn.add_file_video(video, Path(path))
            if throttle:
                site.cdn.configure(name, throttle=throttle)
            share = f"{site.url}/p/s_{index:032x}"
            urls[name] = [share, signed_url(site.url, video)]
        print(json.dumps(urls), flush=True)
        await asyncio.Event().wait()

asyncio.run(serve(json.loads(sys.argv[1])))
"""

SORA = str(Path(sys.executable).parent / "sora-browser")

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


def ours(share_url: str, out: Path, connections: int = 0) -> tuple[float, float, str]:
    """The whole ``sora-browser download`` command: resolve the share page, then download."""
    argv = [SORA, "download", share_url, str(out), "--allow-host", "127.0.0.1", "--json", "-q"]
    return run_child([*argv, "--connections", str(connections)])


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


def start_server(
    spec: list[list[object]],
) -> tuple[subprocess.Popen[str], dict[str, list[str]]]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, json.dumps(spec)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    urls: dict[str, list[str]] = json.loads(server.stdout.readline())
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
            insides.append(float(reported["elapsed_seconds"]))
        walls.append(wall)
        peaks.append(peak)
    out.unlink(missing_ok=True)
    inside = statistics.median(insides) if insides else None
    return Figures(statistics.median(walls), max(peaks), inside)


def bench_plain(
    urls: dict[str, list[str]], digests: dict[str, str], sizes: list[int], work: Path, runs: int
) -> None:
    print(
        f"{'size':>8} {'ours s':>7} {'(fetch)':>7} {'curl s':>7} {'+sync s':>7} {'/curl':>6}"
        f" {'/+sync':>6} {'ours RSS':>9} {'curl RSS':>9}"
    )
    for size in sizes:
        name = f"v{size}"
        share, direct = urls[name]
        mine = median_of(runs, ours, share, work / "ours.mp4", digests[name], 1)
        theirs = median_of(runs, curl, direct, work / "curl.mp4", None)
        synced = median_of(runs, curl_sync, direct, work / "curl.mp4", None)
        print(
            f"{size:>5}MiB {mine.wall:>7.2f} {mine.inside or 0:>7.2f} {theirs.wall:>7.2f}"
            f" {synced.wall:>7.2f} {mine.wall / theirs.wall:>6.2f}"
            f" {mine.wall / synced.wall:>6.2f} {mine.peak_rss:>7.1f}Mi"
            f" {theirs.peak_rss:>7.1f}Mi",
            flush=True,
        )


def bench_parallel(
    urls: dict[str, list[str]], digests: dict[str, str], work: Path, runs: int
) -> None:
    name = f"v{THROTTLED_SIZE // MiB}_throttled"
    (share, direct), digest = urls[name], digests[name]
    one = median_of(runs, ours, share, work / "p1.mp4", digest, 1)
    four = median_of(runs, ours, share, work / "p4.mp4", digest, 4)
    aria = median_of(runs, aria2c, direct, work / "aria.mp4", None)
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
