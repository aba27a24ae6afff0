"""Downloads from the fixture CDN, each figure beside curl, aria2c and the code before issue 13.

    .venv/bin/python benchmarks/bench_download.py [--runs 3] [--sizes 10,50,1024]
        [--before 36580bb] [--skip-before]

Every contender is a child process timed by GNU time (wall, user+system CPU, peak RSS), run in
interleaved rounds (ours, then the others, round after round) so the noise of this shared
machine falls on all of them alike; figures are medians over ``--runs`` (RSS: the largest),
ratios are medians of the per-round ratios. The fixture site runs in its own process, serving
file-backed videos with sendfile (its CPU is not ours), each behind its own share page; ours is
the whole ``sora-browser download SHARE_URL`` command (start-up, resolving the page, then the
download with hashing and fsync), and every child's sha256 is checked.

1. plain: 10 MiB, 50 MiB and 1 GiB with the defaults, before and after, and ``curl -o FILE &&
   sync -d FILE`` (the same durability as our fsync; curl alone leaves dirty pages behind).
   "Before" is the tree at ``--before`` (the commit before issue 13), extracted with ``git
   archive`` and run with the same interpreter and packages.
2. 1 GiB, ours (defaults and ``-N 1``) against curl && sync: time, CPU, peak RSS.
   Goals: at most 1.15x curl's time and 2.6x its CPU, at most 50 MiB peak RSS.
3. throttled: 48 MiB from a CDN that gives each connection 8 MiB/s: the defaults, ``-N 1``,
   the defaults before, and ``aria2c -x4 -s4``. Goals: at least 3.5x ``-N 1``, within 10% of
   aria2c.

The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sora_browser.testing.media import FakeVideo, write_video_file

MiB = 1024 * 1024
THROTTLE = 8 * MiB
"""Bytes per second per connection in the throttled case."""
THROTTLED_MIB = 48
BEFORE = "36580bb"
"""main just before issue 13 (adaptive connections, the per-host cap)."""
REPO = Path(__file__).resolve().parent.parent

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


@dataclass
class Run:
    wall: float
    cpu: float
    """User + system seconds of the child (and its children)."""
    rss: float
    """Peak RSS in MiB."""
    inside: float | None = None
    """Ours only: the download's own seconds (``elapsed_seconds``: no start-up, imports or
    resolving), for a fair look beside a tool that is handed the media URL."""
    connections: int | None = None
    """Ours only: the most connections the download had open at once."""


@dataclass
class Contender:
    label: str
    fetch: Callable[[Path], Run]
    runs: list[Run] = field(default_factory=list)

    def median(self, what: str) -> float:
        return float(statistics.median(getattr(run, what) for run in self.runs))

    def peak_rss(self) -> float:
        return max(run.rss for run in self.runs)


def run_child(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[Run, str]:
    """One child process under GNU time; its figures and its stdout.

    Peak RSS comes from GNU time's ``%M``: a child forked straight from this (big) Python
    process would report at least our own RSS, since Linux carries ``ru_maxrss`` across exec.
    """
    fmt = "%e %U %S %M"
    done = subprocess.run(
        ["/usr/bin/time", "-f", fmt, *argv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tempfile.gettempdir(),  # not the checkout: ``-m sora_browser`` would find it first
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with {done.returncode}: {done.stderr.strip()}")
    wall, user, system, peak_kib = done.stderr.strip().splitlines()[-1].split()
    figures = Run(float(wall), float(user) + float(system), int(peak_kib) / 1024)
    return figures, done.stdout.strip()


def sora(tree: Path | None, share_url: str, digest: str, connections: int | None) -> Contender:
    """``sora-browser download`` from ``tree`` (None: this checkout), checking its sha256."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    argv = [sys.executable, "-m", "sora_browser", "download", share_url]
    options = ["--allow-host", "127.0.0.1", "--json", "-q"]
    if connections is not None:
        options += ["--connections", str(connections)]

    def fetch(out: Path) -> Run:
        figures, printed = run_child([*argv, str(out), *options], env)
        record = json.loads(printed)
        if record["sha256"] != digest:
            raise SystemExit(f"sha256 mismatch for {share_url}")
        figures.inside = record["elapsed_seconds"]
        figures.connections = record["connections"]
        return figures

    return Contender("", fetch)


def curl_sync(url: str) -> Contender:
    def fetch(out: Path) -> Run:
        script = 'curl -s -o "$1" "$2" && sync -d "$1"'
        return run_child(["sh", "-c", script, "sh", str(out), url])[0]

    return Contender("curl && sync", fetch)


def aria2c(url: str) -> Contender:
    def fetch(out: Path) -> Run:
        argv = ["aria2c", "-q", "-x4", "-s4", "-k1M", "--allow-overwrite=true"]
        argv += ["--file-allocation=none", "-d", str(out.parent), "-o", out.name, url]
        return run_child(argv)[0]

    return Contender("aria2c -x4 -s4", fetch)


def rounds(contenders: list[Contender], runs: int, work: Path) -> None:
    """Each contender once per round, in turn; outputs removed after each run."""
    for _ in range(runs):
        for index, contender in enumerate(contenders):
            out = work / f"out{index}.mp4"
            out.unlink(missing_ok=True)
            contender.runs.append(contender.fetch(out))
            out.unlink(missing_ok=True)


def ratio(mine: Contender, theirs: Contender, what: str) -> float:
    """Median over rounds of mine/theirs."""
    pairs = zip(mine.runs, theirs.runs, strict=True)
    return float(statistics.median(getattr(a, what) / getattr(b, what) for a, b in pairs))


def table(contenders: list[Contender]) -> None:
    print(f"  {'':<22} {'wall s':>7} {'CPU s':>7} {'peak RSS':>9}  download alone")
    for c in contenders:
        inside = ""
        if c.runs[0].inside is not None:
            used = sorted({run.connections or 0 for run in c.runs})
            inside = f"  {c.median('inside'):.2f} s, connections {used}"
        print(
            f"  {c.label:<22} {c.median('wall'):>7.2f} {c.median('cpu'):>7.2f}"
            f" {c.peak_rss():>7.1f}Mi{inside}"
        )


# -- the three comparisons -----------------------------------------------------------------


@dataclass
class Setup:
    urls: dict[str, list[str]]
    digests: dict[str, str]
    before: Path | None
    work: Path
    runs: int

    def ours(self, name: str, label: str, connections: int | None = None) -> Contender:
        share, digest = self.urls[name][0], self.digests[name]
        contender = sora(None, share, digest, connections)
        contender.label = label
        return contender

    def old(self, name: str, label: str) -> Contender | None:
        if self.before is None:
            return None
        contender = sora(self.before, self.urls[name][0], self.digests[name], None)
        contender.label = label
        return contender


def bench_plain(setup: Setup, sizes: list[int]) -> None:
    print("\n1. plain downloads with the defaults, before and after issue 13, and curl && sync")
    head = f"{'size':>8} {'before s':>8} {'after s':>8} {'curl+sync':>9} {'after/curl':>10}"
    print(f"{head} {'CPU before':>10} {'after':>6} {'RSS before':>10} {'after':>7}")
    for size in sizes:
        name = f"v{size}"
        after = setup.ours(name, "after")
        before = setup.old(name, "before")
        curl = curl_sync(setup.urls[name][1])
        contenders = [c for c in (after, curl, before) if c is not None]
        rounds(contenders, setup.runs, setup.work)
        wall, cpu, rss = (
            (
                f"{before.median('wall'):.2f}",
                f"{before.median('cpu'):.2f}",
                f"{before.peak_rss():.1f}Mi",
            )
            if before is not None
            else ("-", "-", "-")
        )
        print(
            f"{size:>5}MiB {wall:>8} {after.median('wall'):>8.2f}"
            f" {curl.median('wall'):>9.2f} {ratio(after, curl, 'wall'):>10.2f}"
            f" {cpu:>10} {after.median('cpu'):>6.2f}"
            f" {rss:>10} {after.peak_rss():>5.1f}Mi",
            flush=True,
        )


def bench_big(setup: Setup, size: int) -> None:
    name = f"v{size}"
    goals = "goals: time <= 1.15x, CPU <= 2.6x, RSS <= 50 MiB"
    print(f"\n2. {size} MiB against curl && sync ({goals})")
    auto = setup.ours(name, "ours (defaults)")
    one = setup.ours(name, "ours -N 1", 1)
    curl = curl_sync(setup.urls[name][1])
    rounds([auto, curl, one], setup.runs, setup.work)
    table([auto, one, curl])
    for mine in (auto, one):
        print(
            f"  {mine.label}: {ratio(mine, curl, 'wall'):.2f}x curl's time,"
            f" {ratio(mine, curl, 'cpu'):.2f}x its CPU (medians of {setup.runs} pairs)"
        )


def bench_throttled(setup: Setup) -> None:
    name = f"v{THROTTLED_MIB}_throttled"
    print(
        f"\n3. {THROTTLED_MIB} MiB at {THROTTLE // MiB} MiB/s per connection"
        " (goals: >= 3.5x -N 1, within 10% of aria2c)"
    )
    auto = setup.ours(name, "ours (defaults)")
    one = setup.ours(name, "ours -N 1", 1)
    aria = aria2c(setup.urls[name][1])
    before = setup.old(name, "before (defaults)")
    contenders = [c for c in (auto, aria, one, before) if c is not None]
    rounds(contenders, setup.runs, setup.work)
    table(contenders)
    print(
        f"  defaults: {ratio(one, auto, 'wall'):.2f}x as fast as -N 1,"
        f" {ratio(auto, aria, 'wall'):.2f}x aria2c's time (the whole command: start-up and"
        f" resolving the page included; the download alone"
        f" {ratio(one, auto, 'inside'):.2f}x and {ratio_to(auto, 'inside', aria):.2f}x)"
    )


def ratio_to(mine: Contender, what: str, theirs: Contender) -> float:
    """Median over rounds of mine's ``what`` over theirs' wall time."""
    pairs = zip(mine.runs, theirs.runs, strict=True)
    return float(statistics.median(getattr(a, what) / b.wall for a, b in pairs))


# -- setting up ----------------------------------------------------------------------------


def make_videos(folder: Path, sizes: list[int]) -> tuple[list[list[object]], dict[str, str]]:
    spec: list[list[object]] = []
    digests: dict[str, str] = {}
    for size_mib, throttle in [(s, 0) for s in sizes] + [(THROTTLED_MIB, THROTTLE)]:
        name = f"v{size_mib}" + ("_throttled" if throttle else "")
        path = folder / f"{name}.bin"
        digests[name] = write_video_file(path, FakeVideo(name, size_mib * MiB))
        spec.append([name, size_mib * MiB, str(path), throttle])
    return spec, digests


def start_server(spec: list[list[object]]) -> tuple[subprocess.Popen[str], dict[str, list[str]]]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, json.dumps(spec)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    urls: dict[str, list[str]] = json.loads(server.stdout.readline())
    return server, urls


def extract_before(revision: str, into: Path) -> Path | None:
    """The package as it was at ``revision`` (``git archive``), byte-compiled; None if git
    cannot give it (not a checkout, unknown revision)."""
    archive = into / "before.tar"
    with archive.open("wb") as out:
        made = subprocess.run(
            ["git", "-C", str(REPO), "archive", revision, "sora_browser"],
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    if made.returncode != 0:
        print(f"(no 'before' figures: git archive {revision} failed)")
        return None
    tree = into / "before"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    compile_tree(tree / "sora_browser")
    return tree


def compile_tree(package: Path) -> None:
    # As a wheel install is: the first run must not pay for writing .pyc files.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10,50,1024", help="MiB, comma-separated")
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' code")
    parser.add_argument("--skip-before", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{os.cpu_count()} CPUs; load average at the start: {os.getloadavg()[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="bench_download_"))
    server = None
    try:
        compile_tree(REPO / "sora_browser")
        before = None if args.skip_before else extract_before(args.before, work)
        spec, digests = make_videos(work, sizes)
        server, urls = start_server(spec)
        setup = Setup(urls, digests, before, work, args.runs)
        bench_plain(setup, sizes)
        bench_big(setup, max(sizes))
        if shutil.which("aria2c"):
            bench_throttled(setup)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"({time.monotonic() - started:.0f} s)")
