"""Record the HAR fixtures in ``fixtures/har/`` from the fixture site, with the real browser.

    python -m sora_browser.testing.record_har                  # every page, into fixtures/har/
    python -m sora_browser.testing.record_har js_blob --out /tmp/har --port 47700

The site runs on a FIXED port (``DEFAULT_PORT`` unless ``--port``): HAR entries match the full
URL including the port, so a replay must navigate to exactly the URL that was recorded, and
``index.json`` says which one that is. Videos are shrunk to ``VIDEO_BYTES`` so the blob page's
media body, embedded in its HAR, stays small. For each page this writes ``<name>.har`` and an
entry in ``index.json``: ``{name: {share_url, mp4_url, variant, strategy, title}}``, which
``tests/test_har.py`` replays offline with no server running.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..options import ResolveOptions
from ..urls import UrlPolicy, parse_share_url
from .dynamic import CHALLENGE_ID
from .pages import share_url
from .site import FixtureSite

DEFAULT_PORT = 47613
VIDEO_BYTES = 32 * 1024
Index = dict[str, dict[str, Any]]
PAGES = ("js_post_fetch", "js_blob", "js_click", "challenge")
"""Page template names, plus ``challenge`` for the dynamic Cloudflare-style interstitial."""


def page_url(site: FixtureSite, name: str) -> str:
    return f"{site.url}/p/{CHALLENGE_ID}" if name == "challenge" else share_url(site, name)


async def record_page(site: FixtureSite, name: str, har: Path) -> dict[str, Any]:
    """Resolve one page in the browser while recording ``har``; what it resolved to."""
    from ..resolvers.browser import BrowserResolver

    options = ResolveOptions(
        mode="browser", allow_hosts=frozenset({site.host}), record_har_path=har
    )
    resolver = BrowserResolver(options)
    try:
        link = parse_share_url(page_url(site, name), policy=UrlPolicy(options.allow_hosts))
        resolved = await resolver.resolve(link)
    finally:
        await resolver.aclose()
    keep = ("share_url", "mp4_url", "variant", "strategy", "title")
    return {key: resolved.to_json()[key] for key in keep}


async def record(names: Iterable[str], out_dir: Path, *, port: int = DEFAULT_PORT) -> Index:
    """Record every page in ``names`` as ``out_dir/<name>.har``; what each resolved to."""
    index: Index = {}
    async with FixtureSite(port=port, videos=_small_videos()) as site:
        for name in names:
            index[name] = await record_page(site, name, out_dir / f"{name}.har")
            print(f"{name}: {index[name]['mp4_url']}", flush=True)
    return index


def update_index(out_dir: Path, recorded: Index) -> Path:
    """Merge ``recorded`` into ``out_dir/index.json`` (pages not re-recorded keep theirs)."""
    path = out_dir / "index.json"
    index = json.loads(path.read_text()) if path.exists() else {}
    index.update(recorded)
    path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return path


def _small_videos() -> dict[str, Any]:
    from .media import VIDEOS

    return {n: dataclasses.replace(v, size=min(v.size, VIDEO_BYTES)) for n, v in VIDEOS.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(PAGES), help="pages to record")
    # The recordings belong to the repository (tests replay them), not to the package.
    parser.add_argument("--out", type=Path, default=Path("fixtures/har"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    update_index(args.out, asyncio.run(record(args.names, args.out, port=args.port)))


if __name__ == "__main__":
    main()


async def record_playing(url: str, har: Path, *, chromium: Path | None = None) -> None:
    """Record ``har`` as a person's browser would: the page loads and its player fetches the
    video, so the HAR holds the media body (the player's ``206``), as a dev-tools export does.

    Unlike ``record_page`` this is not sora-browser's resolver (which never downloads media):
    it is the kind of HAR users send, for the tests of ``--har`` with media bodies.
    """
    from playwright.async_api import async_playwright

    from ..resolvers.browser.launch import LAUNCH_ARGS, find_chromium

    async with async_playwright() as driver:
        executable = find_chromium(chromium, None)
        browser = await driver.chromium.launch(executable_path=executable, args=list(LAUNCH_ARGS))
        try:
            context = await browser.new_context(record_har_path=har, record_har_content="embed")
            page = await context.new_page()
            async with page.expect_response(lambda r: r.request.resource_type == "media") as got:
                await page.goto(url)
            await (await got.value).finished()
            await context.close()  # writes the HAR
        finally:
            await browser.close()
