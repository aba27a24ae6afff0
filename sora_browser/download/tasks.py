"""Running a download's connections together: all finish, or none is left running."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any


async def all_or_none(work: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` concurrently; when one fails (or the run is stopped) cancel the rest and
    wait for them, so whatever state they save describes what the file really holds."""
    crew = Crew()
    for coro in work:
        crew.start(coro)
    await crew.wait()


class Crew:
    """``all_or_none`` for a group that grows while it runs: connections added to a download
    as it goes. ``wait`` returns once every member has finished; helpers (a task that adds
    members) are cancelled then. The first failure of a member or a helper cancels the rest
    and is raised as it is (not wrapped, unlike ``asyncio.TaskGroup``)."""

    def __init__(self) -> None:
        self._members: set[asyncio.Task[None]] = set()
        self._helpers: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    def start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._add(self._members, coro)

    def help(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._add(self._helpers, coro)

    def _add(
        self, into: set[asyncio.Task[None]], coro: Coroutine[Any, Any, None]
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        into.add(task)
        task.add_done_callback(lambda _: self._changed.set())
        self._changed.set()
        return task

    async def wait(self) -> None:
        try:
            while True:
                self._raise_failure()
                if all(task.done() for task in self._members):
                    return
                self._changed.clear()
                await self._changed.wait()
        finally:
            await self._cancel_all()

    def _raise_failure(self) -> None:
        for task in (*self._members, *self._helpers):
            if task.done() and not task.cancelled():
                error = task.exception()
                if error is not None:
                    raise error

    async def _cancel_all(self) -> None:
        tasks = [t for t in (*self._members, *self._helpers) if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
