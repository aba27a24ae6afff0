"""``sora-browser worker``, ``submit`` and ``temporal-dev``: Temporal from the command line.

Cheap to import: temporalio (and aiohttp, Playwright) load inside the commands, so registering
them on the main group costs ``--help`` nothing. Data goes to stdout (one JSON object per link
with ``--json``, the same fields as ``download --json`` plus ``workflow_id``); messages for a
person go to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from .._cli_common import EXIT_INTERRUPTED, allowed_hosts, output_dir_option
from .data import MAX_BATCH_SIZE

if TYPE_CHECKING:
    from .activities import SoraActivities
    from .connection import ConnectOptions

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(func: F) -> F:
    """Where the cluster is; the env names are the Temporal CLI's own."""
    options = [
        click.option(
            "--address",
            envvar="TEMPORAL_ADDRESS",
            default="127.0.0.1:7233",
            show_default=True,
            help="Temporal frontend HOST:PORT.",
        ),
        click.option(
            "--namespace", envvar="TEMPORAL_NAMESPACE", default="default", show_default=True
        ),
        click.option(
            "--task-queue",
            envvar="SORA_BROWSER_TASK_QUEUE",
            default="sora-browser",
            show_default=True,
        ),
        click.option("--tls", is_flag=True, help="Use TLS (implied by --tls-cert or --api-key)."),
        click.option(
            "--tls-cert",
            envvar="TEMPORAL_TLS_CLIENT_CERT_PATH",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Client certificate for mTLS.",
        ),
        click.option(
            "--tls-key",
            envvar="TEMPORAL_TLS_CLIENT_KEY_PATH",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Client private key for mTLS.",
        ),
        click.option(
            "--tls-ca",
            envvar="TEMPORAL_TLS_SERVER_CA_CERT_PATH",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="CA certificate of the server.",
        ),
        click.option("--api-key", envvar="TEMPORAL_API_KEY", help="API key (Temporal Cloud)."),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing but data and errors."),
        click.option("-v", "--verbose", is_flag=True, help="Log more; tracebacks on errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _connect_options(kwargs: dict[str, Any]) -> ConnectOptions:
    from .connection import ConnectOptions

    return ConnectOptions(
        address=kwargs.pop("address"),
        namespace=kwargs.pop("namespace"),
        tls=kwargs.pop("tls"),
        tls_cert=kwargs.pop("tls_cert"),
        tls_key=kwargs.pop("tls_key"),
        tls_ca=kwargs.pop("tls_ca"),
        api_key=kwargs.pop("api_key"),
    )


def _run(work: Coroutine[Any, Any, int], *, verbose: bool) -> NoReturn:
    """Run ``work``; any failure ends in one line on stderr (a traceback only with -v)."""
    try:
        code = asyncio.run(work)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except Exception as exc:  # connection refused, bad certificate, ...: one clear line
        if verbose:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        click.echo(f"error: {exc}", err=True)
        code = getattr(exc, "exit_code", 1)
    _exit_without_finalizing(code)


def _exit_without_finalizing(code: int) -> NoReturn:
    """Flush what we wrote, then leave without the interpreter's teardown.

    temporalio's Rust core keeps threads that can still take the GIL while CPython finalizes;
    now and then that aborts the process (SIGABRT, "PyGILState_Release: thread state ... must be
    current when releasing", temporalio/sdk-python#300) after all the work is done, turning exit
    1 into 134. Every file and connection is closed by the time ``asyncio.run`` returns, so
    skipping finalization loses nothing.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(message)s")
    if not verbose:  # the SDK's per-poll chatter is noise for a person watching a worker
        logging.getLogger("temporalio").setLevel(logging.WARNING)


@click.command()
@connection_options
@output_dir_option
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Activities this worker runs at once.",
)
@click.option(
    "--allow-host",
    multiple=True,
    metavar="HOST",
    help="Also allow this host (repeatable; env SORA_BROWSER_ALLOW_HOSTS).",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "static", "browser"]),
    default="auto",
    show_default=True,
    help="How links are resolved unless a workflow asks otherwise.",
)
@click.option(
    "--chromium",
    envvar="SORA_BROWSER_CHROMIUM",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Chromium binary to use.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0, max=10),
    default=1,
    show_default=True,
    help="Library retries inside one activity attempt (Temporal retries the rest).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=3600.0,
    show_default=True,
    help="Total seconds one download may take inside an attempt.",
)
@click.option(
    "--graceful-shutdown",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds running activities get to finish on SIGTERM.",
)
def worker(**kwargs: Any) -> None:
    """Run a Temporal worker for the sora-browser workflows and activities."""
    quiet, verbose = kwargs.pop("quiet"), kwargs.pop("verbose")
    _setup_logging(quiet, verbose)
    connect = _connect_options(kwargs)
    _run(_worker(connect, quiet=quiet, **kwargs), verbose=verbose)


async def _worker(
    connect_options: ConnectOptions,
    *,
    task_queue: str,
    max_concurrent: int,
    graceful_shutdown: float,
    quiet: bool,
    **settings: Any,
) -> int:
    from datetime import timedelta

    from .._cli_common import say
    from .worker import connect, run_worker

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
        on_ready=lambda: say(quiet, ready),
    )
    say(quiet, "Worker stopped.")
    return 0


def _activities(
    *,
    output_dir: Path | None,
    allow_host: tuple[str, ...],
    mode: str,
    chromium: Path | None,
    retries: int,
    timeout: float,
) -> SoraActivities:
    from ..options import DownloadOptions, ResolveOptions
    from .activities import SoraActivities

    hosts = allowed_hosts(allow_host)
    return SoraActivities(
        ResolveOptions(mode=mode, allow_hosts=hosts, chromium_path=chromium),  # type: ignore[arg-type]
        DownloadOptions(allow_hosts=hosts, retries=retries, total_timeout=timeout),
        output_dir,
    )


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
    from .devserver import INSTALL_HINT, dev_server_args, find_temporal_cli

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
@click.option(
    "--output-dir",
    "-o",
    metavar="DIR",
    help="Folder for the videos, relative to (or inside) the worker's output folder.",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "static", "browser"]),
    default="auto",
    show_default=True,
    help="auto: as the worker is configured.",
)
@click.option("--batch", is_flag=True, help="Batch workflows instead of one per link.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=MAX_BATCH_SIZE),
    default=MAX_BATCH_SIZE,
    show_default=True,
    help="Links per batch workflow; a longer list starts several.",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Links a batch workflow downloads at once.",
)
@click.option("--wait", is_flag=True, help="Wait for the results and print them.")
@click.option("--json", "json_output", is_flag=True, help="One JSON object per link on stdout.")
@click.option(
    "--heartbeat-timeout",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds of silence after which a worker counts as dead.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Attempts per activity (0: unlimited).",
)
@click.option(
    "--download-timeout",
    type=click.FloatRange(min=1),
    default=3600.0,
    show_default=True,
    help="Seconds one download attempt may take.",
)
def submit(inputs: tuple[str, ...], **kwargs: Any) -> None:
    """Start a workflow per link (or one batch) on the task queue; --wait prints the results.

    URL|FILE: share links, or files with one link per line (``-`` reads stdin). With --wait
    the command exits 1 when any link failed.
    """
    from ..batch import drop_repeats, read_links
    from .data import ActivityPolicy, SoraExtractionInput
    from .starter import submit_links

    quiet, verbose = kwargs.pop("quiet"), kwargs.pop("verbose")
    connect = _connect_options(kwargs)
    # The workers judge the links; this only keeps one workflow per video (the env's
    # allowed hosts help it see that two loopback links are the same).
    urls = drop_repeats(read_links(inputs), allowed_hosts(()), quiet=quiet)
    mode, output_dir = kwargs.pop("mode"), kwargs.pop("output_dir")
    links = [SoraExtractionInput(share_url=u, mode=mode, output_dir=output_dir) for u in urls]
    policy = ActivityPolicy(
        heartbeat_timeout_seconds=kwargs.pop("heartbeat_timeout"),
        maximum_attempts=kwargs.pop("max_attempts"),
        download_timeout_seconds=kwargs.pop("download_timeout"),
    )
    batch, batch_size = kwargs.pop("batch"), kwargs.pop("batch_size")
    batch_size = batch_size if batch else None
    work = submit_links(connect, links, policy, batch_size=batch_size, quiet=quiet, **kwargs)
    _run(work, verbose=verbose)
