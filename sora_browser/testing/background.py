"""Async servers for code that is not async: an event loop of their own, on a daemon thread.

The pytest plugin's fixtures serve tests of every kind: plain functions, asyncio tests on
whatever loop pytest-asyncio gives them, and subprocesses. A server started on one test's loop
would stop answering as soon as another loop ran, so each runs here instead, on a loop that
runs for as long as the servers do (as pytest-httpserver runs its server on a thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

T = TypeVar("T")
STEP_TIMEOUT = 120.0
"""Seconds one start or stop may take (pywb, the slowest, starts in a few)."""


class BackgroundLoop:
    """``enter`` async context managers (servers) on a private loop; ``close`` leaves them."""

    def __init__(self, name: str = "sora-browser-servers") -> None:
        self._loop = asyncio.new_event_loop()
        self._entered: list[AbstractAsyncContextManager[Any]] = []
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the loop and wait for its result here."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(STEP_TIMEOUT)

    def enter(self, manager: AbstractAsyncContextManager[T]) -> T:
        """``async with manager`` on the loop, left by ``close``; what it entered as."""
        entered = self.run(_enter(manager))
        self._entered.append(manager)
        return entered

    def close(self) -> None:
        """Leave every entered manager, newest first, then stop the loop and its thread."""
        try:
            while self._entered:
                self.run(self._entered.pop().__aexit__(None, None, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STEP_TIMEOUT)
            self._loop.close()


async def _enter(manager: AbstractAsyncContextManager[T]) -> T:
    return await manager.__aenter__()
