"""A token bucket shared by every connection of a download (``DownloadOptions.limit_rate``)."""

from __future__ import annotations

import asyncio


class TokenBucket:
    """Lets ``rate`` bytes per second through on average, with bursts of up to ``burst``."""

    def __init__(self, rate: float, *, burst: float | None = None) -> None:
        self.rate = rate
        # A quarter second of traffic: smooth enough for progress bars, coarse enough that
        # sleeping stays a small share of the work.
        self.burst = burst if burst is not None else max(rate / 4, 16 * 1024)
        self._tokens = self.burst
        self._stamp: float | None = None
        self._lock = asyncio.Lock()

    async def take(self, amount: int) -> None:
        """Wait until ``amount`` bytes may pass. Debt is allowed, so big chunks never stall."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            now = loop.time()
            if self._stamp is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= amount
            if self._tokens < 0:
                # Holding the lock while sleeping queues the other connections fairly behind us.
                await asyncio.sleep(-self._tokens / self.rate)

    def read_size(self, chunk_size: int) -> int:
        """How much to read at once so one read does not exceed a tenth of a second's worth."""
        return max(4096, min(chunk_size, int(self.rate / 10)))
