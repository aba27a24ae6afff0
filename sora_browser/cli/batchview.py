"""What ``batch`` shows while it works, and the summary it ends with.

On a terminal (``LiveView``, drawn with rich): one overall line (links done, skipped and failed
of the total, bytes, rate, time left) and a line per download in flight, with each finished
link printed above them as it ends; at the end a table of every link: done, skipped, failed
and why. Anywhere else (``PlainView``: a log file, a pipe, CI) one plain line per link as it
ends, then the counts. ``-q`` keeps both silent. rich is imported only for a terminal.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from .progress import format_size
from .runner import say

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ..models import ProgressCallback

State = Literal["done", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one link of a batch ended."""

    link: str
    state: State
    share_id: str | None = None
    size: int = 0
    path: Path | None = None
    reason: str = ""

    def line(self) -> str:
        if self.state == "done":
            return f"✓ {self.share_id}  {format_size(self.size)}  {self.path}"
        if self.state == "skipped":
            return f"- {self.share_id}: {self.reason}"
        return f"✗ {self.link}: {self.reason}"


class BatchView(Protocol):
    def started(self, link: str) -> ProgressCallback | None: ...
    def finished(self, outcome: Outcome) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self, outcomes: list[Outcome]) -> None: ...


def view_for(total: int, *, quiet: bool) -> BatchView:
    """The live view on a terminal, plain lines anywhere else."""
    if not quiet and sys.stderr.isatty():
        return LiveView(total)
    return PlainView(quiet=quiet)


def counts(outcomes: list[Outcome]) -> str:
    """``3 of 4 links done, 1 failed (1 already there)``: a skipped link is a done one."""
    failed = sum(o.state == "failed" for o in outcomes)
    skipped = sum(o.state == "skipped" for o in outcomes)
    line = f"{len(outcomes) - failed} of {len(outcomes)} links done, {failed} failed"
    return line + (f" ({skipped} already there)" if skipped else "")


class PlainView:
    """One line per link as it ends, then the counts; nothing with ``-q``."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def started(self, link: str) -> ProgressCallback | None:
        return None

    def finished(self, outcome: Outcome) -> None:
        # A failure is said even with -q: it is why the exit code is 1.
        say(self.quiet and outcome.state != "failed", outcome.line())

    def note(self, text: str) -> None:
        say(self.quiet, text)

    def close(self, outcomes: list[Outcome]) -> None:
        say(self.quiet, counts(outcomes))


class LiveView:
    """The terminal view: an overall line and a line per download, then a summary table."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.console = Console(stderr=True, highlight=False)
        self.progress: Progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.total = total
        self.ended: list[Outcome] = []
        self.sizes: dict[str, tuple[int, int | None]] = {}
        self.tasks: dict[str, TaskID] = {}
        self.overall: TaskID = self.progress.add_task(self._headline(), total=None)
        self.progress.start()

    def started(self, link: str) -> ProgressCallback:
        task = self.progress.add_task("  " + _short(link), total=None)

        def update(done: int, total: int | None) -> None:
            self.progress.update(task, completed=done, total=total)
            self.sizes[link] = (done, total)
            self._refresh_overall()

        self.sizes[link] = (0, None)
        self.tasks[link] = task
        return update

    def finished(self, outcome: Outcome) -> None:
        task = self.tasks.pop(outcome.link, None)
        if task is not None:
            self.progress.remove_task(task)
        self.ended.append(outcome)
        self.progress.console.print(outcome.line(), markup=False)
        self._refresh_overall()

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False)

    def close(self, outcomes: list[Outcome]) -> None:
        self.progress.stop()
        self.console.print(_summary(outcomes))
        self.console.print(counts(outcomes), markup=False)

    def _headline(self) -> str:
        done = sum(o.state == "done" for o in self.ended)
        skipped = sum(o.state == "skipped" for o in self.ended)
        failed = sum(o.state == "failed" for o in self.ended)
        return (
            f"links {len(self.ended)}/{self.total}: {done} done, {skipped} skipped, {failed} failed"
        )

    def _refresh_overall(self) -> None:
        done = sum(d for d, _ in self.sizes.values())
        totals = [t for _, t in self.sizes.values()]
        total = sum(t or 0 for t in totals) if totals and all(totals) else None
        self.progress.update(
            self.overall, description=self._headline(), completed=done, total=total
        )


def _short(link: str, width: int = 40) -> str:
    tail = link.rstrip("/").rsplit("/", 1)[-1]
    return tail if len(tail) <= width else tail[: width - 1] + "…"


def _summary(outcomes: list[Outcome]) -> object:
    from rich.table import Table

    table = Table(title="Summary", title_justify="left")
    for column in ("link", "result", "size", "file or reason"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        size = format_size(outcome.size) if outcome.state != "failed" else ""
        where = str(outcome.path) if outcome.state != "failed" else outcome.reason
        table.add_row(outcome.share_id or outcome.link, outcome.state, size, where)
    return table
