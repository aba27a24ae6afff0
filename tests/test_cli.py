"""The installed ``sora-browser`` command, run as a subprocess against the fixture site.

The site runs in this test process's event loop, so the command is started with asyncio's
subprocess API (a blocking ``subprocess.run`` would stop the server from answering).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from sora_browser.testing.cdn import Fault
from sora_browser.testing.media import sha256_of
from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite

SORA = str(Path(sys.executable).parent / "sora-browser")
ALLOW = ("--allow-host", "127.0.0.1")

# Fixture pages (testing/pages/<stem>.html) and the CDN video each one's best link points at.
GOOD_PAGE, GOOD_VIDEO = "variants_wrong_first", "source"
SORA1_PAGE, SORA1_VIDEO = "sora1_gen", "sora1"
GONE_PAGE = "gone"
LOGIN_PAGE = "login_wall"
CHALLENGE_PAGE = "challenge"
JS_ONLY_PAGE = "js_only"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


# A proxy in the test runner's environment would carry the CLI's loopback traffic elsewhere.
PROXY_ENV = frozenset({"https_proxy", "http_proxy", "all_proxy", "no_proxy"})


async def sora(*args: str, env: dict[str, str] | None = None, limit: float = 120) -> Run:
    base = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_ENV}
    proc = await asyncio.create_subprocess_exec(
        SORA,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**base, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), limit)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _progress_kept(part: Path) -> int:
    """What a ``.part`` holds: its length, or once split among connections (the first
    request here is slow, the next ones are not) the pieces' progress in its state file."""
    from sora_browser.download.partfile import PartFile

    state = PartFile(part.with_name(part.name.removesuffix(".part"))).saved_state()
    if state is not None and state.pieces is not None:
        return sum(piece.pos - piece.start for piece in state.pieces)
    return part.stat().st_size


def assert_one_clean_line(run: Run) -> None:
    """Errors end in one clear line on stderr: no traceback without -v."""
    assert "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) == 1, run.err


async def test_version_and_help_are_cheap() -> None:
    run = await sora("--version")
    assert run.code == 0
    assert "sora-browser" in run.out
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['sora-browser', 'download', '--help']\n"
        "try:\n    runpy.run_module('sora_browser', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('playwright', 'temporalio', 'aiohttp') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert "--connections" in out.decode()
    assert "HEAVY []" in out.decode()


async def test_a_cdn_link_is_for_the_archive_only(tmp_path: Path) -> None:
    # The live modes cannot refresh a bare CDN link's signature: say what to pass instead.
    cdn = "https://videos.openai.com/az/files/f5991219-bd4e-527b-8a70-d9ab89670055%2Fraw?se=x"
    run = await sora("download", cdn, str(tmp_path / "v.mp4"), "--mode", "static")
    assert run.code == 2
    assert "pass the share link" in run.err


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "Not a Sora share link"),
        ("ftp://sora.chatgpt.com/p/s_0123456789abcdef0123456789abcdef", "http"),
        ("https://example.com/p/s_0123456789abcdef0123456789abcdef", "example.com"),
        ("https://videos.openai.com/az/files/0%2Fraw?se=x&sig=y", "Not a Sora video URL"),
        ("https://sora.chatgpt.com/explore", "Unsupported Sora URL"),
        ("https://sora.chatgpt.com/p/", "Unsupported Sora URL"),
    ],
)
async def test_bad_links_exit_2_before_any_request(url: str, fragment: str, tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    run = await sora("download", url, str(out))
    assert run.code == 2
    assert fragment in run.err
    assert_one_clean_line(run)
    assert run.out == ""
    assert not out.exists()


@pytest.mark.parametrize("command", ["download", "resolve"])
async def test_bad_link_in_browser_mode_exits_2_before_any_browser(
    command: str, tmp_path: Path
) -> None:
    # A "browser" that leaves a mark when started: a bad link must not start it.
    marker = tmp_path / "started"
    chromium = tmp_path / "chromium"
    chromium.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    chromium.chmod(0o755)
    run = await sora(
        command, "--browser", "--chromium", str(chromium), "https://sora.chatgpt.com/explore"
    )
    assert (run.code, run.out) == (2, "")
    assert "Unsupported Sora URL" in run.err
    assert_one_clean_line(run)
    assert not marker.exists()


async def test_loopback_share_host_is_refused_unless_allowed(site: FixtureSite) -> None:
    run = await sora("resolve", share_url(site, GOOD_PAGE))
    assert run.code == 2
    assert "--allow-host" in run.err
    assert site.stats.requests == []


async def test_download_static_page(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), *ALLOW)
    assert run.code == 0, run.err
    assert run.out.strip() == str(out)
    assert "✓ Download complete: " + str(out) in run.err
    assert "Size: " in run.err
    assert " MB" in run.err
    assert sha256_file(out) == sha256_of(site.videos[GOOD_VIDEO])
    assert not out.with_name(out.name + ".part").exists()


async def test_download_json_and_folder_output(site: FixtureSite, tmp_path: Path) -> None:
    url = share_url(site, SORA1_PAGE)
    run = await sora("download", url, str(tmp_path), "--json", "-q", *ALLOW)
    assert run.code == 0, run.err
    assert run.err == ""
    (record,) = run.json_lines()
    share_id = url.rsplit("/", 1)[-1]
    target = tmp_path / f"{share_id}.mp4"
    assert record["local_path"] == str(target)
    assert record["share_url"] == url
    assert record["resolver"] == "static"
    assert record["file_size_bytes"] == site.videos[SORA1_VIDEO].size == target.stat().st_size
    assert record["sha256"] == sha256_of(site.videos[SORA1_VIDEO]) == sha256_file(target)
    assert str(record["mp4_url"]).startswith(site.url + "/vg-assets/")


async def test_output_with_a_trailing_slash_is_a_folder_made_on_demand(
    site: FixtureSite, tmp_path: Path
) -> None:
    url = share_url(site, SORA1_PAGE)
    folder = tmp_path / "new" / "videos"
    run = await sora("download", url, f"{folder}/", *ALLOW)
    assert run.code == 0, run.err
    target = folder / (url.rsplit("/", 1)[-1] + ".mp4")
    assert run.out.strip() == str(target)
    assert sha256_file(target) == sha256_of(site.videos[SORA1_VIDEO])


async def test_default_output_is_temp_sora_videos(site: FixtureSite, tmp_path: Path) -> None:
    url = share_url(site, GOOD_PAGE)
    run = await sora("download", url, *ALLOW, env={"TMPDIR": str(tmp_path)})
    assert run.code == 0, run.err
    expected = tmp_path / "sora_videos" / (url.rsplit("/", 1)[-1] + ".mp4")
    assert run.out.strip() == str(expected)
    assert expected.is_file()


async def test_resolve_prints_url_and_json(site: FixtureSite) -> None:
    url = share_url(site, GOOD_PAGE)
    plain = await sora("resolve", url, *ALLOW)
    assert plain.code == 0, plain.err
    assert plain.out.startswith(site.url + "/az/files/")
    assert len(plain.out.strip().splitlines()) == 1
    as_json = await sora("resolve", url, "--json", *ALLOW)
    (record,) = as_json.json_lines()
    assert record["share_url"] == url
    assert record["variant"] == "source"
    assert record["resolver"] == "static"
    assert record["expires_at"]


@pytest.mark.parametrize(
    ("page", "fragment"),
    [
        (GONE_PAGE, "no longer available"),
        (LOGIN_PAGE, "login wall"),
        (CHALLENGE_PAGE, "--browser"),
        (JS_ONLY_PAGE, "Could not find MP4 URL"),
    ],
)
async def test_no_video_exits_3(
    site: FixtureSite, tmp_path: Path, page: str, fragment: str
) -> None:
    out = tmp_path / "v.mp4"
    run = await sora("download", share_url(site, page), str(out), "--mode", "static", *ALLOW)
    assert run.code == 3
    assert fragment.lower() in run.err.lower()
    assert_one_clean_line(run)
    assert not out.exists()


async def test_no_video_json_error_object(site: FixtureSite) -> None:
    url = share_url(site, GONE_PAGE)
    run = await sora("resolve", url, "--json", "--mode", "static", *ALLOW)
    assert run.code == 3
    (record,) = run.json_lines()
    assert record["share_url"] == url
    error = record["error"]
    assert isinstance(error, dict)
    assert error["exit_code"] == 3
    assert error["type"] == "PageGone"


async def test_verbose_shows_the_traceback(site: FixtureSite) -> None:
    run = await sora("resolve", share_url(site, GONE_PAGE), "--mode", "static", "-v", *ALLOW)
    assert run.code == 3
    assert "Traceback" in run.err


async def test_local_file_error_exits_5(site: FixtureSite, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    out = blocker / "clip.mp4"
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), *ALLOW)
    assert run.code == 5
    assert_one_clean_line(run)
    assert blocker.read_text() == "a file where a folder should be"


async def test_special_file_at_the_output_path_is_never_replaced(
    site: FixtureSite, tmp_path: Path
) -> None:
    # What `download URL /dev/null` would do to /dev/null, shown on a FIFO of our own.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    run = await sora("download", share_url(site, GOOD_PAGE), str(fifo), *ALLOW)
    assert run.code == 5
    assert "not a regular file" in run.err
    assert_one_clean_line(run)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert os.listdir(tmp_path) == ["pipe"]  # no .part, no .lock
    assert site.stats.total_bytes(GOOD_VIDEO) == 0


async def test_output_name_too_long_exits_5(site: FixtureSite, tmp_path: Path) -> None:
    out = tmp_path / ("x" * 300 + ".mp4")
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), *ALLOW)
    assert run.code == 5
    assert "file name too long" in run.err
    assert_one_clean_line(run)


@pytest.mark.browser
@pytest.mark.parametrize("content", [None, "not json at all", '{"log": "half'])
async def test_har_that_is_not_a_har_exits_2(
    site: FixtureSite, tmp_path: Path, content: str | None
) -> None:
    har = tmp_path / "session.har"
    if content is not None:
        har.write_text(content)
    run = await sora("resolve", share_url(site, GOOD_PAGE), "--har", str(har), *ALLOW)
    assert (run.code, run.out) == (2, "")
    assert f"Cannot replay {har}: not a readable HAR file" in run.err
    assert_one_clean_line(run)
    assert site.stats.requests == []  # offline: nothing reached the site


async def test_bad_option_exits_2() -> None:
    run = await sora("download", "https://sora.chatgpt.com/p/s_1", "--limit-rate", "fast")
    assert run.code == 2
    assert "--limit-rate" in run.err


async def test_batch_tries_all_and_keeps_an_archive(site: FixtureSite, tmp_path: Path) -> None:
    good, sora1, gone = (share_url(site, p) for p in (GOOD_PAGE, SORA1_PAGE, GONE_PAGE))
    links = tmp_path / "links.txt"
    links.write_text(f"# my links\n{good}\n\n{gone}  # this one is gone\n")
    archive = tmp_path / "archive.txt"
    out_dir = tmp_path / "videos"
    args = ("batch", str(links), sora1, "--output-dir", str(out_dir), "--archive", str(archive))
    run = await sora(*args, "--json", "--mode", "static", *ALLOW)
    assert run.code == 1
    records = {str(r["share_url"]): r for r in run.json_lines()}
    assert set(records) == {good, sora1, gone}
    assert "error" in records[gone]
    assert "error" not in records[good]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        u.rsplit("/", 1)[-1] + ".mp4" for u in (good, sora1)
    )
    assert len(archive.read_text().splitlines()) == 2
    site.stats.reset()
    again = await sora(
        "batch", good, sora1, "--output-dir", str(out_dir), "--archive", str(archive), *ALLOW
    )
    assert again.code == 0, again.err
    assert again.err.count("already in the archive") == 2
    assert site.stats.requests == []


async def test_batch_downloads_one_video_once_whatever_the_link_form(
    site: FixtureSite, tmp_path: Path
) -> None:
    good = share_url(site, GOOD_PAGE)
    forms = [good, good + "/", good + "?utm_source=newsletter"]
    out_dir = tmp_path / "videos"
    run = await sora("batch", *forms, "--output-dir", str(out_dir), "--jobs", "3", *ALLOW)
    assert run.code == 0, run.err
    assert run.err.count("same video as " + good) == 2
    assert [p.name for p in out_dir.iterdir()] == [good.rsplit("/", 1)[-1] + ".mp4"]
    assert site.stats.total_bytes(GOOD_VIDEO) == site.videos[GOOD_VIDEO].size


@pytest.mark.browser
async def test_auto_mode_keeps_the_static_diagnosis(site: FixtureSite) -> None:
    # Static parsing saw only a media URL the policy refuses: that is the diagnosis, in one
    # line, and no browser is started to read the same page again.
    run = await sora("resolve", share_url(site, "refused_host"), *ALLOW)
    assert run.code == 3
    assert "refused by the URL policy" in run.err
    assert_one_clean_line(run)


async def test_ctrl_c_keeps_the_part_file_and_rerun_resumes(
    site: FixtureSite, tmp_path: Path
) -> None:
    out = tmp_path / "clip.mp4"
    part = out.with_name(out.name + ".part")
    url = share_url(site, GOOD_PAGE)
    # The CDN sends slowly, so what it has sent is close to what the client has written (a
    # client-side rate limit would let loopback socket buffers hide megabytes in flight).
    site.cdn.script(GOOD_VIDEO, [Fault.throttle(300_000)])
    proc = await asyncio.create_subprocess_exec(
        SORA,
        "download",
        url,
        str(out),
        *ALLOW,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        await site.stats.wait_for_bytes(GOOD_VIDEO, 700_000)
    proc.send_signal(signal.SIGINT)
    _, err = await proc.communicate()
    assert proc.returncode == 130
    assert ".part" in err.decode()
    assert "Traceback" not in err.decode()
    assert not out.exists()
    kept = _progress_kept(part)
    assert kept > 0
    again = await sora("download", url, str(out), "--json", *ALLOW)
    assert again.code == 0, again.err
    (record,) = again.json_lines()
    assert record["resumed_from"] == kept
    assert sha256_file(out) == sha256_of(site.videos[GOOD_VIDEO])


@pytest.mark.browser
async def test_ctrl_c_while_the_browser_works_leaves_no_chromium_behind(site: FixtureSite) -> None:
    url = share_url(site, "challenge")  # a challenge that never clears: the browser waits
    proc = await asyncio.create_subprocess_exec(
        SORA, "resolve", url, "--browser", "--resolve-timeout", "60", *ALLOW,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        await site.stats.wait_for_request(url.removeprefix(site.url))
    browser = psutil.Process(proc.pid).children(recursive=True)  # Playwright's driver, Chromium
    assert browser
    proc.send_signal(signal.SIGINT)
    out, err = await proc.communicate()
    assert (proc.returncode, out, err.decode().strip()) == (130, b"", "Interrupted.")
    _, alive = psutil.wait_procs(browser, timeout=10)
    assert alive == []


async def test_html_where_the_video_should_be_exits_4(site: FixtureSite, tmp_path: Path) -> None:
    site.cdn.script(GOOD_VIDEO, [Fault.html()])
    out = tmp_path / "clip.mp4"
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), *ALLOW)
    assert run.code == 4
    assert "expected a video but got text/html" in run.err.lower()
    assert_one_clean_line(run)
    assert not out.exists()


async def test_link_that_stays_expired_exits_4(site: FixtureSite, tmp_path: Path) -> None:
    # Every request is refused as Azure refuses an expired SAS URL, even after the share page
    # was resolved again for a fresh signature: the command gives up with exit 4.
    site.cdn.script(GOOD_VIDEO, [Fault.auth_failed()] * 10)
    out = tmp_path / "clip.mp4"
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), *ALLOW)
    assert run.code == 4
    assert "expired" in run.err
    assert_one_clean_line(run)
    assert not out.exists()
    page_visits = [r for r in site.stats.requests if r[1].startswith("/p/")]
    assert len(page_visits) == 3  # the first resolution and two refreshes (max_reresolve)


async def test_expired_link_is_refreshed_and_the_download_completes(
    site: FixtureSite, tmp_path: Path
) -> None:
    site.cdn.script(GOOD_VIDEO, [Fault.expire_after(fraction=1 / 3)])
    out = tmp_path / "clip.mp4"
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), "--json", *ALLOW)
    assert run.code == 0, run.err
    assert sha256_file(out) == sha256_of(site.videos[GOOD_VIDEO])
    assert site.stats.total_bytes(GOOD_VIDEO) < 1.5 * site.videos[GOOD_VIDEO].size


@pytest.mark.parametrize(
    "module",
    [
        "sora_browser.cli.batch",
        "sora_browser.cli.temporal",
        "sora_browser.cli.starter",
        "sora_browser.cli.links",
    ],
)
async def test_command_modules_import_on_their_own(module: str) -> None:
    # batch once imported the CLI module, which imports batch back: importing it first failed.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"import {module}", stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
