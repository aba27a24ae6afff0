"""Every rendition of a video, not only the best one (``SoraClient.renditions``, what yt-dlp's
``-F`` lists), and the post's prompt and author read from the page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sora_browser.archive.options import WaybackOptions
from sora_browser.errors import NoVideoFound
from sora_browser.options import ResolveOptions
from sora_browser.parsing import page_post_info
from sora_browser.resolvers.browser.launch import LAUNCHER
from sora_browser.service import SoraClient
from sora_browser.testing.pages import share_url
from sora_browser.testing.pywb import PywbArchive
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite

PAGES = Path(__file__).resolve().parents[1] / "sora_browser" / "testing" / "pages"
LOOPBACK = frozenset({"127.0.0.1"})
CLOUDS = "sea of clouds at sunrise"


def path(url: str) -> str:
    return urlsplit(url).path


def live(**changes: object) -> ResolveOptions:
    base: dict[str, object] = {"allow_hosts": LOOPBACK, "wayback": None, "timeout": 10}
    return ResolveOptions(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("page", "prompt", "username"),
    [
        # Post JSON split over two flight pushes, escaped once: \"prompt\" and \"username\".
        (
            "next_flight",
            "A humpback whale breaching through a sea of clouds at sunrise",
            "skywhale",
        ),
        ("next_data", "Lanterns rising over a mountain lake at dusk, handheld", "lakeside"),
        ("double_escaped", "Origami cranes taking flight from a library shelf", None),
        ("og_video", None, None),
    ],
)
def test_post_info_from_fixture_pages(page: str, prompt: str | None, username: str) -> None:
    details = page_post_info((PAGES / f"{page}.html").read_text())
    assert (details.prompt, details.username) == (prompt, username)


def test_username_from_og_title_when_the_json_lacks_it() -> None:
    html = '<meta property="og:title" content="leaffox on Sora"><title>x</title>'
    assert page_post_info(html).username == "leaffox"
    assert (
        page_post_info('<meta property="og:title" content="A fox on Sora Bay, dusk">').username
        is None
    )


async def test_static_renditions_best_first(site: FixtureSite) -> None:
    url = share_url(site, "variants_wrong_first")
    async with SoraClient(live(mode="static")) as client:
        every = await client.renditions(url)
        best = await client.resolve(url)

    variants = [r.variant for r in every]
    # Each page view signs its URLs anew: the same file is the same path.
    assert variants[0] == "source"
    assert path(every[0].mp4_url) == path(best.mp4_url)
    assert {"md", "ld"} <= set(variants)
    assert variants.index("md") < variants.index("ld")
    assert len({r.mp4_url for r in every}) == len(every)  # one entry per URL


async def test_prompt_and_username_reach_the_result(site: FixtureSite) -> None:
    async with SoraClient(live(mode="static")) as client:
        resolved = await client.resolve(share_url(site, "next_flight"))
    record = resolved.to_json()
    assert record["username"] == "skywhale"
    assert record["prompt"].startswith("A humpback whale")


async def test_archive_renditions_are_what_the_archive_holds_whole(
    pywb_archive: PywbArchive, archive_scenario: Scenario
) -> None:
    case = archive_scenario.case("renditions")  # source and md archived, ld never listed
    wayback = WaybackOptions(prefix=pywb_archive.prefix, cdx_url=pywb_archive.cdx_url)
    async with SoraClient(ResolveOptions(mode="archive", wayback=wayback)) as client:
        every = await client.renditions(case.share_url)

    assert [r.variant for r in every] == ["source", "md"]
    assert every[0].original_media_url == case.media_url
    assert all(r.mp4_url.startswith(pywb_archive.prefix) for r in every)
    assert every[0].username == "user" + case.share_url.rsplit("_", 1)[1][:6]
    assert every[0].prompt == "A paper boat sailing down a rainy street (renditions)"


async def test_auto_without_browser_fallback_never_asks_for_a_browser(site: FixtureSite) -> None:
    asked = LAUNCHER.acquired
    async with SoraClient(live(mode="auto", browser_fallback=False)) as client:
        with pytest.raises(NoVideoFound, match="try --browser"):
            await client.renditions(share_url(site, "js_only"))  # a page only a browser reads
    assert LAUNCHER.acquired == asked
