"""The one runner every command goes through, and the two ways it speaks.

``run`` turns whatever a command's coroutine ends with into one line and the exit code its
error class carries (docs/ARCHITECTURE.md, exit codes): a traceback only with ``-v``, ``130``
on Ctrl-C, the JSON error object when ``--json`` asked for one. Data goes to stdout (``emit_json``),
messages for a person to stderr (``say``). Cheap to import: only click.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, NoReturn

import click

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a tool the pipe's reader left behind."""
INTERRUPTED = "Interrupted."
KEPT_PART = "Interrupted; a partial download is kept as a .part file for resume."


@dataclass(frozen=True, slots=True, kw_only=True)
class Voice:
    """How a command talks: ``-q``, ``-v`` and ``--json``."""

    quiet: bool = False
    verbose: bool = False
    json_output: bool = False

    def say(self, message: str) -> None:
        say(self.quiet, message)


def say(quiet: bool, message: str) -> None:
    """A line for a person, on stderr, unless ``-q``."""
    if not quiet:
        click.echo(message, err=True)


def emit_json(record: dict[str, Any]) -> None:
    """One JSON object on one line of stdout, flushed so a pipeline sees each link at once."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def run(
    work: Coroutine[Any, Any, int],
    voice: Voice,
    *,
    share_url: str | None = None,
    on_interrupt: str = INTERRUPTED,
    hard_exit: bool = False,
) -> NoReturn:
    """Run ``work`` to its exit code; any failure ends in one line (or JSON) and its code.

    ``hard_exit`` leaves without the interpreter's teardown, for commands that loaded
    temporalio (see ``_exit_without_finalizing``).
    """
    try:
        import asyncio  # imported when a command runs: `--help` needs no event loop

        code = asyncio.run(work)
    except KeyboardInterrupt:
        click.echo(on_interrupt, err=True)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout left (``| head``): nothing more to say, and no one to say it to.
        _quiet_stdout()
        code = EXIT_BROKEN_PIPE
    except Exception as exc:  # every failure a user can hit ends here, in one line
        code = report_failure(voice, share_url, exc)
    if hard_exit:
        _exit_without_finalizing(code)
    sys.exit(code)


def report_failure(
    voice: Voice, share_url: str | None, exc: BaseException, *, prefix: str = ""
) -> int:
    """Print ``exc`` as one line (and a JSON record with ``--json``); return its exit code.

    ``prefix`` starts the line (batch names the link a failure belongs to).
    """
    from ..errors import SoraBrowserError
    from .json_output import error_json

    if voice.verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if voice.json_output and share_url is not None:
        emit_json(error_json(share_url, exc))
    known = isinstance(exc, SoraBrowserError)
    kind = "error" if known else "internal error (please report; -v shows details)"
    click.echo(f"{prefix}{kind}: {exc}", err=True)
    return exc.exit_code if isinstance(exc, SoraBrowserError) else 1


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit raises no second BrokenPipeError."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


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
