"""``sora-browser warc list FILE...``: every Sora share link the WARC files hold.

The same shape as ``wayback list``: bare links on stdout, one a line (so ``batch --warc
FILE`` takes them as they are), and with ``--json`` one object per link, including whether
its video is in the WARCs too (``media``: ``whole``, ``pieces_complete``, ``pieces_partial``
or ``none``). Nothing touches the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import cache_folder, verbosity_options
from .runner import Voice, run

SORA_PREFIXES = ["sora.chatgpt.com/", "sora.com/"]


@click.group()
def warc() -> None:
    """Ask WARC files (ArchiveTeam grabs, Browsertrix, ArchiveBox, pywb) what they hold."""


@warc.command("list")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "json_output", is_flag=True, help="One JSON object per link.")
@verbosity_options
def list_links(files: tuple[Path, ...], **kwargs: Any) -> None:
    """Print every Sora share link in FILES once (folders: every WARC inside)."""
    voice = Voice(
        quiet=kwargs.pop("quiet"),
        verbose=kwargs.pop("verbose"),
        json_output=kwargs.pop("json_output"),
    )
    run(_list(files, voice), voice)


async def _list(files: tuple[Path, ...], voice: Voice) -> int:
    from ..archive.warc import WarcArchive
    from ..options import ResolveOptions
    from .wayback import list_archive

    index_cache = cache_folder().parent
    options = ResolveOptions(mode="archive", warc_paths=files, index_cache_dir=index_cache)
    source = WarcArchive(files, cache_dir=index_cache)
    return await list_archive(source, options, voice, SORA_PREFIXES, (None, None), True)
