"""The ``sora-browser`` command: a thin shell over the library (DESIGN.md, "CLI contract").

Data goes to stdout (a path, a URL, or one JSON object per link with ``--json``); everything
meant for a person goes to stderr. Every error ends in one line and the exit code its class
carries; a traceback only with ``-v``. Heavy modules (aiohttp, Playwright, temporalio) are
imported inside the commands so ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import click

from ._cli_common import (
    KEPT_PART,
    Settings,
    build_service,
    common_options,
    download_options,
    emit_json,
    run_command,
    say,
)
from ._progress import ProgressLine, format_size

if TYPE_CHECKING:
    from .service import Extraction

__version__ = "0.1.0"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sora-browser")
def main() -> None:
    """Turn Sora share links into MP4 files on disk."""


@main.command()
@click.argument("url")
@click.argument("output", required=False, type=click.Path())
@common_options
@download_options
def download(
    settings: Settings, url: str, output: str | None, connections: int, limit_rate: float | None
) -> None:
    """Download the video behind a share link URL to OUTPUT.

    OUTPUT is a file, or a folder (then <share-id>.mp4 inside it): an existing one, or any
    path ending in "/" (created). Default: <system temp>/sora_videos/<share-id>.mp4.
    """
    work = _download(settings, url, output, connections, limit_rate)
    run_command(settings, url, work, on_interrupt=KEPT_PART)


async def _download(
    settings: Settings, url: str, output: str | None, connections: int, limit_rate: float | None
) -> int:
    progress = ProgressLine(enabled=not settings.quiet and not settings.json_output)
    async with (
        _browser_first(settings, url, "sora_browser.service"),
        build_service(settings, connections=connections, limit_rate=limit_rate) as service,
    ):
        try:
            extraction = await service.extract(url, output, progress=progress.update)
        finally:
            progress.close()
    _report_success(settings, extraction)
    return 0


def _browser_first(
    settings: Settings, url: str, *modules: str
) -> AbstractAsyncContextManager[None]:
    """In a browser-only run, launch Chromium first and import ``modules`` while it starts.

    The link is checked before anything starts: a bad one ends with exit 2 at once, without
    paying for a browser it would never use.
    """
    options = settings.resolve_options()
    if not options.browser_only:
        return contextlib.nullcontext()
    from .urls import UrlPolicy, parse_share_url

    parse_share_url(url, policy=UrlPolicy(options.allow_hosts))
    from .resolvers._launch import launched_early

    return launched_early(options.chromium_path, *modules)


def _report_success(settings: Settings, extraction: Extraction) -> None:
    from .reporting import download_json

    result = extraction.download
    if settings.json_output:
        emit_json(download_json(extraction.resolved, result))
    else:
        click.echo(str(result.path))
    if settings.verbose:
        resolved = extraction.resolved
        say(settings.quiet, f"  from {resolved.mp4_url} ({resolved.resolver})")
    say(settings.quiet, f"✓ Download complete: {result.path}  Size: {format_size(result.size)}")


@main.command()
@click.argument("url")
@common_options
def resolve(settings: Settings, url: str) -> None:
    """Print the direct MP4 URL behind a share link URL (nothing is downloaded)."""
    run_command(settings, url, _resolve(settings, url))


async def _resolve(settings: Settings, url: str) -> int:
    async with _browser_first(
        settings, url, "sora_browser.client", "sora_browser.resolvers.browser"
    ):
        from .client import SoraClient

        async with SoraClient(settings.resolve_options()) as client:
            resolved = await client.resolve(url)
    if settings.json_output:
        emit_json(resolved.to_json())
    else:
        click.echo(resolved.mp4_url)
    if settings.verbose:
        say(
            settings.quiet,
            f"  found by {resolved.resolver}/{resolved.strategy}"
            f" variant={resolved.variant} expires={resolved.expires_at}",
        )
    return 0


def _register_commands() -> None:
    # Each is cheap to import;
    # temporalio loads only inside the Temporal commands.
    from .batch import batch
    from .temporal.commands import submit, temporal_dev, worker

    for command in (batch, worker, submit, temporal_dev):
        main.add_command(command)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
