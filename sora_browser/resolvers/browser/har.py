"""HAR files: replaying one offline, and recording a session without writing through a link.

Playwright writes a context's HAR to the path it was given when the context closes, following
whatever is there. So each context records into its own file in a private temporary folder,
and only the HAR of a context that resolved a link is moved to the user's path, by
``safefs.place_file``: a symlink planted at that path is replaced, never followed. Spare
contexts (made ahead of time, closed unused) no longer overwrite a recorded HAR with an empty
one.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from ... import safefs
from ...errors import BadInput


class HarRecorder:
    """Gives each context its own HAR file; keeps the one of a context that did the work."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._folder: Path | None = None
        self._numbers = itertools.count()
        self._paths: dict[int, Path] = {}

    def context_args(self) -> dict[str, Any]:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="sora-har-"))  # mode 0700, fresh name
        path = self._folder / f"{next(self._numbers)}.har"
        return {"record_har_path": str(path), "record_har_content": "embed"}

    def opened(self, context: BrowserContext, args: dict[str, Any]) -> None:
        self._paths[id(context)] = Path(args["record_har_path"])

    def closed(self, context: BrowserContext, *, keep: bool) -> None:
        """After ``context.close()``: move its HAR into place, or drop it."""
        path = self._paths.pop(id(context), None)
        if path is None:
            return
        if keep and path.exists():
            safefs.place_file(path, self.target)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def cleanup(self) -> None:
        folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


async def replay_har(context: BrowserContext, har: Path) -> None:
    """Answer the context's requests from ``har``; a file that is not a HAR is bad input."""
    try:
        await context.route_from_har(har, not_found="abort")
    except PlaywrightError as exc:
        # Playwright's own words (missing file, JSON error), first line only.
        reason = exc.message.strip().splitlines()[0] if exc.message.strip() else "unreadable"
        reason = reason.removeprefix("BrowserContext.route_from_har: ")
        raise BadInput(f"Cannot replay {har}: not a readable HAR file ({reason})") from exc
