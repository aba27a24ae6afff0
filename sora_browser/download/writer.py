"""Moving body bytes into the ``.part`` file: overlapped, hashed, written back early.

Measured on loopback (``benchmarks/bench_download.py``), the costs of a download are: receiving
(the event loop), writing into the page cache and hashing (a worker thread, which ``os.pwritev``
and ``hashlib`` let run without the GIL), and the final ``fsync``. So:

- each read takes what aiohttp has buffered (up to ``read_size``) and hands it to two worker
  threads, one writing (``os.pwrite``) and one hashing, both free of the GIL while they work;
- the workers run one read behind the network, so receiving, writing and hashing overlap
  (waiting to gather bigger batches measured no faster, and loses a batch if the
  connection drops mid-way);
- every ``WRITEBACK_WINDOW`` bytes the kernel is asked to start writing that window to disk
  (``sync_file_range``), so the final ``fsync`` finds little left to do instead of the whole
  file.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
from collections.abc import Callable
from typing import Protocol

from ..errors import FileTooLarge, IncompleteDownload, local_errors
from . import libc
from .ranges import RangeAnswer, human_size
from .ratelimit import TokenBucket

WRITEBACK_WINDOW = 16 * 1024 * 1024
BATCH_SIZE = 1024 * 1024
"""Most bytes handed to the threads at once (``DownloadOptions.chunk_size``)."""
MAX_CHUNKS = 256
"""Most chunks in one batch: ``pwritev`` takes at most IOV_MAX (1024) buffers."""
_SYNC_FILE_RANGE_WRITE = 2

Chunk = bytes | memoryview


class Hasher(Protocol):
    """What ``hashlib.sha256()`` offers and we use."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


# Without it the final fsync simply does all the work.
_sync_file_range = libc.function(
    "sync_file_range", ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint
)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to begin writing ``[offset, offset+length)`` to disk (``length`` 0: to
    the end of the file); do not wait."""
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


class Writer:
    """Writes body chunks at their offsets in one worker thread and hashes them in another.

    Chunks come as aiohttp buffered them (``RangeAnswer.chunk``: no copy, no join) and are
    gathered into a batch while the previous batch is in the threads; the batch goes as soon as
    they are free (one ``os.pwritev`` and the hash updates), or, once it reaches
    ``batch_size``, after waiting for them, so the network waits for the disk rather than
    memory filling up. A connection thus holds at most two batches: a fast link makes big
    batches (few thread hops per GiB), a slow one small ones (nothing waits for a batch to
    fill). Writing and hashing run in parallel: on a slow disk writing costs most, on a fast
    one hashing does.

    ``on_written`` hears the end offset of each batch once it is really in the file (never
    earlier), so saved progress never claims bytes that are not there; ``hashed_to`` says how
    far the hasher got, which after a failed write may differ from what the file holds;
    ``on_batch`` hears each batch sent, and whether it had to wait for the threads.
    """

    def __init__(
        self,
        fd: int,
        hasher: Hasher | None,
        on_written: Callable[[int], None],
        *,
        batch_size: int = BATCH_SIZE,
        on_batch: Callable[[bool], None] | None = None,
    ) -> None:
        self._fd = fd
        self._hasher = hasher
        self._on_written = on_written
        self._batch_size = batch_size
        self._on_batch = on_batch
        self._batch: list[Chunk] = []
        self._batch_at = 0
        self._batch_len = 0
        self._writing: asyncio.Future[int] | None = None
        self._hashing: asyncio.Future[int] | None = None
        self._written_back: int | None = None
        self.hashed_to: int | None = None

    async def write(self, offset: int, data: Chunk) -> None:
        """Add ``data`` (the bytes at ``offset``) to the batch; send the batch when the threads
        are free, or when it is full (then wait for them first)."""
        if self._batch and offset != self._batch_at + self._batch_len:
            await self.flush()  # not contiguous: each batch is one run of the file
        if not self._batch:
            self._batch_at = offset
        self._batch.append(data)
        self._batch_len += len(data)
        full = self._batch_len >= self._batch_size or len(self._batch) >= MAX_CHUNKS
        busy = self._busy()
        if busy and not full:
            return
        if self._on_batch is not None:
            self._on_batch(busy)  # busy: the link outpaces the disk and the hash, it waits
        await self._settle()
        self._send()

    async def flush(self) -> None:
        """Everything given so far is in the file (and hashed) when this returns."""
        await self._settle()
        if self._batch:
            self._send()
            await self._settle()

    def _busy(self) -> bool:
        return any(f is not None and not f.done() for f in (self._writing, self._hashing))

    def _send(self) -> None:
        batch, at = self._batch, self._batch_at
        self._batch, self._batch_len = [], 0
        loop = asyncio.get_running_loop()
        self._writing = loop.run_in_executor(None, self._write_sync, at, batch)
        if self._hasher is not None:
            self._hashing = loop.run_in_executor(None, self._hash_sync, at, batch)

    async def _settle(self) -> None:
        """Wait for the batch in the threads; report how far it got."""
        writing, hashing = self._writing, self._hashing
        self._writing = self._hashing = None
        jobs = [job for job in (writing, hashing) if job is not None]
        try:
            await asyncio.shield(asyncio.gather(*jobs, return_exceptions=True))
        except asyncio.CancelledError:
            # A thread cannot be stopped: let it end, so nothing writes the file or feeds
            # the hash once this returns (a restart truncates the file right after).
            await asyncio.gather(*jobs, return_exceptions=True)
            raise
        if hashing is not None and hashing.exception() is None:
            self.hashed_to = hashing.result()
        if writing is not None:
            with local_errors("write the partial file"):
                self._on_written(writing.result())

    def _hash_sync(self, offset: int, batch: list[Chunk]) -> int:
        assert self._hasher is not None
        for data in batch:
            self._hasher.update(data)
            offset += len(data)
        return offset

    def _write_sync(self, offset: int, batch: list[Chunk]) -> int:
        start = offset
        views = [memoryview(data) for data in batch]
        while views:
            written = os.pwritev(self._fd, views, offset)
            offset += written
            while views and written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            if views and written:
                views[0] = views[0][written:]
        self._maybe_write_back(start, offset)
        return offset

    def _maybe_write_back(self, start: int, end: int) -> None:
        if self._written_back is None:
            self._written_back = start
        if end - self._written_back >= WRITEBACK_WINDOW:
            start_writeback(self._fd, self._written_back, end - self._written_back)
            self._written_back = end


Bound = Callable[[int], "int | None"]
"""Told how far the body has been received, says where to stop copying (a piece's end moves
when the piece is split); ``None``: at the end of the body."""


def to_the_end(received: int) -> int | None:
    return None


async def pump(
    answer: RangeAnswer,
    writer: Writer,
    *,
    offset: int,
    until: Bound = to_the_end,
    limiter: TokenBucket | None = None,
    limit: int | None = None,
) -> int:
    """Copy the body into the file from ``offset`` until ``until()`` (or EOF); return the new
    offset.

    ``limit`` caps the file's size whatever the server announced: a body without a length
    once ran to 5.6 GB in 10 s.
    """
    try:
        while True:
            stop = until(offset)
            if stop is not None and offset >= stop:
                break
            data: Chunk = await answer.chunk()
            if not data:
                break
            stop = until(offset + len(data))  # the piece may have been split while we waited
            if stop is not None and offset + len(data) > stop:
                data = memoryview(data)[: max(stop - offset, 0)]
                if not data:
                    break
            if limit is not None and offset + len(data) > limit:
                raise FileTooLarge(
                    f"The server sent more than {human_size(limit)} (--max-filesize)"
                )
            if limiter is not None:
                await limiter.take(len(data))
            await writer.write(offset, data)
            offset += len(data)
    finally:
        # Even when the body broke, what was read must reach the file before anyone resumes.
        await writer.flush()
    return offset


def hash_file(fd: int, hasher: Hasher, start: int, end: int) -> None:
    """Feed bytes ``[start, end)`` of ``fd`` to ``hasher`` with one reused buffer (flat memory)."""
    buffer = bytearray(1024 * 1024)
    view = memoryview(buffer)
    while start < end:
        count = os.preadv(fd, [view[: min(len(buffer), end - start)]], start)
        if count == 0:
            raise IncompleteDownload(f"The partial file ended at {start}, expected {end} bytes")
        hasher.update(view[:count])
        start += count
