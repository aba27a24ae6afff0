"""The yt-dlp plugin, through the real yt-dlp, against the fixture site and the test archive.

yt-dlp runs as ``python -m yt_dlp`` (its documented equivalent of the ``yt-dlp`` command) from
the scratch virtualenv of ``installed_wheel``: there sora-browser is installed from its wheel,
so yt-dlp finds the plugin the way a user's yt-dlp does, on ``sys.path``. (An editable install
hides it: setuptools' import hook is invisible to yt-dlp's plugin finder; see the README.)
Every run inherits the session's loopback-only environment and the local pywb as its archive.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sora_browser.archive.options import WaybackOptions
from sora_browser.models import MediaPiece, ResolvedVideo
from sora_browser.options import ResolveOptions
from sora_browser.testing.media import sha256_of, signed_url
from sora_browser.testing.pages import share_url
from sora_browser.testing.pywb import PywbArchive
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite
from sora_browser.ytdlp import claims, info_dict, passes_policy

LOOPBACK = {"SORA_BROWSER_ALLOW_HOSTS": "127.0.0.1"}
SHARE = "https://sora.chatgpt.com/p/s_1"
FIELDS = "%(id)s|%(title)s|%(uploader)s|%(description)s|%(format_id)s|%(width)sx%(height)s"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


async def ytdlp(venv: Path, *args: str, env: dict[str, str] | None = None, cwd: Path) -> Run:
    proc = await asyncio.create_subprocess_exec(
        venv / "bin" / "python",
        *("-m", "yt_dlp", "--ignore-config", "--no-progress", *args),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the live fixture site ------------------------------------------------------------------


async def test_simulate_print_gives_what_yt_dlp_users_expect(
    site: FixtureSite, installed_wheel: Path, tmp_path: Path
) -> None:
    url = share_url(site, "next_flight")
    run = await ytdlp(
        installed_wheel, "--print", f"{FIELDS}|%(extractor)s", url, env=LOOPBACK, cwd=tmp_path
    )
    assert run.code == 0, run.err
    share_id, title, uploader, description, best, size, extractor = run.out.strip().split("|")
    assert share_id == urlsplit(url).path.rsplit("/", 1)[1]
    assert description == title == "A humpback whale breaching through a sea of clouds at sunrise"
    assert (uploader, best, size, extractor) == ("skywhale", "source", "704x1280", "sora")
    assert site.stats.total_bytes() == 0  # simulated: no media fetched


async def test_list_formats_ranks_the_watermarked_file_below_the_clean_one(
    site: FixtureSite, installed_wheel: Path, tmp_path: Path
) -> None:
    run = await ytdlp(
        installed_wheel, "-F", share_url(site, "variants_wrong_first"), env=LOOPBACK, cwd=tmp_path
    )
    assert run.code == 0, run.err
    rows = [line.split() for line in run.out.splitlines() if line.split()[:2][-1:] == ["mp4"]]
    assert [row[0] for row in rows] == ["ld", "md", "source_wm", "source"]  # worst first
    assert rows[2][-1] == "watermarked"
    assert "1080x1920" in rows[3]


async def test_download_with_f_and_an_output_template(
    site: FixtureSite, installed_wheel: Path, tmp_path: Path
) -> None:
    url = share_url(site, "next_flight")
    template = "%(uploader)s/%(id)s.%(format_id)s.%(ext)s"
    run = await ytdlp(
        installed_wheel,
        "-f",
        "md",
        "-o",
        template,
        "--write-info-json",
        url,
        env=LOOPBACK,
        cwd=tmp_path,
    )
    assert run.code == 0, run.err
    (video,) = (tmp_path / "skywhale").glob("*.md.mp4")
    assert sha256_file(video) == sha256_of(site.videos["md"])
    assert site.stats.total_bytes("source") == 0  # only the chosen format was fetched
    info = json.loads(next((tmp_path / "skywhale").glob("*.info.json")).read_text())
    assert info["uploader"] == "skywhale"
    assert info["description"].startswith("A humpback whale")
    assert {f["format_id"] for f in info["formats"]} == {"source", "md"}


async def test_the_browser_only_when_asked(
    site: FixtureSite, installed_wheel: Path, tmp_path: Path
) -> None:
    url = share_url(site, "js_only")  # its video appears only once scripts run
    plain = await ytdlp(installed_wheel, "--print", "id", url, env=LOOPBACK, cwd=tmp_path)
    assert plain.code == 1
    assert 'try --extractor-args "sora:mode=auto"' in plain.err
    bad = await ytdlp(
        installed_wheel,
        "--extractor-args",
        "sora:mode=bogus",
        "--print",
        "id",
        url,
        env=LOOPBACK,
        cwd=tmp_path,
    )
    assert "sora:mode=bogus is not one of auto, static, browser, archive" in bad.err


@pytest.mark.browser
async def test_mode_browser_reads_a_page_that_needs_scripts(
    site: FixtureSite, installed_wheel: Path, tmp_path: Path
) -> None:
    url = share_url(site, "js_post_fetch")
    args = ("--extractor-args", "sora:mode=browser", "--print", "%(format_id)s %(url)s", url)
    run = await ytdlp(installed_wheel, *args, env=LOOPBACK, cwd=tmp_path)
    assert run.code == 0, run.err
    best, media = run.out.split()
    assert best == "source"
    assert media.startswith(site.url + "/az/files/")


async def test_links_that_are_not_sora_links_stay_yt_dlps(
    site: FixtureSite, installed_wheel: Path, tmp_path: Path
) -> None:
    media = signed_url(site.url, site.videos["md"])  # a plain video file: generic's
    run = await ytdlp(installed_wheel, "--print", "extractor", media, env=LOOPBACK, cwd=tmp_path)
    assert (run.code, run.out.strip()) == (0, "generic"), run.err
    # A share link on a host nobody allowed is no Sora link either: generic tries, and fails.
    page = share_url(site, "og_video")
    run = await ytdlp(installed_wheel, "--print", "extractor", page, cwd=tmp_path)
    assert "[generic] Falling back on generic information extractor" in run.err
    assert "[sora]" not in run.err


def test_claims_sora_hosts_and_allowed_hosts_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA_BROWSER_ALLOW_HOSTS", "mirror.example")
    share_id = "s_0123456789abcdef0123456789abcdef"
    for url in (
        f"https://sora.chatgpt.com/p/{share_id}?psh=abc",
        "https://sora.com/g/gen_01jx0000000000000000000000",
        "https://www.sora.com/t/task_01jx0000000000000000000000/",
        f"http://mirror.example/p/{share_id}",
    ):
        assert claims(url), url
    for url in (
        "https://sora.chatgpt.com/explore",
        "https://sora.chatgpt.com/profile/skywhale",
        f"https://example.org/p/{share_id}",
        "https://videos.openai.com/az/files/x%2Fraw?sig=1",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    ):
        assert not claims(url), url


# -- the test archive -------------------------------------------------------------------------


async def test_archive_formats_are_replays_and_download(
    pywb_archive: PywbArchive, archive_scenario: Scenario, installed_wheel: Path, tmp_path: Path
) -> None:
    case = archive_scenario.case("renditions")  # source and md archived whole
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    # sora.chatgpt.com cannot be reached from here: the live step fails at once, then the
    # archive answers; no retries of the live page.
    listed = await ytdlp(
        installed_wheel, "--extractor-retries", "0", "-F", case.share_url, env=env, cwd=tmp_path
    )
    assert listed.code == 0, listed.err
    assert "archived 2025-10-25" in listed.out
    assert list((cache / "sora-browser" / "cdx").iterdir())  # the CLI's index cache

    args = ("--extractor-retries", "0", "-f", "source", "--print", "after_move:%(url)s")
    run = await ytdlp(
        installed_wheel, *args, "-o", "v.%(ext)s", case.share_url, env=env, cwd=tmp_path
    )
    assert run.code == 0, run.err
    assert run.out.strip().startswith(pywb_archive.prefix + "/")  # the replay is the format URL
    assert sha256_file(tmp_path / "v.mp4") == case.sha256


# -- pieces: not for yt-dlp ---------------------------------------------------------------------


PIECES = (
    MediaPiece(url="https://archive.example/web/1id_/x", start=0, end=10, total=20),
    MediaPiece(url="https://archive.example/web/2id_/x", start=10, end=20, total=20),
)


def _video(variant: str, **changes: object) -> ResolvedVideo:
    base: dict[str, object] = {
        "share_url": SHARE,
        "share_id": "s_1",
        "mp4_url": f"https://videos.openai.com/az/files/{variant}%2Fraw",
        "resolver": "archive",
        "strategy": "next-flight",
        "variant": variant,
    }
    return ResolvedVideo(**{**base, **changes})  # type: ignore[arg-type]


async def test_yt_dlp_is_not_offered_a_video_in_pieces(
    pywb_archive: PywbArchive, archive_scenario: Scenario, installed_wheel: Path, tmp_path: Path
) -> None:
    case = archive_scenario.case("pieces")  # held as three 206 pieces: only we can join them
    run = await ytdlp(installed_wheel, "--extractor-retries", "0", "-F", case.share_url,
                      env={"XDG_CACHE_HOME": str(tmp_path)}, cwd=tmp_path)  # fmt: skip
    assert run.code != 0
    assert f"sora-browser download {case.share_url}" in run.err


def test_a_video_held_only_in_pieces_names_sora_browser_download() -> None:
    with pytest.raises(ValueError, match=re.escape(f"`sora-browser download {SHARE}` can")):
        info_dict([_video("source", pieces=PIECES)])


def test_pieces_are_left_out_when_a_whole_rendition_exists() -> None:
    info = info_dict([_video("source", pieces=PIECES), _video("md")])
    assert [f["format_id"] for f in info["formats"]] == ["md"]


# -- the URL policy on format URLs ------------------------------------------------------------


async def test_format_urls_pass_the_url_policy_names_resolved() -> None:
    name = socket.gethostname()  # a name whose addresses are this machine's own
    try:
        addresses = {str(a[4][0]) for a in socket.getaddrinfo(name, None)}
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if any(ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        pytest.skip(f"{name} resolves to a public address here")
    live = ResolveOptions(wayback=None)
    assert not await passes_policy(_video("md", mp4_url=f"http://{name}:9/a.mp4"), live)
    assert not await passes_policy(_video("md", mp4_url="http://127.0.0.1:9/a.mp4"), live)
    allowed = ResolveOptions(wayback=None, allow_hosts=frozenset({name}))
    assert await passes_policy(_video("md", mp4_url=f"http://{name}:9/a.mp4"), allowed)


async def test_an_archive_replay_is_trusted_on_the_archive_host_only() -> None:
    archive = ResolveOptions(wayback=WaybackOptions(prefix="http://127.0.0.1:8080/sora"))
    replay = "http://127.0.0.1:8080/sora/20251025111505id_/https://videos.openai.com/a"
    assert await passes_policy(_video("source", mp4_url=replay), archive)
    assert not await passes_policy(_video("source", mp4_url=replay, resolver="static"), archive)
