"""Politeness towards an archive: one request budget per (archive host, endpoint kind).

IA's CDX and timemap endpoints share about 24 requests a minute per IP, and a 429 that is
ignored for more than a minute gets the IP firewalled for an hour, doubling on repeat
(DESIGN.md, "Archives"). So the budget belongs to the process, not to a client or a call: every
``WaybackClient`` in a batch or a worker gets its limiter from ``limiter_for``, which hands out
one instance per key for the whole process.

The budget is two rules, both enforced on the send time of each request:

- a token bucket (``per_minute / 60`` tokens a second, ``burst`` deep) spaces requests out, so a
  resolve's two or three lookups go at once but a listing settles at one every 2.5 s;
- a sliding window never lets more than ``per_minute`` sends fall into any 60 seconds, which the
  bucket alone would allow in its first minute (``burst`` + ``per_minute``).

Each caller reserves its send time under a ``threading.Lock`` and then sleeps outside it, so
callers go in arrival order, and the limiter works from any event loop or thread (a CLI that
runs ``asyncio.run`` twice, a Temporal worker's activity threads) without an asyncio lock
bound to one loop. After ``backoff`` nothing is sent until the pause has passed: a caller
whose reserved time fell inside a pause that began while it slept reserves again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from ..deadline import not_counted

Kind = Literal["cdx", "replay"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
OnWait = Callable[[float, str], None]
"""Told ``(seconds, reason)`` before each wait; reason is ``"rate limit"`` or ``"HTTP 429"``."""

WINDOW = 60.0
DEFAULT_PAUSE = 60.0
"""A 429 without ``Retry-After``: IA firewalls clients that keep going for a minute."""
MAX_PAUSE = 900.0
"""Repeated 429s double the pause up to this; a longer ``Retry-After`` is still honoured."""


def default_burst(per_minute: int) -> int:
    """A sixth of a minute's budget, between 1 and 10 (4 for IA's 24 a minute)."""
    return max(1, min(10, per_minute // 6))


@dataclass(frozen=True, slots=True)
class Grant:
    """One permission to send: when it was granted and how long the caller waited for it."""

    sent_at: float
    waited: float


class ArchiveLimiter:
    """Request budget and 429 pause for one archive endpoint; see the module docstring."""

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int | None = None,
        max_pause: float = MAX_PAUSE,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.max_pause = max_pause
        self.waited = 0.0
        """Seconds spent waiting here, by every caller: what to leave out of a deadline."""
        self._sent: deque[float] = deque()
        self._tat = float("-inf")  # the bucket's "theoretical arrival time" (GCRA form)
        self._blocked_until = float("-inf")
        self._pause = 0.0
        self._paused_at = float("-inf")
        self._configure(per_minute, burst)

    def _configure(self, per_minute: int, burst: int | None) -> None:
        self.per_minute = per_minute
        self.burst = max(1, min(per_minute, burst or default_burst(per_minute)))
        self._interval = WINDOW / per_minute
        self._sent = deque(self._sent, maxlen=per_minute)

    def tighten(self, per_minute: int) -> None:
        """Lower the budget (never raise it): the strictest caller of a shared limiter wins."""
        with self._lock:
            if per_minute < self.per_minute:
                self._configure(per_minute, None)

    async def acquire(self, on_wait: OnWait | None = None) -> Grant:
        """Wait until a request may be sent; the returned grant says when and how long."""
        started = self._clock()
        while True:
            send_at, reason = self._reserve()
            delay = send_at - self._clock()
            if delay > 0:
                if on_wait is not None:
                    on_wait(delay, reason)
                with not_counted():  # a wait shared by the process is not this job's time
                    await self._sleep(delay)
            if not self._paused_since(send_at):
                break
        now = self._clock()
        waited = max(0.0, now - started)
        with self._lock:
            self.waited += waited
        return Grant(sent_at=now, waited=waited)

    @asynccontextmanager
    async def slot(self, on_wait: OnWait | None = None) -> AsyncIterator[Grant]:
        """``async with limiter.slot() as grant:`` send one request inside the block."""
        yield await self.acquire(on_wait)

    def _reserve(self) -> tuple[float, str]:
        with self._lock:
            now = self._clock()
            send_at = max(now, self._tat - (self.burst - 1) * self._interval)
            if len(self._sent) == self.per_minute:
                send_at = max(send_at, self._sent[0] + WINDOW)
            if self._sent:
                send_at = max(send_at, self._sent[-1])  # first come, first served
            reason = "rate limit"
            if self._blocked_until > send_at:
                send_at, reason = self._blocked_until, "HTTP 429"
            self._tat = max(self._tat, send_at) + self._interval
            self._sent.append(send_at)
            return send_at, reason

    def _paused_since(self, send_at: float) -> bool:
        """A ``backoff`` arrived while this caller slept, and covers its reserved time."""
        with self._lock:
            return self._blocked_until > send_at and self._blocked_until > self._clock()

    def backoff(self, retry_after: float | None, *, sent_at: float | None = None) -> float:
        """After a 429: hold every request until the pause has passed; returns the pause.

        ``retry_after`` is honoured as a minimum, never shortened. Without one the pause is
        ``DEFAULT_PAUSE``. A 429 that follows an earlier pause with no success in between
        doubles the pause (up to ``max_pause``). A request sent before the current pause began
        (``sent_at`` from its grant) was already in flight: its 429 is the same overload, so it
        extends the pause to its own ``Retry-After`` but does not double it.
        """
        asked = DEFAULT_PAUSE if retry_after is None else max(0.0, retry_after)
        with self._lock:
            now = self._clock()
            if sent_at is not None and sent_at < self._paused_at:
                self._blocked_until = max(self._blocked_until, now + asked)
                return max(0.0, self._blocked_until - now)
            grown = min(self.max_pause, self._pause * 2)
            self._pause = max(asked, grown)
            self._paused_at = now
            self._blocked_until = max(self._blocked_until, now + self._pause)
            return self._blocked_until - now

    def succeeded(self, *, sent_at: float | None = None) -> None:
        """A request got a real answer: the next 429 starts from its own ``Retry-After``."""
        with self._lock:
            if sent_at is None or sent_at >= self._paused_at:
                self._pause = 0.0

    def blocked_for(self) -> float:
        """Seconds until the current 429 pause ends (0 when there is none)."""
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())


_REGISTRY: dict[tuple[str, Kind], ArchiveLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(host: str, kind: Kind, *, per_minute: int) -> ArchiveLimiter:
    """The process-wide limiter for ``host`` (``name[:port]``) and endpoint ``kind``.

    The first caller creates it; a later caller asking for a lower ``per_minute`` tightens it
    (a higher one is ignored), so two clients with different settings never add up to more.
    """
    key = (host.lower().rstrip("."), kind)
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = _REGISTRY[key] = ArchiveLimiter(per_minute)
            return limiter
    limiter.tighten(per_minute)
    return limiter
