"""Issue: keep what the page knew. Choosing the file (``--quality``, ``--no-watermark``) and
saying why a post has none (removed, private), the same from the static step, the browser and
the archive, over pages in the shapes of DESIGN.md's real captures:

- ``app_context``: an app session's post JSON, a clean ``00000/`` source beside a ``00000_wm/``
  copy, derived ``drvs/md`` and ``drvs/ld`` renditions;
- ``web_context``: a logged-out session's, where every full-size name is the same ``_wm`` file;
- ``drvs_og_video``: ``og:video`` naming ``drvs/md`` next to the source in the post JSON;
- ``removed_post`` (``tombstoned_at``) and ``private_post`` (``can_read: false``).
"""

from __future__ import annotations

from typing import Any

import pytest
from test_cli import ALLOW, assert_one_clean_line, sora

from sora_browser.archive.options import WaybackOptions
from sora_browser.errors import NoVideoFound, PageGone, PostPrivate
from sora_browser.models import ResolvedVideo
from sora_browser.options import Mode, ResolveOptions
from sora_browser.parsing import Candidate, prefer, rank_candidates
from sora_browser.service import SoraClient
from sora_browser.testing.media import VIDEOS
from sora_browser.testing.pages import share_url
from sora_browser.testing.pywb import PywbArchive
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite

LIVE_MODES: list[Mode] = ["static", "browser"]


def options(mode: Mode, **changes: Any) -> ResolveOptions:
    return ResolveOptions(mode=mode, allow_hosts=frozenset({"127.0.0.1"}), wayback=None, **changes)


async def resolve(site: FixtureSite, page: str, mode: Mode, **changes: Any) -> ResolvedVideo:
    async with SoraClient(options(mode, **changes)) as client:
        return await client.resolve(share_url(site, page))


def path_of(video: str) -> str:
    return VIDEOS[video].path


# -- choosing among what a page lists (pure) ---------------------------------------------------


def candidate(url: str, variant: str | None) -> Candidate:
    return Candidate(url=url, strategy="post-json", variant=variant)


CDN = "https://videos.openai.com"
CLEAN = candidate(f"{CDN}/vg-assets/assets%2Ftask_a%2Fvideos%2F00000%2Fsrc.mp4", "source")
MARKED = candidate(f"{CDN}/vg-assets/assets%2Ftask_a%2Fvideos%2F00000_wm%2Fsrc.mp4", "source_wm")
MD = candidate(f"{CDN}/az/files/0123456789abcde_u%2Fdrvs%2Fmd%2Fraw", None)
LD = candidate(f"{CDN}/az/files/0123456789abcde_u%2Fdrvs%2Fld%2Fraw", "ld")


def test_best_is_the_clean_source_then_the_watermarked_then_md_then_ld() -> None:
    ranked = rank_candidates([LD, MD, MARKED, CLEAN])
    assert [c.url for c in ranked] == [CLEAN.url, MARKED.url, MD.url, LD.url]
    assert [c.watermarked for c in ranked[:2]] == [False, True]


def test_a_drvs_path_names_its_rendition_whatever_the_page_called_it() -> None:
    (ranked,) = rank_candidates([MD])
    assert ranked.variant == "md"


def test_source_means_clean_first_then_watermarked_unless_no_watermark() -> None:
    ranked = rank_candidates([MD, MARKED, CLEAN])
    assert prefer(ranked, "source")[0].url == CLEAN.url
    only_marked = rank_candidates([MD, MARKED])
    assert prefer(only_marked, "source")[0].url == MARKED.url
    with pytest.raises(NoVideoFound, match="Only a watermarked file exists"):
        prefer(only_marked, "source", clean=True)


def test_renditions_of_a_video_seen_only_watermarked_are_watermarked_too() -> None:
    ranked = rank_candidates([MD, MARKED])
    assert all(c.watermarked for c in ranked)
    with pytest.raises(NoVideoFound, match=r"Only a watermarked file exists.*md \(watermarked\)"):
        prefer(ranked, "best", clean=True)


def test_a_missing_rendition_names_what_the_page_has() -> None:
    with pytest.raises(NoVideoFound, match=r"No ld rendition here: the page has source, md"):
        prefer(rank_candidates([CLEAN, MD]), "ld")


# -- the live resolvers ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", LIVE_MODES)
async def test_an_app_session_page_gives_the_clean_source(site: FixtureSite, mode: Mode) -> None:
    video = await resolve(site, "app_context", mode)
    assert path_of("app_source") in video.mp4_url
    assert video.watermarked is False
    assert video.username == "dreamweaver"
    assert video.posted_at is not None


@pytest.mark.parametrize("mode", LIVE_MODES)
@pytest.mark.parametrize(("quality", "video"), [("md", "drvs_md"), ("ld", "drvs_ld")])
async def test_a_rendition_asked_for_by_name(
    site: FixtureSite, mode: Mode, quality: str, video: str
) -> None:
    found = await resolve(site, "app_context", mode, quality=quality)
    assert path_of(video) in found.mp4_url
    assert found.variant == quality


@pytest.mark.parametrize("mode", LIVE_MODES)
async def test_a_web_session_page_gives_its_watermarked_file_and_says_so(
    site: FixtureSite, mode: Mode
) -> None:
    video = await resolve(site, "web_context", mode)
    assert path_of("web_wm") in video.mp4_url
    assert video.watermarked is True
    with pytest.raises(NoVideoFound, match="Only a watermarked file exists") as caught:
        await resolve(site, "web_context", mode, no_watermark=True)
    assert caught.value.exit_code == 3


@pytest.mark.parametrize("mode", LIVE_MODES)
async def test_og_video_naming_md_loses_to_the_source(site: FixtureSite, mode: Mode) -> None:
    best = await resolve(site, "drvs_og_video", mode)
    assert path_of("source") in best.mp4_url
    with pytest.raises(NoVideoFound, match=r"No ld rendition here: the page has source, md"):
        await resolve(site, "drvs_og_video", mode, quality="ld")


@pytest.mark.parametrize("mode", LIVE_MODES)
@pytest.mark.parametrize(
    ("page", "error", "said"),
    [("removed_post", PageGone, "The post was removed"), ("private_post", PostPrivate, "private")],
)
async def test_a_removed_or_private_post_says_so(
    site: FixtureSite, mode: Mode, page: str, error: type[Exception], said: str
) -> None:
    with pytest.raises(error, match=said) as caught:
        await resolve(site, page, mode)
    assert "Could not find MP4 URL" not in str(caught.value)


# -- the archive -------------------------------------------------------------------------------


async def test_the_archive_chooses_the_same_way(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("renditions")  # a logged-out capture: source is the _wm file
    wayback = WaybackOptions(prefix=pywb_archive.prefix, cdx_url=pywb_archive.cdx_url)
    archive = ResolveOptions(mode="archive", wayback=wayback, quality="md")
    async with SoraClient(archive) as client:
        found = await client.resolve(case.share_url)
    assert found.variant == "md"
    assert "drvs" in (found.original_media_url or "")
    refusing = ResolveOptions(mode="archive", wayback=wayback, no_watermark=True)
    async with SoraClient(refusing) as client:
        with pytest.raises(NoVideoFound, match="Only a watermarked file exists"):
            await client.resolve(case.share_url)


# -- the command line --------------------------------------------------------------------------


async def test_cli_says_when_it_took_a_watermarked_file(site: FixtureSite) -> None:
    run = await sora("resolve", share_url(site, "web_context"), "--json", *ALLOW)
    assert run.code == 0, run.err
    (record,) = run.json_lines()
    assert record["watermarked"] is True
    assert "watermarked" in run.err


async def test_cli_no_watermark_is_exit_3_in_one_line(site: FixtureSite) -> None:
    run = await sora("resolve", share_url(site, "web_context"), "--no-watermark", *ALLOW)
    assert run.code == 3
    assert "Only a watermarked file exists" in run.err
    assert_one_clean_line(run)


async def test_cli_quality_md(site: FixtureSite) -> None:
    run = await sora("resolve", share_url(site, "app_context"), "--quality", "md", *ALLOW)
    assert run.code == 0, run.err
    assert path_of("drvs_md") in run.out


@pytest.mark.parametrize(
    ("page", "said"), [("removed_post", "removed"), ("private_post", "private")]
)
async def test_cli_removed_and_private_are_exit_3(site: FixtureSite, page: str, said: str) -> None:
    run = await sora("resolve", share_url(site, page), "--no-wayback", *ALLOW)
    assert run.code == 3
    assert said in run.err
    assert_one_clean_line(run)
