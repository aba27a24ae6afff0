"""``sora-browser worker``, ``submit`` and ``temporal-dev``: Temporal from the command line.

Cheap to import: temporalio (and aiohttp, Playwright) load inside the commands, so registering
them on the main group costs ``--help`` nothing. Data goes to stdout (one JSON object per link
with ``--json``, the same fields as ``download --json`` plus ``workflow_id``); messages for a
person go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..temporal.defaults import (
    DEFAULT_ADDRESS,
    DEFAULT_NAMESPACE,
    DEFAULT_TASK_QUEUE,
    MAX_BATCH_SIZE,
)
from .options import (
    F,
    allow_host_option,
    allowed_hosts,
    apply,
    archive_options,
    choice_options,
    chromium_option,
    host_connections_option,
    mode_option,
    number_option,
    output_dir_option,
    proxy_settings,
    retries_option,
    save_options,
    timeout_option,
    verbosity_options,
)
from .runner import Voice, report_failure, run

if TYPE_CHECKING:
    from ..archive.options import WaybackOptions
    from ..temporal.activities import SoraActivities
    from ..temporal.connection import ConnectOptions


def _path_option(name: str, envvar: str, help: str) -> Any:
    kind = click.Path(exists=True, dir_okay=False, path_type=Path)
    return click.option(name, envvar=envvar, type=kind, help=help)


def connection_options(func: F) -> F:
    """Where the cluster is; the env names are the Temporal CLI's own."""
    return apply(
        func,
        [
            click.option(
                "--address",
                envvar="TEMPORAL_ADDRESS",
                default=DEFAULT_ADDRESS,
                show_default=True,
                help="Temporal frontend HOST:PORT.",
            ),
            click.option(
                "--namespace",
                envvar="TEMPORAL_NAMESPACE",
                default=DEFAULT_NAMESPACE,
                show_default=True,
            ),
            click.option(
                "--task-queue",
                envvar="SORA_BROWSER_TASK_QUEUE",
                default=DEFAULT_TASK_QUEUE,
                show_default=True,
            ),
            click.option("--tls", is_flag=True, help="Use TLS (implied by --tls-cert, --api-key)."),
            _path_option("--tls-cert", "TEMPORAL_TLS_CLIENT_CERT_PATH", "Client certificate."),
            _path_option("--tls-key", "TEMPORAL_TLS_CLIENT_KEY_PATH", "Client private key."),
            _path_option("--tls-ca", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "CA of the server."),
            click.option("--api-key", envvar="TEMPORAL_API_KEY", help="API key (Temporal Cloud)."),
            verbosity_options,
        ],
    )


def _connect_options(kwargs: dict[str, Any]) -> ConnectOptions:
    from dataclasses import fields

    from ..temporal.connection import ConnectOptions

    names = [f.name for f in fields(ConnectOptions) if f.name in kwargs]
    return ConnectOptions(**{name: kwargs.pop(name) for name in names})


def _voice(kwargs: dict[str, Any], *, json_output: bool = False) -> Voice:
    return Voice(quiet=kwargs.pop("quiet"), verbose=kwargs.pop("verbose"), json_output=json_output)


def _setup_logging(voice: Voice) -> None:
    level = logging.WARNING if voice.quiet else logging.DEBUG if voice.verbose else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(message)s")
    if not voice.verbose:  # the SDK's per-poll chatter is noise for a person watching a worker
        logging.getLogger("temporalio").setLevel(logging.WARNING)


@click.command()
@connection_options
@output_dir_option("Folder for the videos (default: <system temp>/sora_videos).")
@number_option(
    "--max-concurrent", default=4, help="Activities this worker runs at once.", minimum=1
)
@allow_host_option()
@mode_option("How links are resolved unless a workflow asks otherwise.")
@chromium_option()
@retries_option(
    1, "Library retries inside one activity attempt (Temporal retries the rest).", maximum=10
)
@timeout_option(3600.0, "Total seconds one download may take inside an attempt.")
@host_connections_option("over every activity of this worker")
@archive_options
@number_option(
    "--graceful-shutdown", default=10.0, help="Seconds running activities get to finish on SIGTERM."
)
def worker(**kwargs: Any) -> None:
    """Run a Temporal worker for the sora-browser workflows and activities."""
    voice = _voice(kwargs)
    allowed_hosts(kwargs["allow_host"])  # a bad value is exit 2 now, not once connected
    proxy_settings(None)
    _setup_logging(voice)
    connect = _connect_options(kwargs)
    run(_worker(connect, voice=voice, **kwargs), voice, hard_exit=True)


async def _worker(
    connect_options: ConnectOptions,
    *,
    task_queue: str,
    max_concurrent: int,
    graceful_shutdown: float,
    voice: Voice,
    **settings: Any,
) -> int:
    from datetime import timedelta

    from ..temporal.worker import connect, run_worker

    activities = _activities(**settings)
    client = await connect(connect_options)
    ready = (
        f"Worker ready on task queue {task_queue!r} at {connect_options.address}"
        f" (namespace {connect_options.namespace}, output {activities.output_dir})"
    )
    await run_worker(
        client,
        task_queue,
        activities,
        max_concurrent=max_concurrent,
        graceful_shutdown=timedelta(seconds=graceful_shutdown),
        on_ready=lambda: voice.say(ready),
    )
    voice.say("Worker stopped.")
    return 0


def _activities(
    *,
    output_dir: Path | None,
    allow_host: tuple[str, ...],
    mode: str,
    chromium: Path | None,
    retries: int,
    timeout: float,
    host_connections: int,
    wayback: WaybackOptions | None,
) -> SoraActivities:
    from ..options import DownloadOptions, ResolveOptions
    from ..temporal.activities import SoraActivities

    if mode == "archive" and wayback is None:
        raise click.UsageError("--mode archive needs the archive; drop --no-wayback")
    hosts = allowed_hosts(allow_host)
    proxy, no_proxy = proxy_settings(None)  # the worker's environment, as curl reads it
    network: dict[str, Any] = {"allow_hosts": hosts, "proxy": proxy, "no_proxy": no_proxy}
    resolve = ResolveOptions(
        mode=mode,  # type: ignore[arg-type]
        chromium_path=chromium,
        wayback=wayback,
        on_archive_wait=lambda seconds, why: logging.getLogger(__name__).warning(
            "waiting %.0f s for the archive (%s)", seconds, why
        ),
        **network,
    )
    download = DownloadOptions(
        retries=retries, total_timeout=timeout, host_connections=host_connections, **network
    )
    return SoraActivities(resolve, download, output_dir)


@click.command("temporal-dev")
@click.option("--port", type=click.IntRange(1, 65535), default=7233, show_default=True)
@click.option(
    "--ui-port",
    type=click.IntRange(1, 65535),
    help="Also serve the web UI on this port (headless without it).",
)
@click.option(
    "--db-filename",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep state in this SQLite file (in memory without it).",
)
def temporal_dev(port: int, ui_port: int | None, db_filename: Path | None) -> None:
    """Run a local Temporal dev server on 127.0.0.1 for trying the worker out."""
    from ..temporal.devserver import INSTALL_HINT, dev_server_args, find_temporal_cli

    cli = find_temporal_cli()
    if cli is None:
        raise click.ClickException(f"The Temporal CLI was not found: {INSTALL_HINT}")
    args = dev_server_args(cli, port=port, ui_port=ui_port, db_filename=db_filename)
    click.echo(f"Temporal dev server on 127.0.0.1:{port} (Ctrl-C stops it)", err=True)
    # Replace this process: Ctrl-C and SIGTERM then reach the server directly.
    os.execv(args[0], args)


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="URL|FILE...")
@connection_options
@output_dir_option(
    "Folder for the videos, relative to (or inside) the worker's output folder.",
    path_type=False,
)
@mode_option("auto: as the worker is configured.")
@click.option("--batch", is_flag=True, help="Batch workflows instead of one per link.")
@number_option(
    "--batch-size",
    default=MAX_BATCH_SIZE,
    help="Links per batch workflow; a longer list starts several.",
    minimum=1,
    maximum=MAX_BATCH_SIZE,
)
@number_option("--max-concurrent", default=4, help="Links a batch runs at once.", minimum=1)
@click.option("--wait", is_flag=True, help="Wait for the results and print them.")
@click.option("--json", "json_output", is_flag=True, help="One JSON object per link on stdout.")
@number_option(
    "--heartbeat-timeout",
    default=30.0,
    help="Seconds of silence after which a worker counts as dead.",
    minimum=1,
)
@number_option("--max-attempts", default=5, help="Attempts per activity (0: unlimited).")
@number_option(
    "--download-timeout", default=3600.0, help="Seconds one download attempt may take.", minimum=1
)
@choice_options
@save_options
def submit(inputs: tuple[str, ...], saving: dict[str, Any], **kwargs: Any) -> None:
    """Start a workflow per link (or one batch) on the task queue; --wait prints the results.

    URL|FILE: share links, or files with one link per line (``-`` reads stdin). With --wait
    the command exits 1 when any link failed.
    """
    from ..errors import BadInput
    from ..temporal.data import ActivityPolicy, SoraExtractionInput
    from .batch import drop_repeats
    from .inputs import read_links
    from .starter import submit_links

    voice = _voice(kwargs, json_output=kwargs.pop("json_output"))
    connect = _connect_options(kwargs)
    hosts = allowed_hosts(())  # the env's: they help see that two loopback links are the same
    try:
        given = read_links(inputs, hosts)
    except BadInput as exc:  # a links file that cannot be read: exit 2 before connecting
        sys.exit(report_failure(voice, None, exc))
    for note in given.notes:
        voice.say(note)
    # The workers judge the links; this only keeps one workflow per video.
    urls = drop_repeats(given.links, hosts, quiet=voice.quiet)
    mode, output_dir = kwargs.pop("mode"), kwargs.pop("output_dir")
    choice = {"quality": kwargs.pop("quality"), "no_watermark": kwargs.pop("no_watermark")}
    saved = {
        "output_template": saving["template"],
        "write_info_json": saving["write_info_json"],
        "force_overwrites": saving["force_overwrites"],
    }
    links = [
        SoraExtractionInput(share_url=u, mode=mode, output_dir=output_dir, **choice, **saved)
        for u in urls
    ]
    policy = ActivityPolicy(
        heartbeat_timeout_seconds=kwargs.pop("heartbeat_timeout"),
        maximum_attempts=kwargs.pop("max_attempts"),
        download_timeout_seconds=kwargs.pop("download_timeout"),
    )
    batch, batch_size = kwargs.pop("batch"), kwargs.pop("batch_size")
    batch_size = batch_size if batch else None
    work = submit_links(connect, links, policy, batch_size=batch_size, voice=voice, **kwargs)
    run(work, voice, hard_exit=True)
