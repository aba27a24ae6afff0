"""How many connections a download uses: decided by what the link does, not by the file's size.

A download starts on one connection. While it runs, its rate is measured; when the rest of the
file would still take a while at that rate, more connections are opened, each on the back half
of the largest remaining piece, and kept only if the total rose clearly. So a CDN or an archive
that gives each connection a few MB/s gets several connections quickly, while a link that one
connection already fills (loopback, a fast CDN, the user's own downlink) stays on one: a second
connection there only adds work.

The numbers, and why:

- ``WINDOW``, ``SAMPLES``: a rate is measured from the bytes received, once every connection
  delivers, over a tenth of a second and at least three arrivals per connection (a CDN paces a
  connection in steps of tens of milliseconds; a few steps tell its rate), so that growing
  from one connection to eight takes about half a second.
- ``MIN_REMAINING``: more connections only when the rest would take at least a second at the
  current rate: a new connection costs a handshake and a request, and a trial costs a window.
  A typical Sora video on a fast link is done before any trial starts.
- Nor when this machine sets the pace: when most batches had to wait for the disk and the
  hash during the measurement (loopback, a fast CDN into a slow disk), more would only wait.
- Nor when the user's ``--limit-rate`` holds the rate: it is shared by all connections, so
  more could not go faster, and a trial would spend the limiter's burst and look like a gain.
- Steps double (1, 2, 4, 8 up to the cap): a doubling should double the rate, which stands out
  of measurement noise by far, and the cap is reached in three steps instead of seven.
- ``GAIN``: the added connections are kept if the total rose by at least a quarter of what they
  would bring were each as fast as the existing ones (a doubling must raise the rate by a
  quarter); otherwise they are closed and the download stays where it was, for good.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

WINDOW = 0.1
"""Seconds over which a rate is measured."""
MIN_REMAINING = 1.0
"""Seconds the rest of the file must still take at the current rate to try more connections."""
GAIN = 0.25
"""Share of the expected extra rate that added connections must really bring to be kept."""
STALLED = 0.5
"""Share of batches waiting for the disk and the hash that says this machine sets the pace:
on loopback nearly all do; a link that one connection does not fill leaves the threads idle,
bar a hiccup of a busy machine."""
NEAR_LIMIT = 0.8
"""Share of ``--limit-rate`` from which the limit, not the link, is taken to set the pace."""
SAMPLES = 3
"""Arrivals per connection a rate needs at least: a server that paces a connection sends in
steps (tens of milliseconds apart), and two steps say little about the rate."""


def step(running: int, cap: int) -> int:
    """How many connections to add now: as many as run (doubling), up to the cap."""
    return max(0, min(running, cap - running))


def worth_more(
    rate: float, remaining: int, stalled: float, limit_rate: float | None = None
) -> bool:
    """Whether more connections can pay off: the rest would take at least ``MIN_REMAINING``,
    the link, not this machine, sets the pace (``stalled``: the share of batches that had to
    wait for the disk and the hash while the rate was measured; when most did, more
    connections would only wait longer), and the user's ``--limit-rate``, which all
    connections share, is not what holds the rate (``NEAR_LIMIT`` of it or more: a trial
    there could only look like a gain while it spent the limiter's burst)."""
    if limit_rate is not None and rate >= limit_rate * NEAR_LIMIT:
        return False
    return stalled < STALLED and rate > 0 and remaining / rate >= MIN_REMAINING


def kept(before: float, after: float, running: int, added: int) -> bool:
    """Whether ``added`` connections, joined to ``running`` ones, raised the total clearly."""
    return after >= before * (1 + GAIN * added / running)


@dataclass
class Meter:
    """Bytes received over time, recorded while a measurement runs."""

    samples: list[tuple[float, int]] = field(default_factory=list)
    batches: int = 0
    stalls: int = 0
    """Batches that waited for the disk and the hash (``Writer``'s ``on_batch``)."""
    recording: bool = False
    needed: int = SAMPLES + 1
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the samples are ``needed``."""

    def start(self, connections: int = 1) -> None:
        """Record from now; a rate needs ``SAMPLES`` arrivals per connection."""
        self.samples.clear()
        self.batches = self.stalls = 0
        self.needed = SAMPLES * connections + 1
        self.enough.clear()
        self.recording = True

    def add(self, now: float, done: int) -> None:
        if self.recording:
            self.samples.append((now, done))
            if len(self.samples) >= self.needed:
                self.enough.set()

    def batch(self, waited: bool) -> None:
        if self.recording:
            self.batches += 1
            self.stalls += int(waited)

    def stalled(self) -> float:
        """The share of batches that waited for the disk and the hash."""
        return self.stalls / self.batches if self.batches else 0.0

    async def wait_more(self) -> None:
        """Wait for one more arrival than those there are (and at least ``needed``)."""
        self.needed = max(self.needed, len(self.samples) + 1)
        if len(self.samples) < self.needed:
            self.enough.clear()
        await self.enough.wait()

    def rate(self) -> float | None:
        """Bytes per second between the first and the last sample, or None with fewer than
        ``needed``.

        Measured from an arrival to an arrival (not from the window's edges), so a link that
        delivers in steps is not judged by where the edges fall between steps."""
        if len(self.samples) < self.needed:
            return None
        (first_at, first_done), (last_at, last_done) = self.samples[0], self.samples[-1]
        if last_at <= first_at:
            return None
        return (last_done - first_done) / (last_at - first_at)

    def stop(self) -> None:
        self.recording = False
