"""Archive downloads, lookups and listings, each figure beside a reference from the same run.

    .venv/bin/python benchmarks/bench_archive.py [--runs 3] [--parts 1,2,3,4,5] [--size-mib 32]
        [--posts 1500] [--links 50] [--batch-runs 1] [--big-mib 256] [--pieces 16] [--help]

Every archive runs in its own process (``archive_servers.py``), so its CPU is not ours: a real
pywb over a WARC written with ``write_warc``, or the IA stand-in, which records each request
with its arrival time. Every ``sora-browser`` child runs with ``loopback_only_env()``, the
local archive named on its command line and in ``SORA_BROWSER_WAYBACK*``, ``--no-cache`` and
``XDG_CACHE_HOME`` in a temp folder: nothing can reach web.archive.org. Children are timed with
GNU time (peak RSS); contenders take turns run by run (interleaved), and figures are medians
(RSS: the largest). sora_browser is byte-compiled first, as a wheel install is.

1. whole: ``sora-browser download --mode archive`` of a share link whose page and video
   (``--size-mib``, archived whole as a 200) a pywb holds, against ``--mode static`` of a
   fixture-site page serving a video of the same size, and ``curl -o && sync -d`` of the
   replay URL ours resolved (the same durability as our fsync).
2. lookups: every case of ``sora_scenario()`` downloaded through the IA stand-in; CDX
   requests per link (the budget IA counts, 24 a minute) and replay requests (pages, media).
3. listing: ``wayback list`` over ``--posts`` posts captured twice each, the stand-in cutting
   answers at ``--max-rows`` so the listing pages; with a budget too high to throttle, with
   the default for a non-IA host and with IA's 24 a minute, against curl fetching the same
   pages one after the other.
4. batch: ``batch --jobs 8 --archive-rate 120`` of ``--links`` archived posts; wall time,
   links/s and the CDX budget as the server counted it (the most requests in any 60 s and
   10 s window against ``per_minute`` and ``burst + per_minute / 6``), against the same batch
   with a budget too high to throttle and the floor the limiter sets.
5. pieces: a ``--big-mib`` video held in ``--pieces`` 206 captures (``pieces_case``) joined by
   ``download --mode archive``, against the same bytes archived whole (a 200) with the same
   command, ``curl -o && sync -d`` of the whole copy's replay URL, and curl fetching the piece
   replays in turn (the bytes the assembler fetches). Flat memory is the point: a
   ``--small-mib`` video in as many pieces is the baseline for peak RSS.

The load average is printed at the start and the end: other work on the machine slows every
contender of a round alike, but shows in the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from archive_servers import Info, Server, server

import sora_browser
from sora_browser.archive.limiter import default_burst
from sora_browser.archive.options import IA_PAGE_SIZE, OTHER_CDX_PER_MINUTE
from sora_browser.testing.pywb import loopback_only_env

MiB = 1024 * 1024
SORA = str(Path(sys.executable).parent / "sora-browser")
UNTHROTTLED = "100000"
"""An ``--archive-rate`` no run here comes near: the limiter never waits."""
IA_RATE = 24
LISTING_PREFIX = "sora.chatgpt.com/p/"


# -- children, timed, in turns ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Child:
    """One child process: wall seconds, peak RSS (MiB), exit code, output."""

    wall: float
    rss: float
    code: int
    out: str
    err: str
    cdx: int | None = None
    """CDX requests the IA stand-in saw during this run, when counted."""
    replays: int | None = None
    """Replay requests it saw, likewise."""

    def record(self) -> Info:
        lines = self.out.strip().splitlines()
        return dict(json.loads(lines[-1])) if lines and lines[-1].startswith("{") else {}


def run_child(argv: Sequence[str], env: dict[str, str] | None = None, ok: bool = True) -> Child:
    """Run ``argv`` under GNU time (``%M``: a child forked from this big process would report
    at least our RSS, since Linux carries ``ru_maxrss`` across exec)."""
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, env=env, check=False
    )
    wall = time.monotonic() - started
    *err, peak = done.stderr.rstrip("\n").split("\n")
    child = Child(wall, int(peak) / 1024, done.returncode, done.stdout, "\n".join(err))
    if ok and child.code != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({child.code}): {child.err.strip()}")
    return child


@dataclass(frozen=True, slots=True)
class Figures:
    wall: float
    """Median seconds of the whole child."""
    rss: float
    """Largest peak RSS over the runs, MiB."""
    inside: float | None = None
    """Median ``elapsed_seconds`` from ``--json`` (ours: the download alone)."""
    cdx: float | None = None
    replays: float | None = None
    runs: list[Child] = field(default_factory=list)

    @classmethod
    def of(cls, runs: list[Child]) -> Figures:
        insides = [
            float(c.record()["elapsed_seconds"]) for c in runs if "elapsed_seconds" in c.record()
        ]
        return cls(
            statistics.median(c.wall for c in runs),
            max(c.rss for c in runs),
            _median(insides),
            _median([c.cdx for c in runs if c.cdx is not None]),
            _median([c.replays for c in runs if c.replays is not None]),
            runs,
        )


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def interleaved(runs: int, contenders: Mapping[str, Callable[[], Child]]) -> dict[str, Figures]:
    """Each contender once per round, ``runs`` rounds: drift hits all of them alike."""
    results: dict[str, list[Child]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, contender in contenders.items():
            results[name].append(contender())
    return {name: Figures.of(children) for name, children in results.items()}


def cli_env(info: Info, cache: Path) -> dict[str, str]:
    """Loopback only, the local archive named, the index cache in a temp folder."""
    env = loopback_only_env()
    env["SORA_BROWSER_WAYBACK"] = info["prefix"]
    env["SORA_BROWSER_WAYBACK_CDX"] = info["cdx"]
    env["XDG_CACHE_HOME"] = str(cache)
    return env


def archive_args(info: Info) -> list[str]:
    where = ["--wayback", info["prefix"], "--wayback-cdx", info["cdx"]]
    return ["--mode", "archive", *where, "--no-cache"]


def download(argv: Sequence[str], out: Path, env: dict[str, str], sha256: str) -> Child:
    """``sora-browser download`` to ``out`` (removed after), its sha256 checked."""
    out.unlink(missing_ok=True)
    child = run_child([SORA, "download", *argv[:1], str(out), *argv[1:], "--json", "-q"], env)
    out.unlink(missing_ok=True)
    if child.record().get("sha256") != sha256:
        raise SystemExit(f"sha256 mismatch for {argv[0]}: {child.out[:300]}")
    return child


def curl_sync(url: str, out: Path, size: int) -> Child:
    """curl, then ``sync -d`` on the file: the same durability promise as our fsync."""
    out.unlink(missing_ok=True)
    script = 'curl -sSf -o "$1" "$2" && sync -d "$1"'
    child = run_child(["sh", "-c", script, "sh", str(out), url])
    got = out.stat().st_size
    out.unlink(missing_ok=True)
    if got != size:
        raise SystemExit(f"curl fetched {got} bytes of {url}, not {size}")
    return child


# -- reporting ---------------------------------------------------------------------------------


@dataclass
class Report:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, ours: str, reference: str) -> None:
        self.rows.append((what, ours, reference))

    def print(self) -> None:
        print("\n| benchmark | sora-browser | reference (same run) |\n| --- | --- | --- |")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def fig(figures: Figures) -> str:
    return f"{figures.wall:.2f} s, {figures.rss:.1f} MiB peak RSS"


def print_figures(title: str, results: dict[str, Figures]) -> None:
    print(f"\n{title}")
    print(f"  {'':<38} {'wall s':>7} {'(fetch)':>7} {'peak RSS':>9}")
    for name, figures in results.items():
        inside = "-" if figures.inside is None else f"{figures.inside:.2f}"
        print(f"  {name:<38} {figures.wall:>7.2f} {inside:>7} {figures.rss:>7.1f}Mi", flush=True)


# -- 1. a whole video from a pywb --------------------------------------------------------------


def bench_whole(args: argparse.Namespace, work: Path, report: Report) -> None:
    with server(kind="whole", size=args.size_mib * MiB) as running:
        info = running.info
        env, sha, size = cli_env(info, work / "cache"), info["sha256"], info["size"]
        archived = [info["archive_share"], *archive_args(info)]
        static = [info["static_share"], "--mode", "static", "--allow-host", "127.0.0.1"]
        contenders = {
            "ours --mode archive (pywb)": partial(download, archived, work / "a", env, sha),
            "ours --mode static (fixture site)": partial(download, static, work / "s", env, sha),
            "curl -o && sync -d (pywb replay)": partial(
                curl_sync, info["replay"], work / "c", size
            ),
        }
        results = interleaved(args.runs, contenders)
    mine, live, curl = results.values()
    if mine.runs[0].record()["mp4_url"] != info["replay"]:
        raise SystemExit("ours fetched another replay URL than curl did")
    print_figures(f"1. {args.size_mib} MiB archived whole (200) in a pywb", results)
    print(
        f"  archive/static {mine.wall / live.wall:.2f}x, archive/curl+sync "
        f"{mine.wall / curl.wall:.2f}x"
    )
    what = f"`download --mode archive` {args.size_mib} MiB from pywb (whole 200)"
    reference = f"`--mode static` same size {fig(live)}; `curl -o && sync -d` {curl.wall:.2f} s"
    report.add(what, fig(mine), reference)


# -- 2. requests per link ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lookup:
    name: str
    kind: str
    code: int
    cdx: int
    pages: int
    media: int
    wall: float


def lookup(running: Server, name: str, case: list[Any], work: Path, env: dict[str, str]) -> Lookup:
    """Download one scenario case (failing cases too) and count what the archive saw."""
    share, sha, kind = case
    running.ask("reset")
    out = work / "case.mp4"
    child = run_child(
        [SORA, "download", share, str(out), *archive_args(running.info), "--json", "-q"],
        env,
        ok=False,
    )
    out.unlink(missing_ok=True)
    if (child.code == 0) != (sha is not None) or child.record().get("sha256", sha) != sha:
        raise SystemExit(f"case {name}: exit {child.code}, {child.err.strip()}")
    seen = running.requests()
    replays = [path for endpoint, _, _, path in seen if endpoint == "replay"]
    media = sum(1 for path in replays if "videos.openai.com" in path)
    cdx = sum(1 for endpoint, *_ in seen if endpoint == "cdx")
    return Lookup(name, kind, child.code, cdx, len(replays) - media, media, child.wall)


def bench_lookups(args: argparse.Namespace, work: Path, report: Report) -> None:
    with server(kind="scenario") as running:
        env = cli_env(running.info, work / "cache")
        found = [lookup(running, n, c, work, env) for n, c in running.info["cases"].items()]
    print("\n2. requests per link, sora_scenario() through the IA stand-in (one run each)")
    print(
        f"  {'case':<22} {'video':<8} {'exit':>4} {'CDX':>4} {'page rp':>7} {'media rp':>8}"
        f" {'wall s':>7}"
    )
    for row in found:
        print(
            f"  {row.name:<22} {row.kind:<8} {row.code:>4} {row.cdx:>4} {row.pages:>7}"
            f" {row.media:>8} {row.wall:>7.2f}"
        )
    whole = [row for row in found if row.kind == "whole"]
    cdx = sorted(row.cdx for row in whole)
    replay = sorted(row.pages + row.media for row in whole)
    links_a_minute = IA_RATE / statistics.median(cdx)
    report.add(
        f"CDX requests per link, {len(whole)} whole-video scenario cases",
        f"{cdx[0]}-{cdx[-1]} CDX (median {statistics.median(cdx):g}), {replay[0]}-{replay[-1]}"
        " replay",
        f"floor: 1 page + 1 media lookup = 2; at IA's {IA_RATE}/min: {links_a_minute:g} links/min",
    )


# -- 3. listing --------------------------------------------------------------------------------


def counted(running: Server, run: Callable[[], Child]) -> Child:
    running.ask("reset")
    child = run()
    endpoints = [endpoint for endpoint, *_ in running.requests()]
    return replace(child, cdx=endpoints.count("cdx"), replays=endpoints.count("replay"))


def listing(running: Server, env: dict[str, str], rate: str | None) -> Child:
    where = ["--wayback", running.info["prefix"], "--wayback-cdx", running.info["cdx"]]
    argv = [SORA, "wayback", "list", LISTING_PREFIX, *where, "--no-cache", "-q"]
    child = run_child([*argv, *(["--archive-rate", rate] if rate else [])], env)
    listed = child.out.splitlines()
    if len(set(listed)) != running.info["posts"]:
        raise SystemExit(f"wayback list gave {len(set(listed))} links, not {running.info['posts']}")
    return child


def curl_pages(info: Info) -> Child:
    """The pages our listing asks for, fetched by curl one after the other (resume keys)."""
    params = {"url": LISTING_PREFIX, "output": "json", "matchType": "prefix"}
    params |= {"limit": str(IA_PAGE_SIZE), "showResumeKey": "true"}
    key, rows, wall, rss = None, 0, 0.0, 0.0
    while True:
        resume: dict[str, str] = {} if key is None else {"resumeKey": key}
        child = run_child(["curl", "-sSf", f"{info['cdx']}?{urlencode(params | resume)}"])
        table = json.loads(child.out)
        key = table[-1][0] if len(table) > 2 and table[-2] == [] else None
        rows += len(table) - 1 - (2 if key else 0)
        wall, rss = wall + child.wall, max(rss, child.rss)
        if key is None:
            break
    if rows != info["rows"]:
        raise SystemExit(f"curl paged through {rows} rows, not {info['rows']}")
    return Child(wall, rss, 0, "", "")


LISTING_BUDGETS = {
    f"ours --archive-rate {UNTHROTTLED}": (UNTHROTTLED, int(UNTHROTTLED)),
    f"ours, default budget ({OTHER_CDX_PER_MINUTE}/min)": (None, OTHER_CDX_PER_MINUTE),
    f"ours --archive-rate {IA_RATE} (IA's budget)": (str(IA_RATE), IA_RATE),
}
"""Label: (``--archive-rate`` given, the CDX budget a minute it means)."""


def limiter_floor(requests: float, per_minute: int) -> float:
    """Seconds the limiter alone makes ``requests`` CDX requests take: a burst, then spaced."""
    return max(0.0, requests - default_burst(per_minute)) * 60.0 / per_minute


def bench_listing(args: argparse.Namespace, work: Path, report: Report) -> None:
    spec = {"posts": args.posts, "per_post": args.captures_per_post, "max_rows": args.max_rows}
    with server(kind="listing", **spec) as running:
        env = cli_env(running.info, work / "cache")
        contenders = {
            label: partial(counted, running, partial(listing, running, env, rate))
            for label, (rate, _) in LISTING_BUDGETS.items()
        }
        contenders["curl, the same pages in turn"] = partial(
            counted, running, partial(curl_pages, running.info)
        )
        results = interleaved(args.runs, contenders)
    print_listing(args, running.info["rows"], results, report)


def print_listing(
    args: argparse.Namespace, rows: int, results: dict[str, Figures], report: Report
) -> None:
    print(f"\n3. wayback list: {args.posts} posts, {rows} captures, answers cut at {args.max_rows}")
    print(f"  {'':<38} {'wall s':>7} {'posts/s':>8} {'CDX':>4} {'floor s':>7} {'peak RSS':>9}")
    for name, figures in results.items():
        per_minute = LISTING_BUDGETS.get(name, (None, 0))[1]
        floor = f"{limiter_floor(figures.cdx or 0, per_minute):.1f}" if per_minute else "-"
        print(
            f"  {name:<38} {figures.wall:>7.2f} {args.posts / figures.wall:>8.0f}"
            f" {figures.cdx or 0:>4g} {floor:>7} {figures.rss:>7.1f}Mi"
        )
    burst, spacing = default_burst(IA_RATE), 60.0 / IA_RATE
    print(
        f"  (floor: the limiter's minimum; at {IA_RATE}/min pages beyond {burst} add {spacing:g} s"
        " each)"
    )
    fast, default, ia, curl = results.values()
    report.add(
        f"`wayback list`, {args.posts} posts / {rows} captures, {args.max_rows} rows an answer",
        f"{args.posts / fast.wall:.0f} posts/s unthrottled, {args.posts / default.wall:.0f} at the"
        f" default budget, {args.posts / ia.wall:.0f} at {IA_RATE}/min; {fast.cdx:g} CDX",
        f"curl, the same {curl.cdx:g} pages: {curl.wall:.2f} s ({args.posts / curl.wall:.0f}"
        " posts/s)",
    )


# -- 4. a batch within the budget ----------------------------------------------------------------


def busiest(times: Sequence[float], window: float) -> int:
    """The most arrivals in any ``window`` seconds."""
    ordered, best, first = sorted(times), 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


@dataclass(frozen=True, slots=True)
class BatchRun:
    child: Child
    cdx_times: list[float]


def batch(running: Server, rate: str, jobs: int, out: Path, env: dict[str, str]) -> BatchRun:
    links: dict[str, str] = running.info["links"]
    shutil.rmtree(out, ignore_errors=True)
    running.ask("reset")
    options = ["-o", str(out), "--jobs", str(jobs), "--archive-rate", rate, "--json", "-q"]
    argv = [SORA, "batch", *links, *options, *archive_args(running.info)]
    child = run_child(argv, env)
    shutil.rmtree(out, ignore_errors=True)
    records = [json.loads(line) for line in child.out.splitlines()]
    if {r["share_url"]: r.get("sha256") for r in records} != links:
        raise SystemExit("the batch did not download every link intact")
    times = [at for endpoint, at, *_ in running.requests() if endpoint == "cdx"]
    return BatchRun(replace(child, cdx=len(times)), times)


def bench_batch(args: argparse.Namespace, work: Path, report: Report) -> None:
    with server(kind="batch", links=args.links, size=args.batch_size) as running:
        env = cli_env(running.info, work / "cache")
        runs: dict[str, list[BatchRun]] = {"limited": [], "unthrottled": []}
        for _ in range(args.batch_runs):
            for name, rate in (("limited", str(args.batch_rate)), ("unthrottled", UNTHROTTLED)):
                runs[name].append(batch(running, rate, args.jobs, work / "batch", env))
    print_batch(args, runs, report)


def print_batch(args: argparse.Namespace, runs: dict[str, list[BatchRun]], report: Report) -> None:
    limited, free = (Figures.of([r.child for r in runs[k]]) for k in ("limited", "unthrottled"))
    rate, burst = args.batch_rate, default_burst(args.batch_rate)
    minute = max(busiest(r.cdx_times, 60.0) for r in runs["limited"])
    ten = max(busiest(r.cdx_times, 10.0) for r in runs["limited"])
    cdx = limited.cdx or 0
    floor = limiter_floor(cdx, rate)
    print(
        f"\n4. batch of {args.links} links ({args.batch_size / MiB:.1f} MiB each), --jobs "
        f"{args.jobs}, IA stand-in; {args.batch_runs} run(s)"
    )
    print(
        f"  --archive-rate {rate}: {limited.wall:.2f} s, {args.links / limited.wall:.2f} links/s,"
        f" {cdx:g} CDX, peak RSS {limited.rss:.1f} MiB"
    )
    print(
        f"  busiest 60 s: {minute} CDX (allowed {rate}); busiest 10 s: {ten} CDX (allowed "
        f"{burst} + {rate}/6 = {burst + rate // 6}); limiter floor {floor:.1f} s"
    )
    print(
        f"  --archive-rate {UNTHROTTLED}: {free.wall:.2f} s, {args.links / free.wall:.2f} "
        f"links/s, {free.cdx or 0:g} CDX"
    )
    report.add(
        f"`batch` {args.links} links, `--jobs {args.jobs} --archive-rate {rate}`",
        f"{limited.wall:.1f} s, {args.links / limited.wall:.2f} links/s; CDX {cdx:g}, busiest"
        f" 60 s {minute}/{rate}, busiest 10 s {ten}/{burst + rate // 6}",
        f"limiter floor {floor:.1f} s; unthrottled {free.wall:.2f} s"
        f" ({args.links / free.wall:.1f} links/s)",
    )


# -- 5. a big video in pieces ------------------------------------------------------------------


def curl_pieces(urls: Sequence[str], out: Path, size: int) -> Child:
    """curl, every piece replay in turn on one connection into one file, then ``sync -d``:
    the bytes the assembler fetches, at the stand-in's own pace."""
    out.unlink(missing_ok=True)
    script = 'out=$1; shift; curl -sSf "$@" > "$out" && sync -d "$out"'
    child = run_child(["sh", "-c", script, "sh", str(out), *urls])
    got = out.stat().st_size
    out.unlink(missing_ok=True)
    if got != size:
        raise SystemExit(f"curl fetched {got} bytes of the pieces, not {size}")
    return child


def big_contenders(
    args: argparse.Namespace, running: Server, work: Path
) -> Mapping[str, Callable[[], Child]]:
    info, env = running.info, cli_env(running.info, work / "cache")
    sha, size, more = info["sha256"], info["size"], archive_args(info)
    pieces, whole, small = (
        [info[key], *more] for key in ("pieces_share", "whole_share", "small_share")
    )
    ours = {
        f"ours, {args.pieces} pieces (206s)": partial(download, pieces, work / "p", env, sha),
        "ours, archived whole (200)": partial(download, whole, work / "w", env, sha),
    }
    contenders = {name: partial(counted, running, run) for name, run in ours.items()}
    return contenders | {
        "curl -o && sync -d (whole replay)": partial(curl_sync, info["replay"], work / "c", size),
        f"curl, the {args.pieces} piece replays + sync": partial(
            curl_pieces, info["piece_replays"], work / "c", info["pieces_bytes"]
        ),
        f"ours, {args.small_mib} MiB in {args.pieces} pieces": partial(
            download, small, work / "s", env, info["small_sha256"]
        ),
    }


def bench_big(args: argparse.Namespace, work: Path, report: Report) -> None:
    spec = {"size": args.big_mib * MiB, "pieces": args.pieces, "small": args.small_mib * MiB}
    with server(kind="big", **spec) as running:
        results = interleaved(args.runs, big_contenders(args, running, work))
    joined, single, curl, curl_parts, small = results.values()
    print_figures(f"5. {args.big_mib} MiB from the IA stand-in", results)
    used = {name: f.runs[0].record().get("connections") for name, f in results.items() if f.inside}
    print(f"  connections: {used}")
    print(
        f"  replay requests: pieces {joined.replays:g}, whole {single.replays:g};"
        f" pieces/whole {joined.wall / single.wall:.2f}x, pieces/curl of the pieces"
        f" {joined.wall / curl_parts.wall:.2f}x; peak RSS {args.big_mib} vs {args.small_mib} MiB"
        f" in pieces: +{joined.rss - small.rss:.1f} MiB"
    )
    report.add(
        f"`download --mode archive` {args.big_mib} MiB in {args.pieces} pieces (IA stand-in)",
        f"{fig(joined)} ({args.small_mib} MiB in {args.pieces} pieces: {small.rss:.1f} MiB)",
        f"archived whole {fig(single)}; `curl -o && sync -d` whole {curl.wall:.2f} s,"
        f" the {args.pieces} pieces {curl_parts.wall:.2f} s",
    )


# -- main --------------------------------------------------------------------------------------

PARTS: dict[str, Callable[[argparse.Namespace, Path, Report], None]] = {
    "1": bench_whole,
    "2": bench_lookups,
    "3": bench_listing,
    "4": bench_batch,
    "5": bench_big,
}


def compile_package() -> None:
    """Byte-compile sora_browser as a wheel install would: an editable install under
    ``PYTHONDONTWRITEBYTECODE=1`` (set on the development VM) otherwise compiles every module
    at each start, about 0.5 s per child that no user pays."""
    package = Path(sora_browser.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--runs", type=int, default=3, help="interleaved runs per figure (parts 1, 3, 5)")
    add("--parts", default="1,2,3,4,5", help="which parts, comma-separated")
    add("--size-mib", type=int, default=32, help="part 1: the video archived whole")
    add("--posts", type=int, default=1500, help="part 3: posts listed")
    add("--captures-per-post", type=int, default=2)
    add("--max-rows", type=int, default=1000, help="part 3: rows per CDX answer at most")
    add("--links", type=int, default=50, help="part 4: links in the batch")
    add("--batch-size", type=int, default=2 * MiB + 12345, help="part 4: bytes per video")
    add("--jobs", type=int, default=8)
    add("--batch-rate", type=int, default=120, help="part 4: --archive-rate (CDX a minute)")
    add("--batch-runs", type=int, default=1, help="part 4: runs (one takes about a minute)")
    add("--big-mib", type=int, default=256, help="part 5: the video in pieces")
    add("--pieces", type=int, default=16)
    add("--small-mib", type=int, default=32, help="part 5: the same pieces, a small video")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    compile_package()
    work = Path(tempfile.mkdtemp(prefix="bench_archive_"))
    report, started, load = Report(), time.monotonic(), os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs at the start", flush=True)
    try:
        for part in args.parts.split(","):
            PARTS[part.strip()](args, work, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.print()
    took, load = time.monotonic() - started, os.getloadavg()[0]
    print(f"\nbench_archive took {took:.0f} s; load average {load:.2f} at the end")


if __name__ == "__main__":
    main()
