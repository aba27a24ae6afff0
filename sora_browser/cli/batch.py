"""``sora-browser batch``: many links, a bounded number at a time, one result line per link.

One service (so one aiohttp session and at most one browser) serves every link. A failed link
never stops the others, whatever it failed with (an unexpected error is reported for its link
like any other); the command exits 1 when any failed, after trying them all, with the summary.
With ``--archive FILE`` links already downloaded are skipped, as in yt-dlp's download archive.

Everything that can be checked is checked before the first link starts: the links (``inputs``:
UTF-8 files, exit 2 otherwise), the output folder, and the archive file (its folder created,
opened for appending without following a planted symlink; exit 5 when it cannot be).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .batchview import BatchView, Outcome, view_for
from .options import (
    Settings,
    common_options,
    download_options,
    number_option,
    output_dir_option,
    save_options,
)
from .runner import KEPT_PART, emit_json, run, say

if TYPE_CHECKING:
    import asyncio

ARCHIVE_PREFIX = "sora "


class DownloadArchive:
    """The ``--archive`` file: share ids already done, and a descriptor to add more."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.done: set[str] = set()
        self._fd = -1

    @contextlib.contextmanager
    def opened(self) -> Iterator[DownloadArchive]:
        """Read the ids and hold the file open for appending (never through a symlink)."""
        from .. import safefs
        from ..errors import local_errors
        from .inputs import decode

        if self.path is None:
            yield self
            return
        with local_errors("create the archive's folder"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        text = decode(safefs.read_bytes(self.path) or b"", str(self.path))
        self.done = {
            line.removeprefix(ARCHIVE_PREFIX).strip()
            for line in text.splitlines()
            if line.startswith(ARCHIVE_PREFIX)
        }
        self._fd = safefs.open_append(self.path)
        try:
            yield self
        finally:
            os.close(self._fd)
            self._fd = -1

    def add(self, share_id: str) -> None:
        from ..errors import local_errors

        if self._fd >= 0:
            with local_errors(f"write {self.path}"):
                os.write(self._fd, f"{ARCHIVE_PREFIX}{share_id}\n".encode())


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="FILE|URL...")
@output_dir_option("Folder for the videos (default: <system temp>/sora_videos).")
@number_option(
    "--jobs", "-j", default=2, help="Links handled at the same time.", minimum=1, maximum=16
)
@click.option(
    "--download-archive",
    "--archive",
    "archive",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record finished share ids in this file and skip those already recorded (yt-dlp's"
    " download archive; not the Wayback archive, see --wayback).",
)
@common_options
@download_options
@save_options
def batch(
    settings: Settings,
    inputs: tuple[str, ...],
    output_dir: Path | None,
    jobs: int,
    archive: Path | None,
    download: dict[str, Any],
    saving: dict[str, Any],
) -> None:
    """Download many links: arguments, or files with one link per line (UTF-8; - for stdin)."""
    archived = DownloadArchive(archive)
    work = _batch(settings, inputs, output_dir, jobs, archived, download, saving)
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
    inputs: tuple[str, ...],
    output_dir: Path | None,
    jobs: int,
    archive: DownloadArchive,
    download: dict[str, Any],
    saving: dict[str, Any],
) -> int:
    import asyncio  # here, not at the top: `--help` should not pay for it

    from ..errors import BadInput, local_errors
    from ..output import ready_default_dir
    from .inputs import read_links

    given = read_links(inputs, settings.allow_hosts, media=settings.resolve_options().reads_archive)
    for note in given.notes:
        say(settings.quiet, note)
    links = drop_repeats(given.links, settings.allow_hosts, quiet=settings.quiet)
    if not links:
        raise BadInput("No links given")
    folder = output_dir or ready_default_dir()
    with local_errors("create the output folder"):
        folder.mkdir(parents=True, exist_ok=True)
    run = _Run(
        settings,
        folder,
        asyncio.Semaphore(jobs),
        archive,
        view_for(len(links), quiet=settings.quiet),
    )
    with archive.opened():
        async with settings.service(saving, **download) as service:
            outcomes = await asyncio.gather(*(run.one(service, link) for link in links))
    run.view.close(outcomes)
    return 1 if any(o.state == "failed" for o in outcomes) else 0


@dataclass
class _Run:
    """What every link of one batch shares."""

    settings: Settings
    folder: Path
    limit: asyncio.Semaphore
    archive: DownloadArchive
    view: BatchView

    async def one(self, service: Any, link: str) -> Outcome:
        async with self.limit:
            try:
                outcome = await self._extract(service, link)
            except Exception as exc:  # a bug in one link must not take the others down
                outcome = self._failed(link, exc)
        self.view.finished(outcome)
        return outcome

    async def _extract(self, service: Any, link: str) -> Outcome:
        from ..urls import UrlPolicy, parse_share_url

        share = parse_share_url(link, policy=UrlPolicy(self.settings.allow_hosts))
        if share.share_id in self.archive.done:
            return Outcome(link, "skipped", share.share_id, reason="already in the archive")
        progress = self.view.started(link)
        extraction = await service.extract(share.url, self.folder, progress=progress)
        self.archive.add(share.share_id)
        if self.settings.json_output:
            emit_json(extraction.to_json())
        result = extraction.download
        if extraction.skipped:
            reason = f"already downloaded: {result.path}"
            return Outcome(link, "skipped", share.share_id, result.size, result.path, reason)
        return Outcome(link, "done", share.share_id, result.size, result.path)

    def _failed(self, link: str, exc: Exception) -> Outcome:
        from ..errors import SoraBrowserError
        from .json_output import error_json

        if self.settings.json_output:
            emit_json(error_json(link, exc))
        if self.settings.verbose:
            traceback.print_exception(exc, file=sys.stderr)
        if isinstance(exc, SoraBrowserError):
            return Outcome(link, "failed", reason=str(exc))
        return Outcome(
            link, "failed", reason=f"internal error (please report; -v shows details): {exc}"
        )
