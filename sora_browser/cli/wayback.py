"""``sora-browser wayback list``: every share link an archive holds, for ``batch`` or ``submit``.

Plain output is bare links, one a line, so it feeds ``batch -`` and ``submit --batch -`` as it
is; ``--json`` gives one object per link (first and last capture, capture count and, with
``--check-media``, whether its video is archived). Links whose captures are none of them a
page (only 404s, captured challenges, redirects) are left out, and counted on stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .options import (
    archive_location_options,
    archive_waits,
    proxy_option,
    proxy_settings,
    verbosity_options,
)
from .runner import Voice, emit_json, run

if TYPE_CHECKING:
    from ..archive.listing import ArchivedLink
    from ..archive.options import WaybackOptions
    from ..archive.replay import Replay
    from ..archive.warc import WarcArchive
    from ..options import ResolveOptions
    from ..resolvers.archive import ArchiveResolver


@click.group()
def wayback() -> None:
    """Ask the archive (the Wayback Machine, or a pywb) what it holds of Sora."""


@wayback.command("list")
@click.argument("prefix", default="sora.chatgpt.com/p/")
@click.option("--from", "from_", metavar="YYYYMMDD[hhmmss]", help="Captures from this moment.")
@click.option("--to", metavar="YYYYMMDD[hhmmss]", help="Captures until this moment.")
@click.option("--json", "json_output", is_flag=True, help="One JSON object per link.")
@click.option(
    "--check-media",
    is_flag=True,
    help="Also find out whether each link's video is archived (one more lookup per link).",
)
@archive_location_options
@proxy_option()
@verbosity_options
def list_links(wayback: WaybackOptions | None, **kwargs: Any) -> None:
    """Print every archived share link under PREFIX once (default sora.chatgpt.com/p/)."""
    voice = Voice(
        quiet=kwargs.pop("quiet"),
        verbose=kwargs.pop("verbose"),
        json_output=kwargs.pop("json_output"),
    )
    assert wayback is not None, "listing never turns the archive off"
    proxy, no_proxy = proxy_settings(kwargs.pop("proxy"))
    run(_list(wayback, voice, proxy=(proxy, no_proxy), **kwargs), voice)


async def _list(
    wayback: WaybackOptions,
    voice: Voice,
    *,
    prefix: str,
    from_: str | None,
    to: str | None,
    check_media: bool,
    proxy: tuple[str | None, frozenset[str]],
) -> int:
    from .._http import Proxy
    from ..archive.client import WaybackClient
    from ..archive.replay import Replay
    from ..options import ResolveOptions

    options = ResolveOptions(
        mode="archive",
        wayback=wayback,
        on_archive_wait=archive_waits(voice),
        proxy=proxy[0],
        no_proxy=proxy[1],
    )
    through = Proxy.of(options.proxy, options.no_proxy)
    client = WaybackClient(wayback, on_wait=options.on_archive_wait, proxy=through)
    source = Replay(client, options)
    return await list_archive(source, options, voice, [prefix], (from_, to), check_media)


async def list_archive(
    source: Replay | WarcArchive,
    options: ResolveOptions,
    voice: Voice,
    prefixes: list[str],
    period: tuple[str | None, str | None],
    check_media: bool,
) -> int:
    """Print each share link ``source`` holds under ``prefixes`` (``wayback list``,
    ``warc list``); with ``check_media``, whether its video is there too (JSON only)."""
    from ..archive.listing import archived_links
    from ..resolvers.archive import ArchiveResolver

    resolver = ArchiveResolver(options, source=source)
    listed = skipped = 0
    try:
        for prefix in prefixes:
            async for found in archived_links(source, prefix, from_=period[0], to=period[1]):
                if not found.readable:
                    skipped += 1
                    continue
                if check_media:
                    await _check_media(resolver, found)
                _print(found, voice)
                listed += 1
    finally:
        await resolver.aclose()
    unreadable = f"; {skipped} more with no readable capture" if skipped else ""
    voice.say(f"{listed} archived share link(s) under {', '.join(prefixes)}{unreadable}")
    return 0


async def _check_media(resolver: ArchiveResolver, found: ArchivedLink) -> None:
    """``whole``, ``pieces_complete``, ``pieces_partial`` (with the share held) or ``none``."""
    from ..errors import ArchivedInPieces, NoVideoFound

    try:
        resolved = await resolver.resolve_from(found.link, found.captures)
    except ArchivedInPieces as exc:
        found.media, found.media_share = "pieces_partial", exc.share_held
        return
    except NoVideoFound:
        found.media, found.media_share = "none", 0.0
        return
    found.media = "pieces_complete" if resolved.pieces else "whole"
    found.media_share = 1.0


def _print(found: ArchivedLink, voice: Voice) -> None:
    if voice.json_output:
        emit_json(found.to_json())
    else:
        click.echo(found.link.canonical)
