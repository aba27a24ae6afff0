"""``make demo``: the main job, end to end, against the built-in fixture site and archive.

Sora itself was switched off in 2026, so most links now resolve from an archive. This starts,
on loopback only (the demo needs no internet and never reaches it), a real pywb holding a
WARC of archived Sora pages and videos, and the fixture site standing in for share pages that
still answer. Then it runs the real ``sora-browser`` command the way a user would: a link to
sora.chatgpt.com recovered from the archive (the live site cannot be reached, so ``auto``
turns to the archive), a live page static parsing understands, a page only a browser can
resolve (auto mode falls back to Chromium), a file named from the page's metadata with its
info JSON (and a rerun that skips it), and a ``resolve --json``. Every command runs with
the loopback-only guard and the local archive named in its environment. Each file is checked
against the bytes the archive or the CDN holds. Exits non-zero if anything did not work, so CI
runs it too.
"""

from __future__ import annotations

import asyncio
import hashlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .pages import share_url
from .site import FixtureSite

ARCHIVE_CASE = "newest_challenge"
"""A Sora 2 post archived three times, the newest capture a bot challenge: an older page is
read, and its video comes back from a capture made on another visit."""

# (fixture page stem, extra CLI arguments, what it shows)
DEMO_LINKS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("variants_wrong_first", (), "Sora 2 post: escaped post JSON, best of five variants picked"),
    ("sora1_gen", (), "Sora 1 /g/ page with a vg-assets src.mp4"),
    ("js_post_fetch", (), "rendered by JavaScript: auto mode falls back to Chromium"),
)


class _Servers:
    """The fixture site and a pywb archive, served from a loop in a background thread."""

    def __init__(self, folder: Path) -> None:
        from .captures import write_warc
        from .pywb import PywbArchive
        from .scenario import sora_scenario

        self.scenario = sora_scenario()
        warc = write_warc(folder / "sora.warc.gz", self.scenario.captures)
        self.site = FixtureSite()
        self.archive = PywbArchive([warc])
        self.loop = asyncio.new_event_loop()

    def start(self) -> None:
        ready = threading.Event()
        failed: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self.site.start())
                self.loop.run_until_complete(self.archive.__aenter__())
            except Exception as exc:  # reported by start(), in the main thread
                failed.append(exc)
                return
            finally:
                ready.set()
            self.loop.run_forever()

        threading.Thread(target=serve, daemon=True, name="demo-servers").start()
        if not ready.wait(90) or failed:
            raise RuntimeError(f"the fixture site or the archive did not start: {failed}")

    def stop(self) -> None:
        async def stop() -> None:
            await self.archive.__aexit__(None, None, None)
            await self.site.stop()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def env(self) -> dict[str, str]:
        """What every command runs with: loopback only, the local archive, a fresh cache."""
        from .pywb import loopback_only_env

        env = loopback_only_env()
        env["SORA_BROWSER_WAYBACK"] = self.archive.prefix
        env["SORA_BROWSER_WAYBACK_CDX"] = self.archive.cdx_url
        env["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="sora-demo-cache-")
        return env


def _command() -> list[str]:
    found = shutil.which("sora-browser", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "sora_browser"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    print("$ sora-browser " + shlex.join(args), flush=True)
    done = subprocess.run(_command() + args, text=True, capture_output=True, check=False, env=env)
    for line in (done.stdout + done.stderr).splitlines():
        print("  " + line)
    return done


def _expected_sha256(site: FixtureSite, name: str) -> str:
    from .media import video_bytes

    return hashlib.sha256(video_bytes(site.videos[name])).hexdigest()


def _check(target: Path, expected: dict[str, str], done: subprocess.CompletedProcess[str]) -> int:
    """0 when the command worked and the file is one of the expected videos, else 1."""
    if done.returncode != 0 or not target.is_file():
        print(f"  FAILED (exit {done.returncode})\n")
        return 1
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest not in expected:
        print("  FAILED: the file matches no video the archive or the CDN holds\n")
        return 1
    print(f"  verified: sha256 {digest[:16]}... is {expected[digest]}\n")
    return 0


def _archive_step(servers: _Servers, out: Path, env: dict[str, str]) -> int:
    case = servers.scenario.case(ARCHIVE_CASE)
    print("# Sora is switched off: a sora.chatgpt.com link recovered from the archive")
    target = out / "recovered.mp4"
    done = _run(["download", case.share_url, str(target), "--retries", "0"], env)
    return _check(target, {str(case.sha256): "the archived video"}, done)


def _live_steps(site: FixtureSite, out: Path, env: dict[str, str]) -> int:
    expected = {_expected_sha256(site, n): f"the CDN's '{n}' video" for n in site.videos}
    failures = 0
    for stem, extra, what in DEMO_LINKS:
        print(f"# {what}")
        target = out / f"{stem}.mp4"
        url = share_url(site, stem)
        done = _run(["download", url, str(target), "--allow-host", "127.0.0.1", *extra], env)
        failures += _check(target, expected, done)
    failures += _named_step(site, out, env, expected)
    print("# resolve only, as JSON")
    first = share_url(site, DEMO_LINKS[0][0])
    failures += _run(["resolve", first, "--json", "--allow-host", "127.0.0.1"], env).returncode != 0
    return failures


def _named_step(site: FixtureSite, out: Path, env: dict[str, str], expected: dict[str, str]) -> int:
    """A name from the page's metadata, its info JSON, and a rerun that fetches nothing."""
    print("# named from the page (--template), described (--write-info-json), then skipped")
    folder = out / "named"
    args = ["download", share_url(site, "app_context"), f"{folder}/", "--allow-host", "127.0.0.1"]
    named = [*args, "--template", "{username}/{date} {title}.{ext}", "--write-info-json"]
    done = _run(named, env)
    target = Path(done.stdout.strip() or folder)
    failures = _check(target, expected, done)
    if not target.with_name(target.stem + ".info.json").is_file():
        print("  FAILED: no info JSON beside the video\n")
        failures += 1
    again = _run(named, env)
    if again.returncode != 0 or "already downloaded" not in again.stderr:
        print("  FAILED: the rerun did not skip the video\n")
        failures += 1
    print()
    return failures


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sora-demo-") as out:
        servers = _Servers(Path(out))
        servers.start()
        print(f"archive (pywb, a WARC of archived Sora pages and videos): {servers.archive.prefix}")
        print(f"live fixture site (share pages that still answer, and a CDN): {servers.site.url}\n")
        try:
            env = servers.env()
            failures = _archive_step(servers, Path(out), env)
            failures += _live_steps(servers.site, Path(out), env)
        finally:
            servers.stop()
    print("demo ok" if not failures else f"demo: {failures} step(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
