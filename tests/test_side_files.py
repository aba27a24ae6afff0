"""Issue: hostile input, items 1 and 10. Nothing planted beside OUTPUT is followed: side files
(``.part``, ``.part.json``, its temporary, ``.lock``) that are symlinks, FIFOs, hard links or
another user's files end the run with exit 5 naming them, and the file they point to is left
as it was. The default folder in the shared temp folder is made private, or refused when
another user made it first. Side-file names fit the file system's limit whatever OUTPUT's
length. Every other file the tool writes (a recorded HAR) is never written through a link.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest
from test_cli import ALLOW, GOOD_PAGE, GOOD_VIDEO, assert_one_clean_line, sha256_file, sora

from sora_browser.download import VideoDownloader
from sora_browser.errors import LocalFileError
from sora_browser.options import DownloadOptions
from sora_browser.testing.media import VIDEOS, sha256_of, signed_url
from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite

FAST = DownloadOptions(
    allow_hosts=frozenset({"127.0.0.1"}), retries=0, backoff_initial=0.01, read_timeout=5
)
SOURCE = VIDEOS["source"]
SECRET = b"the victim's file: must stay exactly like this\n"


def _nobody() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user to play the other local user")


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "elsewhere" / "victim.txt"
    victim.parent.mkdir()
    victim.write_bytes(SECRET)
    return victim


async def _download_fails(site: FixtureSite, out: Path) -> LocalFileError:
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(LocalFileError) as caught:
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert caught.value.exit_code == 5
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("suffix", [".part", ".part.json", ".part.json.tmp", ".lock"])
async def test_a_symlink_beside_output_is_never_followed(
    site: FixtureSite, tmp_path: Path, suffix: str
) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "X.mp4"
    planted = out.with_name("X.mp4" + suffix)
    planted.symlink_to(victim)
    error = await _download_fails(site, out)
    assert str(planted) in str(error)
    assert "symbolic link" in str(error)
    assert victim.read_bytes() == SECRET
    assert planted.is_symlink()
    assert not out.exists()


async def test_a_symlink_to_a_file_that_does_not_exist_yet_is_not_created(
    site: FixtureSite, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere" / "created-by-us"
    target.parent.mkdir()
    out = tmp_path / "X.mp4"
    out.with_name("X.mp4.part").symlink_to(target)
    await _download_fails(site, out)
    assert not target.exists()


async def test_a_hard_link_beside_output_is_not_written_through(
    site: FixtureSite, tmp_path: Path
) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "X.mp4"
    os.link(victim, out.with_name("X.mp4.part"))
    error = await _download_fails(site, out)
    assert "hard links" in str(error)
    assert victim.read_bytes() == SECRET


@pytest.mark.parametrize("suffix", [".part", ".lock"])
async def test_a_fifo_beside_output_is_refused(
    site: FixtureSite, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / "X.mp4"
    os.mkfifo(out.with_name("X.mp4" + suffix))
    error = await _download_fails(site, out)
    assert "not a regular file" in str(error)
    assert site.stats.total_bytes() == 0


async def test_a_side_file_another_user_owns_is_refused(site: FixtureSite, tmp_path: Path) -> None:
    other = _nobody()
    out = tmp_path / "X.mp4"
    part = out.with_name("X.mp4.part")
    part.write_bytes(b"planted")
    os.chown(part, other.pw_uid, other.pw_gid)
    error = await _download_fails(site, out)
    assert "another user" in str(error)
    assert part.read_bytes() == b"planted"


async def test_cli_names_the_planted_file_and_exits_5(site: FixtureSite, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "X.mp4"
    out.with_name("X.mp4.lock").symlink_to(victim)
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), *ALLOW)
    assert run.code == 5
    assert f"{out}.lock" in run.err
    assert_one_clean_line(run)
    assert victim.read_bytes() == SECRET


# -- the default folder in the shared temp folder ----------------------------------------------


async def test_default_folder_is_created_private(site: FixtureSite, tmp_path: Path) -> None:
    run = await sora("download", share_url(site, GOOD_PAGE), *ALLOW, env={"TMPDIR": str(tmp_path)})
    assert run.code == 0, run.err
    folder = tmp_path / "sora_videos"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sha256_file(Path(run.out.strip())) == sha256_of(site.videos[GOOD_VIDEO])


@pytest.mark.parametrize("planted", ["other-owner", "world-writable", "symlink"])
async def test_default_folder_made_by_someone_else_is_refused(
    site: FixtureSite, tmp_path: Path, planted: str
) -> None:
    folder = tmp_path / "sora_videos"
    if planted == "symlink":
        (tmp_path / "theirs").mkdir()
        folder.symlink_to(tmp_path / "theirs")
    else:
        folder.mkdir()
        folder.chmod(0o777)  # no sticky bit
    if planted == "other-owner":
        other = _nobody()
        os.chown(folder, other.pw_uid, other.pw_gid)
        folder.chmod(0o755)
    run = await sora("download", share_url(site, GOOD_PAGE), *ALLOW, env={"TMPDIR": str(tmp_path)})
    assert run.code == 5, run.err
    assert f"Refusing the output folder {folder}" in run.err
    assert "--output-dir" in run.err  # the fix
    assert_one_clean_line(run)
    assert site.stats.requests == []  # refused before anything is fetched
    assert list(folder.iterdir()) == []


async def test_a_sticky_shared_default_folder_is_accepted(
    site: FixtureSite, tmp_path: Path
) -> None:
    folder = tmp_path / "sora_videos"
    folder.mkdir()
    folder.chmod(0o1777)  # like /tmp itself: others may add files, not replace ours
    run = await sora("download", share_url(site, GOOD_PAGE), *ALLOW, env={"TMPDIR": str(tmp_path)})
    assert run.code == 0, run.err


# -- names within the file system's limit ------------------------------------------------------


@pytest.mark.parametrize("length", [246, 250, 255])
async def test_long_output_names_get_short_side_files(
    site: FixtureSite, tmp_path: Path, length: int
) -> None:
    out = tmp_path / ("x" * (length - 4) + ".mp4")
    async with VideoDownloader(FAST) as downloader:
        result = await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert result.sha256 == sha256_of(SOURCE) == sha256_file(out)
    assert os.listdir(tmp_path) == [out.name]


async def test_a_long_name_resumes_from_the_same_part(site: FixtureSite, tmp_path: Path) -> None:
    from sora_browser.testing.cdn import Fault

    out = tmp_path / ("é" * 123 + ".mp4")  # 250 bytes in UTF-8
    site.cdn.script("source", [Fault.truncate(fraction=0.5), Fault.status(404)])
    async with VideoDownloader(FAST) as downloader:
        with pytest.raises(Exception, match="404"):
            await downloader.fetch(signed_url(site.url, SOURCE), out)
    parts = [n for n in os.listdir(tmp_path) if n.endswith(".part")]
    assert len(parts) == 1
    assert len(os.fsencode(parts[0]) + b".json.tmp") <= 255
    async with VideoDownloader(FAST) as downloader:
        result = await downloader.fetch(signed_url(site.url, SOURCE), out)
    assert result.resumed_from > 0
    assert result.sha256 == sha256_of(SOURCE)


# -- other files the tool creates --------------------------------------------------------------


@pytest.mark.browser
async def test_recorded_har_replaces_a_planted_symlink(site: FixtureSite, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    har = tmp_path / "session.har"
    har.symlink_to(victim)
    url = share_url(site, "js_post_fetch")
    run = await sora("resolve", url, "--record-har", str(har), *ALLOW)
    assert run.code == 0, run.err
    assert victim.read_bytes() == SECRET
    assert not har.is_symlink()
    assert '"log"' in har.read_text()
