"""The archive limiter (``sora_browser.archive.limiter``) on virtual time: nothing really sleeps.

IA's numbers from DESIGN.md: about 24 CDX requests a minute per IP, and a 429 ignored for
more than a minute gets the IP firewalled; so the tests check the budget in every 60 s window
and that nothing is sent before ``Retry-After`` has passed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from sora_browser.archive.limiter import (
    DEFAULT_PAUSE,
    MAX_PAUSE,
    ArchiveLimiter,
    Grant,
    default_burst,
    limiter_for,
)

T = TypeVar("T")


class VirtualTime:
    """A clock and a sleep for the limiter; ``run`` wakes sleepers in time order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        await future

    async def run(self, *jobs: Coroutine[Any, Any, T]) -> list[T]:
        tasks = [asyncio.ensure_future(job) for job in jobs]
        while not all(task.done() for task in tasks):
            for _ in range(10):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                when, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, when)
                future.set_result(None)
        return [task.result() for task in tasks]


def limiter(
    vt: VirtualTime, per_minute: int = 24, burst: int | None = None, **kwargs: Any
) -> ArchiveLimiter:
    return ArchiveLimiter(per_minute, burst=burst, clock=vt.clock, sleep=vt.sleep, **kwargs)


def most_in_any_minute(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + 60) for start in times)


async def test_budget_holds_in_every_minute_for_one_caller() -> None:
    vt = VirtualTime()
    archive = limiter(vt)

    async def hundred() -> list[float]:
        return [(await archive.acquire()).sent_at for _ in range(100)]

    (sent,) = await vt.run(hundred())
    assert sent[:4] == [0.0] * 4  # IA's 24 a minute: a burst of 4, for a resolve's lookups
    assert sent[4] == pytest.approx(2.5)  # then one every 60/24 s
    assert most_in_any_minute(sent) <= 24
    assert sum(1 for t in sent if t < 60) == 24  # and the budget is used, not wasted
    assert sent == sorted(sent)


async def test_budget_holds_for_many_concurrent_callers_in_arrival_order() -> None:
    vt = VirtualTime()
    archive = limiter(vt)
    grants = await vt.run(*(archive.acquire() for _ in range(60)))
    sent = [grant.sent_at for grant in grants]
    assert most_in_any_minute(sent) <= 24
    assert sent == sorted(sent)  # first come, first served
    assert archive.waited == pytest.approx(sum(grant.waited for grant in grants))


async def test_nothing_is_sent_before_retry_after_has_passed() -> None:
    vt = VirtualTime()
    archive = limiter(vt, per_minute=60, burst=1)  # one a second
    waits: list[tuple[float, str]] = []

    pauses: list[float] = []

    async def first_gets_429() -> Grant:
        grant = await archive.acquire()
        await vt.sleep(0.5)  # the answer takes half a second: 429, Retry-After: 30
        pauses.append(archive.backoff(30.0, sent_at=grant.sent_at))
        return grant

    async def queued() -> Grant:
        return await archive.acquire(lambda s, why: waits.append((s, why)))

    first, *grants = await vt.run(first_gets_429(), queued(), queued(), queued())
    assert (first.sent_at, pauses) == (0.0, [30.0])
    # The queued callers held slots at 1, 2 and 3 s; the 429 at 0.5 s moved them all past
    # 30.5 s, still one a second and in their order.
    assert [g.sent_at for g in grants] == [30.5, 31.5, 32.5]
    assert waits[:3] == [(1.0, "rate limit"), (2.0, "rate limit"), (3.0, "rate limit")]
    assert (29.5, "HTTP 429") in waits
    assert archive.blocked_for() == 0.0


async def test_a_new_caller_during_a_pause_waits_for_its_end() -> None:
    vt = VirtualTime()
    archive = limiter(vt)
    archive.backoff(30.0)
    seen: list[tuple[float, str]] = []
    (grant,) = await vt.run(archive.acquire(lambda s, why: seen.append((s, why))))
    assert grant.sent_at == 30.0
    assert grant.waited == 30.0
    assert seen == [(30.0, "HTTP 429")]


async def test_repeated_429s_double_the_pause_up_to_the_cap() -> None:
    vt = VirtualTime()
    archive = limiter(vt)
    pauses = []
    for _ in range(8):
        (grant,) = await vt.run(archive.acquire())
        pauses.append(archive.backoff(30.0, sent_at=grant.sent_at))
    assert pauses == [30, 60, 120, 240, 480, MAX_PAUSE, MAX_PAUSE, MAX_PAUSE]


async def test_a_longer_retry_after_than_the_cap_is_still_honoured() -> None:
    vt = VirtualTime()
    archive = limiter(vt)
    assert archive.backoff(3600.0) == 3600.0
    (grant,) = await vt.run(archive.acquire())
    assert grant.sent_at == 3600.0


async def test_success_resets_the_growth() -> None:
    vt = VirtualTime()
    archive = limiter(vt)
    for _ in range(3):
        (grant,) = await vt.run(archive.acquire())
        archive.backoff(30.0, sent_at=grant.sent_at)
    (grant,) = await vt.run(archive.acquire())
    archive.succeeded(sent_at=grant.sent_at)
    (grant,) = await vt.run(archive.acquire())
    assert archive.backoff(30.0, sent_at=grant.sent_at) == 30.0


async def test_429s_of_requests_already_in_flight_do_not_double() -> None:
    vt = VirtualTime()
    archive = limiter(vt)
    first, second = await vt.run(archive.acquire(), archive.acquire())  # both sent at 0
    vt.now = 1.0
    assert archive.backoff(30.0, sent_at=first.sent_at) == 30.0
    assert archive.backoff(30.0, sent_at=second.sent_at) == 30.0  # same overload, not a repeat
    # ... and a success of a request sent before the pause does not reset anything.
    archive.succeeded(sent_at=second.sent_at)
    (third,) = await vt.run(archive.acquire())
    assert third.sent_at == 31.0
    assert archive.backoff(30.0, sent_at=third.sent_at) == 60.0


async def test_no_retry_after_means_a_full_minute() -> None:
    vt = VirtualTime()
    assert limiter(vt).backoff(None) == DEFAULT_PAUSE == 60.0


def test_default_burst() -> None:
    assert [default_burst(n) for n in (1, 6, 24, 600)] == [1, 1, 4, 10]


def test_registry_gives_one_limiter_per_host_and_kind() -> None:
    a = limiter_for("Archive.Example:8080", "cdx", per_minute=30)
    assert limiter_for("archive.example:8080", "cdx", per_minute=30) is a
    assert limiter_for("archive.example:8080", "replay", per_minute=30) is not a
    assert limiter_for("archive.example:8081", "cdx", per_minute=30) is not a
    assert limiter_for("archive.example:8080", "cdx", per_minute=100).per_minute == 30
    assert limiter_for("archive.example:8080", "cdx", per_minute=12) is a
    assert a.per_minute == 12  # the strictest caller wins


def test_one_limiter_serves_event_loops_in_several_threads() -> None:
    # A Temporal worker runs activities in threads with their own loops; a CLI may call
    # asyncio.run twice. Real time here, on a fast budget: 10 a second, no burst.
    shared = limiter_for("threads.example", "cdx", per_minute=600)
    shared.burst = 1
    sent: list[float] = []

    async def five() -> None:
        for _ in range(5):
            await shared.acquire()
            sent.append(time.monotonic())

    threads = [threading.Thread(target=asyncio.run, args=(five(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(sent) == 10
    # Ten sends at one per 0.1 s span at least 0.9 s whichever loop sent them (a late
    # wake-up can only make it longer, so this cannot flake on a busy machine).
    assert max(sent) - min(sent) >= 0.85
