"""Browser resolution of the JS-driven fixture pages, each figure beside a bare-Playwright floor.

    .venv/bin/python benchmarks/bench_browser.py [--runs 5] [--pages js_post_fetch,js_click]

- cold: a new process per resolution, ``sora-browser resolve URL --mode browser --json``
  (launch included), against the floor: a dozen-line Playwright script (``FLOOR``) that
  launches the same Chromium, loads the same page and reads ``video.currentSrc``.
- warm: one browser reused in this process, a fresh context per page, against the same
  floor done warm (new context, goto, wait for ``currentSrc``, close).
- memory: peak PSS (``/proc/<pid>/smaps_rollup``) summed over the Chromium processes, sampled
  every 20 ms during two extra cold runs of each; the timed runs are not sampled, since the
  sampler's CPU would slow what it measures on a 2-core machine.
Medians of ``--runs``. Targets: cold <= 1.15x floor and < 1.5 s, warm < 0.3 s, click-to-play
< 2 s cold. The fixture site runs in its own process on loopback, so serving pages does not
compete with this process's bookkeeping.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from playwright.async_api import Browser

from sora_browser.errors import NoVideoFound
from sora_browser.options import ResolveOptions
from sora_browser.resolvers.browser import BrowserResolver
from sora_browser.resolvers.browser.launch import LAUNCHER, find_chromium
from sora_browser.testing.dynamic import CHALLENGE_ID
from sora_browser.urls import UrlPolicy, parse_share_url

VENV_BIN = Path(sys.executable).parent
PAGES = ("js_post_fetch", "js_blob", "js_click", "challenge", "js_no_video")
NO_FLOOR = {"js_no_video"}  # the floor would wait forever for a video that never comes
CLICK_PAGES = {"js_click"}
MEMORY_RUNS = 2
MiB = 2**20
WAIT_SRC = "() => document.querySelector('video')?.currentSrc"

# The floor: what anyone would write by hand, with the launch flags this machine needs.
FLOOR = """
import asyncio, sys
from playwright.async_api import async_playwright
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
async def main(exe, url, click):
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=exe, args=ARGS)
        page = await browser.new_page()
        await page.goto(url)
        if click:
            await page.click("button[aria-label*='play' i]")
        await page.wait_for_function(WAIT_SRC)
        print(await page.evaluate(WAIT_SRC))
        await browser.close()
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "1"))
""".replace("WAIT_SRC", repr(WAIT_SRC))


def pss_of_tree(root: int) -> int:
    """Sum of PSS over ``root``'s Chromium descendants, in bytes (0 when none yet)."""
    total = 0
    try:
        children = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for child in children:
        try:
            if "chrom" not in child.name():
                continue
            text = Path(f"/proc/{child.pid}/smaps_rollup").read_text()
        except (psutil.NoSuchProcess, OSError):
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return total


async def sample_peak(pid: int, stop: asyncio.Event) -> int:
    peak = 0
    while not stop.is_set():
        peak = max(peak, await asyncio.to_thread(pss_of_tree, pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.02)
    return peak


async def run_cold(argv: list[str], *, sample_memory: bool = False) -> Sample:
    """Wall time, CPU time (whole process tree) and, when asked, peak Chromium PSS of one
    fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_peak(proc.pid, stop)) if sample_memory else None
    out, err = await proc.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    text = (out or err).decode().strip().splitlines() or [""]
    peak = await sampler if sampler is not None else 0
    return Sample(elapsed, cpu, peak, text[-1][:400])


def ours_argv(url: str) -> list[str]:
    return [str(VENV_BIN / "sora-browser"), "resolve", url, "--mode", "browser",
            "--allow-host", "127.0.0.1", "--json", "-q"]  # fmt: skip


def floor_argv(exe: Path, url: str, click: bool) -> list[str]:
    return [sys.executable, "-c", FLOOR, str(exe), url, "1" if click else "0"]


@dataclass
class Sample:
    seconds: float
    cpu: float = 0.0
    peak: int = 0
    output: str = ""


@dataclass
class Row:
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    peaks: list[int] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max(self.peaks, default=0)


Once = Callable[[], Awaitable[Sample]]


async def interleaved(runs: int, ours: Once, floor: Once | None) -> tuple[Row, Row | None]:
    """Alternate ours and the floor so both see the same background load."""
    mine, theirs = Row(), (Row() if floor else None)
    for _ in range(runs):
        mine.samples.append(await ours())
        if floor is not None and theirs is not None:
            theirs.samples.append(await floor())
    return mine, theirs


def warm_ours(url: str, resolver: BrowserResolver) -> Once:
    link = parse_share_url(url, policy=UrlPolicy(resolver.options.allow_hosts))

    async def once() -> Sample:
        started = time.perf_counter()
        try:
            outcome = (await resolver.resolve(link)).mp4_url
        except NoVideoFound as exc:  # the no-video page must end this way, and quickly
            outcome = type(exc).__name__
        return Sample(time.perf_counter() - started, output=outcome[:100])

    return once


def warm_floor(url: str, name: str, browser: Browser) -> Once:
    async def once() -> Sample:
        started = time.perf_counter()
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(url)
        if name in CLICK_PAGES:
            await page.click("button[aria-label*='play' i]")
        await page.wait_for_function(WAIT_SRC)
        src = await page.evaluate(WAIT_SRC)
        await context.close()
        return Sample(time.perf_counter() - started, output=str(src)[:100])

    return once


def line(name: str, kind: str, ours: Row, floor: Row | None) -> str:
    def num(value: float | None, width: int, fmt: str) -> str:
        return format(value, fmt).rjust(width) if value else "-".rjust(width)

    return " ".join((
        f"{name:14} {kind:5}",
        num(ours.seconds, 7, ".3f"),
        num(floor.seconds if floor else None, 7, ".3f"),
        num(ours.seconds / floor.seconds if floor else None, 6, ".2f"),
        num(ours.cpu, 6, ".2f"),
        num(floor.cpu if floor else None, 6, ".2f"),
        num(ours.peak / MiB, 7, ".0f"),
        num(floor.peak / MiB if floor else None, 7, ".0f"),
    ))  # fmt: skip


HEADER = (
    f"{'page':14} {'kind':5} {'ours_s':>7} {'floor_s':>7} {'ratio':>6} {'cpu_s':>6} "
    f"{'fcpu_s':>6} {'PSS_MiB':>7} {'fPSS':>7}"
)


async def bench(pages: list[str], runs: int) -> None:
    exe = find_chromium(None, None)
    options = ResolveOptions(mode="browser", allow_hosts=frozenset({"127.0.0.1"}))
    async with site_process() as urls:
        print(f"Chromium {exe}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; "
              f"median of {runs}")  # fmt: skip
        print(HEADER)
        for name in pages:
            await bench_page(name, urls[name], runs, exe, options)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


@contextlib.asynccontextmanager
async def site_process() -> AsyncIterator[dict[str, str]]:
    """The fixture site in a child process; yields page name -> URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sora_browser.testing.site", "--port", "0",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    try:
        base = (await proc.stdout.readline()).decode().split()[-1]
        while (text := (await proc.stdout.readline()).decode().strip()) != "ready":
            name, url = text.split(": ", 1)
            urls[name] = url
        urls["challenge"] = f"{base}/p/{CHALLENGE_ID}"  # served by the site's dynamic routes
        yield urls
    finally:
        proc.terminate()
        await proc.wait()


async def bench_page(name: str, url: str, runs: int, exe: Path, options: ResolveOptions) -> None:
    click = name in CLICK_PAGES
    ours, floor = await interleaved(
        runs,
        lambda: run_cold(ours_argv(url)),
        None if name in NO_FLOOR else lambda: run_cold(floor_argv(exe, url, click)),
    )
    for _ in range(MEMORY_RUNS):
        ours.peaks.append((await run_cold(ours_argv(url), sample_memory=True)).peak)
        if floor is not None:
            sampled = await run_cold(floor_argv(exe, url, click), sample_memory=True)
            floor.peaks.append(sampled.peak)
    print(line(name, "cold", ours, floor), flush=True)
    _check(name, ours)
    browser = await LAUNCHER.acquire()
    resolver = BrowserResolver(options)
    try:
        mine, bare = warm_ours(url, resolver), warm_floor(url, name, browser)
        await mine()  # first use of this page in this browser: not measured
        ours, floor = await interleaved(runs, mine, None if name in NO_FLOOR else bare)
    finally:
        await resolver.aclose()
        await LAUNCHER.release()
    print(line(name, "warm", ours, floor), flush=True)


def _check(name: str, row: Row) -> None:
    output = row.samples[-1].output
    if name not in NO_FLOOR and "mp4_url" not in output:
        print(f"  ! {name}: unexpected output {output!r}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", default=",".join(PAGES))
    args = parser.parse_args()
    # The floor's browser drops media fetches mid-body; the site logs each one. Not news here.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    asyncio.run(bench(args.pages.split(","), args.runs))


if __name__ == "__main__":
    main()
