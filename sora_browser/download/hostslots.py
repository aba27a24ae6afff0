"""Connections to one host, counted for the whole process: the per-host cap.

Every connection a download opens to a media host holds one of that host's slots, whichever
download, batch job or worker activity it belongs to, so eight jobs on one CDN share the cap
instead of opening four connections each. The rules:

- a download's first connection waits for a slot (in line, first come first served);
- a parallel download's extra connections take a slot only when one is free at once and nobody
  waits for a first one; when somebody does, one extra connection per waiter gives its slot
  back (``should_yield``), so a download never waits long behind another's extras.

Archive hosts get a smaller cap than CDNs: an archive is shared by everyone and asks to be
treated gently (docs/ARCHITECTURE.md, "Archives": politeness), and its replay is slow per
connection anyway, so a few connections already help.

Slots are kept per event loop (an asyncio future belongs to one); a batch or a worker runs on one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..deadline import not_counted
from ..options import ARCHIVE_HOST_CONNECTIONS


class HostSlots:
    """The slots of one host. Each caller passes its own ``limit`` (options may differ between
    downloaders in one process); a slot is granted while fewer than that many are in use.

    Two lines wait for slots: first connections, served first, and extra connections that
    asked to wait (``later``: a fixed ``-N``, the pieces of an archived video)."""

    def __init__(self) -> None:
        self.in_use = 0
        self.peak = 0
        """The most slots held at once so far (tests and benchmarks read it)."""
        self._firsts: collections.deque[_Waiter] = collections.deque()
        self._laters: collections.deque[_Waiter] = collections.deque()
        self._yielding = 0
        """Extra connections that agreed to give their slot to a waiter and are winding down."""

    async def first(self, limit: int) -> None:
        """Take a slot for a download's first connection, waiting in line for one."""
        await self._wait(self._firsts, limit)

    async def later(self, limit: int) -> None:
        """Take a slot for an extra connection, waiting behind every first connection."""
        await self._wait(self._laters, limit)

    def extra(self, limit: int) -> bool:
        """Take a slot for an extra connection if one is free now and nobody waits."""
        if self._firsts or self._laters or self.in_use >= limit:
            return False
        self._take()
        return True

    def should_yield(self) -> bool:
        """Whether an extra connection should give its slot back now (then it must call
        ``release(yielded=True)``): one extra per download waiting for its first slot."""
        if len(self._firsts) > self._yielding:
            self._yielding += 1
            return True
        return False

    def release(self, *, yielded: bool = False) -> None:
        self.in_use -= 1
        if yielded:
            self._yielding -= 1
        for line in (self._firsts, self._laters):
            while line and self.in_use < line[0].limit:
                waiter = line.popleft()
                if not waiter.future.done():
                    self._take()
                    waiter.future.set_result(None)
            if line:
                return  # the head of the first line waits: nobody overtakes it

    async def _wait(self, line: collections.deque[_Waiter], limit: int) -> None:
        if not self._firsts and not line and self.in_use < limit:
            self._take()
            return
        waiter = _Waiter(limit, asyncio.get_running_loop().create_future())
        line.append(waiter)
        try:
            await waiter.future
        except BaseException:
            if waiter in line:
                line.remove(waiter)
            elif waiter.future.done() and not waiter.future.cancelled():
                self.release()  # granted just as we were cancelled: hand it on
            raise

    def _take(self) -> None:
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)


@dataclass(eq=False)
class _Waiter:
    limit: int
    future: asyncio.Future[None]


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, HostSlots]] = (
    weakref.WeakKeyDictionary()
)


def host_of(url: str) -> str:
    """The key slots are counted under: ``host:port`` of ``url``, lower-cased."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def slots_for(url: str) -> HostSlots:
    """The process's slots for the host of ``url`` (in the running event loop)."""
    per_host = _SLOTS.setdefault(asyncio.get_running_loop(), {})
    return per_host.setdefault(host_of(url), HostSlots())


def host_limit(url: str, cdn_limit: int, archive_hosts: frozenset[str]) -> int:
    """How many connections the host of ``url`` may have: ``cdn_limit``, or for an archive
    host at most ``ARCHIVE_HOST_CONNECTIONS``."""
    hostname = (urlsplit(url).hostname or "").lower()
    if hostname in archive_hosts:
        return min(cdn_limit, ARCHIVE_HOST_CONNECTIONS)
    return cdn_limit


@contextlib.asynccontextmanager
async def first_connection(slots: HostSlots, limit: int) -> AsyncIterator[None]:
    """Hold a first-connection slot; the wait is not the download's doing, so its deadline
    does not count it."""
    with not_counted():
        await slots.first(limit)
    try:
        yield
    finally:
        slots.release()
