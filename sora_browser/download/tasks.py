"""Running a download's connections together: all finish, or none is left running."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any


async def all_or_none(work: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` concurrently; when one fails (or the run is stopped) cancel the rest and
    wait for them, so whatever state they save describes what the file really holds."""
    tasks = [asyncio.create_task(coro) for coro in work]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
