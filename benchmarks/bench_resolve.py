"""Static resolution: ``sora-browser resolve --mode static`` against ``yt-dlp -g``.

Both run as fresh processes on the same fixture page over loopback, alternating, so each pair
sees the same machine noise. Target (foundation issue): our median at most 0.4x yt-dlp's.
Run: ``.venv/bin/python benchmarks/bench_resolve.py [--pairs N] [--page STEM]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def start_site() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The fixture site in its own process, so its CPU is not counted as ours."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sora_browser.testing.site", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    pages: dict[str, str] = {}
    first = proc.stdout.readline()
    if "fixture site on" not in first:
        raise RuntimeError(f"fixture site did not start: {first!r}")
    for line in proc.stdout:
        if not line.startswith("  "):
            break  # the site prints "ready" after its list of pages
        name, url = line.strip().split(": ", 1)
        pages[name] = url
    return proc, pages


def timed(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return elapsed, done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--page", default="og_video_sora1")
    args = parser.parse_args()
    ytdlp = shutil.which("yt-dlp", path=str(BIN)) or shutil.which("yt-dlp")
    if ytdlp is None:
        print("yt-dlp not installed (pip install yt-dlp)", file=sys.stderr)
        return 1
    site, pages = start_site()
    try:
        url = pages[args.page]
        ours_cmd = [
            str(BIN / "sora-browser"),
            "resolve",
            url,
            "--mode",
            "static",
            "--allow-host",
            "127.0.0.1",
        ]
        theirs_cmd = [ytdlp, "-g", "--force-generic-extractor", "--no-cache-dir", url]
        ours, theirs = [], []
        for _ in range(args.pairs):
            t_ours, out_ours = timed(ours_cmd)
            t_theirs, out_theirs = timed(theirs_cmd)
            ours.append(t_ours)
            theirs.append(t_theirs)
        same = out_ours.split("?")[0] == out_theirs.splitlines()[-1].split("?")[0]
        m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
        print(f"static resolve of '{args.page}' ({args.pairs} pairs, fresh processes)")
        print(
            f"  sora-browser resolve : median {m_ours * 1000:7.1f} ms  (min {min(ours) * 1000:.1f})"
        )
        low = min(theirs) * 1000
        print(f"  yt-dlp -g (generic)  : median {m_theirs * 1000:7.1f} ms  (min {low:.1f})")
        print(f"  ratio ours/yt-dlp    : {m_ours / m_theirs:.2f}  (target <= 0.40)")
        print(f"  same video URL       : {same}")
    finally:
        site.terminate()
        site.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
