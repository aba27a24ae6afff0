"""The progress line the CLI draws on stderr, only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_size(size: float) -> str:
    """``42.50 MB``: decimal units, as download tools and file managers show them."""
    units = ("B", "KB", "MB", "GB")
    step = 0
    while abs(size) >= 1000 and step < len(units) - 1:
        size, step = size / 1000, step + 1
    return f"{size:.0f} B" if step == 0 else f"{size:.2f} {units[step]}"


class ProgressLine:
    """A throttled one-line progress display; a no-op when stderr is not a TTY."""

    def __init__(self, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = enabled and self._stream.isatty()
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, done: int, total: int | None) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and (total is None or done < total):
            return
        self._last_draw = now
        rate = done / max(now - self._started, 1e-6)
        text = f"  {format_size(done)}"
        if total:
            eta = (total - done) / rate if rate > 0 else 0
            text += f" / {format_size(total)}  {100 * done / total:5.1f}%  ETA {eta:4.0f}s"
        text += f"  {format_size(rate)}/s"
        self._stream.write("\r" + text.ljust(72))
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\r" + " " * 72 + "\r")
            self._stream.flush()
            self._drawn = False
