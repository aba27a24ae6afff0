"""``yt-dlp -g`` through the sora-browser plugin against ``sora-browser resolve``.

Both run as fresh processes on the same fixture page over loopback, alternating, so each pair
sees the same machine noise, and both must name the same file (the signature differs: the
fixture CDN signs every page view anew). yt-dlp gets the checkout on ``PYTHONPATH`` so its
plugin finder sees ``yt_dlp_plugins/`` whatever the install mode (an editable install's import
hook is invisible to it). Run: ``.venv/bin/python benchmarks/bench_ytdlp.py [--pairs N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from bench_resolve import BIN, start_site, timed

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--page", default="next_flight")
    args = parser.parse_args()
    ytdlp = shutil.which("yt-dlp", path=str(BIN))
    if ytdlp is None:
        print("yt-dlp not installed (pip install 'sora-browser[yt-dlp]')", file=sys.stderr)
        return 1
    site, pages = start_site()
    with tempfile.TemporaryDirectory() as empty:
        # No settings file, no yt-dlp config, no cache from an earlier run for either side.
        os.environ.update(XDG_CONFIG_HOME=empty, XDG_CACHE_HOME=empty)
        os.environ["SORA_BROWSER_ALLOW_HOSTS"] = "127.0.0.1"
        try:
            return _compare(ytdlp, pages[args.page], args.page, args.pairs)
        finally:
            site.terminate()
            site.wait()


def _compare(ytdlp: str, url: str, page: str, pairs: int) -> int:
    plugin = ["env", f"PYTHONPATH={REPO}", ytdlp, "-g", "--ignore-config", "--no-cache-dir", url]
    ours_cmd = [str(BIN / "sora-browser"), "resolve", url]
    ours, theirs = [], []
    for _ in range(pairs):
        t_ours, out_ours = timed(ours_cmd)
        t_theirs, out_theirs = timed(plugin)
        ours.append(t_ours)
        theirs.append(t_theirs)
    same = urlsplit(out_ours).path == urlsplit(out_theirs.splitlines()[-1]).path
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"resolve of '{page}' ({pairs} pairs, fresh processes, medians)")
    print(f"  sora-browser resolve      {m_ours:.3f} s")
    print(f"  yt-dlp -g (the plugin)    {m_theirs:.3f} s  ({m_theirs / m_ours:.2f}x)")
    print(f"  same file: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
