"""``sora-browser batch``: many links, a bounded number at a time, one result line per link.

One service (so one aiohttp session and at most one browser) serves every link. A failed link
never stops the others; the command exits 1 when any failed, after trying them all. With
``--archive FILE`` links already downloaded are skipped, as in yt-dlp's download archive.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from .options import (
    Settings,
    common_options,
    download_options,
    number_option,
    output_dir_option,
)
from .progress import format_size
from .runner import KEPT_PART, emit_json, run, say

ARCHIVE_PREFIX = "sora "


def read_links(inputs: Iterable[str]) -> list[str]:
    """URLs from arguments and from files of links (``-`` is stdin); ``#`` starts a comment."""
    links: list[str] = []
    for item in inputs:
        if item == "-":
            links.extend(_link_lines(sys.stdin.read()))
        elif "://" not in item and Path(item).is_file():
            links.extend(_link_lines(Path(item).read_text(encoding="utf-8")))
        else:
            links.append(item.strip())
    return list(dict.fromkeys(link for link in links if link))


def _link_lines(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def load_archive(path: Path | None) -> set[str]:
    if path is None or not path.exists():
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {
        line[len(ARCHIVE_PREFIX) :].strip() for line in lines if line.startswith(ARCHIVE_PREFIX)
    }


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="FILE|URL...")
@output_dir_option("Folder for the videos (default: <system temp>/sora_videos).")
@number_option(
    "--jobs", "-j", default=2, help="Links handled at the same time.", minimum=1, maximum=16
)
@click.option(
    "--archive",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record finished share ids here and skip those already recorded.",
)
@common_options
@download_options
def batch(
    settings: Settings,
    inputs: tuple[str, ...],
    output_dir: Path | None,
    jobs: int,
    archive: Path | None,
    download: dict[str, Any],
) -> None:
    """Download many links: arguments, or files with one link per line."""
    links = drop_repeats(read_links(inputs), settings.allow_hosts, quiet=settings.quiet)
    if not links:
        raise click.UsageError("no links given")
    work = _batch(settings, links, output_dir, jobs, archive, download)
    run(work, settings.voice, on_interrupt=KEPT_PART)


def drop_repeats(links: list[str], allow_hosts: frozenset[str], *, quiet: bool) -> list[str]:
    """Keep the first of links that name the same video, told apart by share id.

    ``x/p/s_1``, ``https://x/p/s_1/`` and ``...?utm_source=y`` are one video and one output
    file; downloading them side by side would only make all but one fail on the file's lock.
    Links that do not parse are kept, to be reported with the rest.
    """
    from ..errors import BadInput
    from ..urls import UrlPolicy, parse_share_url

    policy = UrlPolicy(allow_hosts)
    first_by_id: dict[str, str] = {}
    kept: list[str] = []
    for link in links:
        try:
            share_id = parse_share_url(link, policy=policy).share_id
        except BadInput:
            kept.append(link)
            continue
        if share_id in first_by_id:
            say(quiet, f"- {link}: same video as {first_by_id[share_id]}, skipped")
            continue
        first_by_id[share_id] = link
        kept.append(link)
    return kept


async def _batch(
    settings: Settings,
    links: list[str],
    output_dir: Path | None,
    jobs: int,
    archive: Path | None,
    download: dict[str, Any],
) -> int:
    from ..errors import local_errors
    from ..output import ready_default_dir

    folder = output_dir or ready_default_dir()
    with local_errors("create the output folder"):
        folder.mkdir(parents=True, exist_ok=True)
    done = load_archive(archive)
    limit = asyncio.Semaphore(jobs)
    async with settings.service(**download) as service:
        outcomes = await asyncio.gather(
            *(_one(settings, service, link, folder, limit, done, archive) for link in links)
        )
    failed = outcomes.count(False)
    say(settings.quiet, f"{len(links) - failed} of {len(links)} links done, {failed} failed")
    return 1 if failed else 0


async def _one(
    settings: Settings,
    service: Any,
    link: str,
    folder: Path,
    limit: asyncio.Semaphore,
    done: set[str],
    archive: Path | None,
) -> bool:
    from ..errors import SoraBrowserError
    from ..output import output_path_for
    from ..urls import UrlPolicy, parse_share_url
    from .json_output import error_json

    async with limit:
        try:
            share = parse_share_url(link, policy=UrlPolicy(settings.allow_hosts))
            if share.share_id in done:
                say(settings.quiet, f"- {share.share_id}: already in the archive, skipped")
                return True
            target = output_path_for(share.share_id, folder)
            extraction = await service.extract(share.url, target)
        except SoraBrowserError as exc:
            if settings.json_output:
                emit_json(error_json(link, exc))
            click.echo(f"✗ {link}: {exc}", err=True)
            return False
    result = extraction.download
    if settings.json_output:
        emit_json(extraction.to_json())
    say(settings.quiet, f"✓ {share.share_id}  {format_size(result.size)}  {result.path}")
    if archive is not None:
        with archive.open("a", encoding="utf-8") as handle:
            handle.write(f"{ARCHIVE_PREFIX}{share.share_id}\n")
    return True
