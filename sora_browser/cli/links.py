"""``sora-browser download`` and ``resolve``: one share link, as a file or as its URL."""

from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import click

from .options import Settings, common_options, download_options, save_options
from .progress import ProgressLine, format_size
from .runner import KEPT_PART, emit_json, run

if TYPE_CHECKING:
    from ..service import Extraction


@click.command()
@click.argument("url", required=False)
@click.argument("output", required=False, type=click.Path())
@common_options
@download_options
@save_options
def download(
    settings: Settings,
    url: str | None,
    output: str | None,
    download: dict[str, Any],
    saving: dict[str, Any],
) -> None:
    """Download the video behind a share link URL to OUTPUT.

    OUTPUT is a file, or a folder (then <share-id>.mp4 inside it, or the --template name): an
    existing one, or any path ending in "/" (created). Default: <system temp>/sora_videos/.
    A video already at its path is not fetched again ("already downloaded"). With --page FILE
    the URL may be left out: the saved page says which link it is.
    """
    url, output = link_and_output(settings, url, output)
    work = _download(settings, url, output, download, saving)
    run(work, settings.voice, share_url=url or str(settings.page), on_interrupt=KEPT_PART)


def link_and_output(
    settings: Settings, url: str | None, output: str | None
) -> tuple[str | None, str | None]:
    """URL and OUTPUT as typed; with ``--page`` a lone argument that is no link is OUTPUT."""
    if settings.page is None:
        if url is None:
            raise click.UsageError("Missing argument 'URL' (or give --page FILE).")
        return url, output
    if url is not None and output is None and not _is_link(url, settings.allow_hosts):
        return None, url
    return url, output


def _is_link(text: str, allow_hosts: frozenset[str]) -> bool:
    from ..errors import BadInput
    from ..urls import UrlPolicy, parse_share_url

    if "://" in text:
        return True
    try:
        parse_share_url(text, policy=UrlPolicy(allow_hosts), accept_media=True)
    except BadInput:
        return False
    return True


async def _download(
    settings: Settings,
    url: str | None,
    output: str | None,
    download: dict[str, Any],
    saving: dict[str, Any],
) -> int:
    progress = ProgressLine(enabled=not settings.quiet and not settings.json_output)
    async with (
        _browser_first(settings, url, "sora_browser.service"),
        settings.service(saving, **download) as service,
    ):
        try:
            extraction = await service.extract(url, output, progress=progress.update)
        finally:
            progress.close()
    _report_success(settings, extraction)
    return 0


def _browser_first(
    settings: Settings, url: str | None, *modules: str
) -> AbstractAsyncContextManager[None]:
    """In a browser-only run, launch Chromium first and import ``modules`` while it starts.

    The link is checked before anything starts: a bad one ends with exit 2 at once, without
    paying for a browser it would never use.
    """
    options = settings.resolve_options()
    if not options.browser_only or url is None:
        return contextlib.nullcontext()
    from ..urls import UrlPolicy, parse_share_url

    parse_share_url(url, policy=UrlPolicy(options.allow_hosts))
    from ..resolvers.browser.launch import launched_early

    return launched_early(options.chromium_path, *modules)


def _report_success(settings: Settings, extraction: Extraction) -> None:
    result = extraction.download
    if settings.json_output:
        emit_json(extraction.to_json())
    else:
        click.echo(str(result.path))
    if extraction.skipped:
        settings.voice.say(f"already downloaded: {result.path}")
        return
    settings.note_watermark(extraction.resolved.watermarked)
    if settings.verbose:
        resolved = extraction.resolved
        settings.voice.say(f"  from {result.url} ({resolved.resolver})")
    settings.voice.say(f"✓ Download complete: {result.path}  Size: {format_size(result.size)}")


@click.command()
@click.argument("url", required=False)
@common_options
def resolve(settings: Settings, url: str | None) -> None:
    """Print the direct MP4 URL behind a share link URL (nothing is downloaded)."""
    url, _ = link_and_output(settings, url, None)
    run(_resolve(settings, url), settings.voice, share_url=url or str(settings.page))


async def _resolve(settings: Settings, url: str | None) -> int:
    async with _browser_first(
        settings, url, "sora_browser.client", "sora_browser.resolvers.browser.resolver"
    ):
        from ..client import SoraClient

        async with SoraClient(settings.resolve_options()) as client:
            resolved = await client.resolve(url)
    if settings.json_output:
        emit_json(resolved.to_json())
    else:
        click.echo(resolved.mp4_url)
    settings.note_watermark(resolved.watermarked)
    if settings.verbose:
        settings.voice.say(
            f"  found by {resolved.resolver}/{resolved.strategy}"
            f" variant={resolved.variant} expires={resolved.expires_at}"
        )
    return 0
