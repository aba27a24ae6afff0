"""``make demo``: the main job, end to end, against the built-in fixture site.

Starts the fixture site on loopback (this machine has no internet), then runs the real
``sora-browser`` command on a few share links the way a user would: a page static parsing
understands, a page that only a browser can resolve (auto mode falls back to Chromium), and a
``resolve --json``. Each downloaded file is checked against the bytes the CDN holds. Exits
non-zero if anything did not work, so CI can run it too.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .pages import share_url
from .site import FixtureSite

# (fixture page stem, extra CLI arguments, what it shows)
DEMO_LINKS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("variants_wrong_first", (), "Sora 2 post: escaped post JSON, best of five variants picked"),
    ("sora1_gen", (), "Sora 1 /g/ page with a vg-assets src.mp4"),
    ("js_post_fetch", (), "rendered by JavaScript: auto mode falls back to Chromium"),
)


def _start_site() -> tuple[FixtureSite, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    site = FixtureSite()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(site.start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True, name="fixture-site").start()
    if not ready.wait(30):
        raise RuntimeError("fixture site did not start")
    return site, loop


def _command() -> list[str]:
    found = shutil.which("sora-browser", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "sora_browser"]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    print("$ sora-browser " + " ".join(args), flush=True)
    done = subprocess.run(_command() + args, text=True, capture_output=True, check=False)
    for line in (done.stdout + done.stderr).splitlines():
        print("  " + line)
    return done


def _expected_sha256(site: FixtureSite, name: str) -> str:
    from .media import video_bytes

    return hashlib.sha256(video_bytes(site.videos[name])).hexdigest()


def main() -> int:
    site, loop = _start_site()
    print(f"fixture site (stands in for sora.chatgpt.com and its CDN): {site.url}\n")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="sora-demo-") as out:
        for stem, extra, what in DEMO_LINKS:
            print(f"# {what}")
            target = Path(out) / f"{stem}.mp4"
            url = share_url(site, stem)
            done = _run(["download", url, str(target), "--allow-host", "127.0.0.1", *extra])
            if done.returncode != 0 or not target.is_file():
                failures += 1
                print(f"  FAILED (exit {done.returncode})\n")
                continue
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            matches = [n for n in site.videos if _expected_sha256(site, n) == digest]
            print(
                f"  verified: sha256 {digest[:16]}... is the CDN's '{matches[0]}' video\n"
                if matches
                else "  FAILED: file does not match any CDN video\n"
            )
            failures += 0 if matches else 1
        print("# resolve only, as JSON")
        first = share_url(site, DEMO_LINKS[0][0])
        failures += _run(["resolve", first, "--json", "--allow-host", "127.0.0.1"]).returncode != 0
    asyncio.run_coroutine_threadsafe(site.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    print("demo ok" if not failures else f"demo: {failures} step(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
