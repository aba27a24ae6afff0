"""Deadlines over all attempts of a job, and the waits that do not count against them.

``--resolve-timeout 30`` once took 200 s on a page that sent a byte a second: the limit was per
request, times the retries, and nothing said so. A ``Deadline`` bounds the whole job instead
(every attempt, every backoff); the retry loop (``_http.retrying``) asks ``remaining()`` and
gives up at once when the next wait would not fit, rather than sleeping into the deadline.

Waiting that is not the job's own doing (an archive's rate limiter, shared by the whole
process) runs inside ``not_counted()``: the deadline moves later by the time spent there.
Deadlines nest (a signature refreshed mid-download resolves under its own deadline, inside
the download's); ``remaining()`` is the tightest of them. They follow the task that entered
them, and tasks it starts, through a context variable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from types import TracebackType

__all__ = ["Deadline", "not_counted", "remaining"]

_CURRENT: ContextVar[Deadline | None] = ContextVar("sora_browser_deadline", default=None)


class Deadline:
    """``async with Deadline(seconds):`` raises ``TimeoutError`` when the time is up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timeout = asyncio.timeout(seconds)
        self._outer: Deadline | None = None
        self._token: object = None

    async def __aenter__(self) -> Deadline:
        await self._timeout.__aenter__()
        self._outer = _CURRENT.get()
        self._token = _CURRENT.set(self)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        _CURRENT.reset(self._token)  # type: ignore[arg-type]
        await self._timeout.__aexit__(et, e, tb)

    @property
    def expired(self) -> bool:
        return self._timeout.expired()

    def remaining(self) -> float:
        """Seconds left on this deadline and every one it sits inside."""
        when = self._timeout.when()
        left = float("inf") if when is None else when - asyncio.get_running_loop().time()
        if self._outer is not None:
            left = min(left, self._outer.remaining())
        return left

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside does not count: this deadline (and every outer one) stands still
        meanwhile, and afterwards is as far away as it was."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        held = self._hold()
        try:
            yield
        finally:
            self._release(held, loop.time() - started)

    def _hold(self) -> list[tuple[Deadline, float]]:
        held = [] if self._outer is None else self._outer._hold()
        when = self._timeout.when()
        if when is not None and not self._timeout.expired():
            self._timeout.reschedule(None)
            held.append((self, when))
        return held

    @staticmethod
    def _release(held: list[tuple[Deadline, float]], seconds: float) -> None:
        for each, when in held:
            each._timeout.reschedule(when + seconds)


def remaining() -> float | None:
    """Seconds left on the current deadline, or ``None`` outside any."""
    current = _CURRENT.get()
    return None if current is None else current.remaining()


@contextlib.contextmanager
def not_counted() -> Iterator[None]:
    """Wrap a wait that is not the job's doing (a shared rate limiter) so it does not count."""
    current = _CURRENT.get()
    if current is None:
        yield
        return
    with current.paused():
        yield
