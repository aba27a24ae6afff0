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
import ctypes.util
import os
from collections.abc import Callable
from typing import Protocol

from ..errors import FileTooLarge, IncompleteDownload, local_errors
from .ranges import RangeAnswer, human_size
from .ratelimit import TokenBucket

WRITEBACK_WINDOW = 16 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2


class Hasher(Protocol):
    """What ``hashlib.sha256()`` offers and we use."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


def _load_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    # Linux only and not in the os module; without it the final fsync simply does all the work.
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load_sync_file_range()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to begin writing ``[offset, offset+length)`` to disk; do not wait."""
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


class Writer:
    """Writes reads at their offsets in one worker thread and hashes them in another.

    Both run one read behind the network: while read k is written and hashed (in parallel:
    on a slow disk writing costs most, on a fast one hashing does), read k+1 is received.
    ``on_written`` hears the end offset of each read once it is really in the file (never
    earlier), so saved progress never claims bytes that are not there; ``hashed_to`` says how
    far the hasher got, which after a failed write may differ from what the file holds.
    """

    def __init__(self, fd: int, hasher: Hasher | None, on_written: Callable[[int], None]) -> None:
        self._fd = fd
        self._hasher = hasher
        self._on_written = on_written
        self._writing: asyncio.Future[int] | None = None
        self._hashing: asyncio.Future[int] | None = None
        self._written_back: int | None = None
        self.hashed_to: int | None = None

    async def write(self, offset: int, data: bytes) -> None:
        await self.flush()
        loop = asyncio.get_running_loop()
        self._writing = loop.run_in_executor(None, self._write_sync, offset, data)
        if self._hasher is not None:
            self._hashing = loop.run_in_executor(None, self._hash_sync, offset, data)

    async def flush(self) -> None:
        writing, self._writing = self._writing, None
        hashing, self._hashing = self._hashing, None
        try:
            if writing is not None:
                with local_errors("write the partial file"):
                    self._on_written(await writing)
        finally:
            if hashing is not None:
                self.hashed_to = await hashing

    def _hash_sync(self, offset: int, data: bytes) -> int:
        assert self._hasher is not None
        self._hasher.update(data)
        return offset + len(data)

    def _write_sync(self, offset: int, data: bytes) -> int:
        start = offset
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written
        self._maybe_write_back(start, offset)
        return offset

    def _maybe_write_back(self, start: int, end: int) -> None:
        if self._written_back is None:
            self._written_back = start
        if end - self._written_back >= WRITEBACK_WINDOW:
            start_writeback(self._fd, self._written_back, end - self._written_back)
            self._written_back = end


async def pump(
    answer: RangeAnswer,
    writer: Writer,
    *,
    offset: int,
    stop: int | None,
    read_size: int,
    limiter: TokenBucket | None,
    limit: int | None = None,
) -> int:
    """Copy the body into the file from ``offset`` until ``stop`` (or EOF); return new offset.

    ``limit`` caps the file's size whatever the server announced: a body without a length
    once ran to 5.6 GB in 10 s.
    """
    try:
        while stop is None or offset < stop:
            want = read_size if stop is None else min(read_size, stop - offset)
            # Whatever is buffered, up to ``want``: waits only when nothing is, and joins
            # nothing in practice (measured: the buffer rarely holds more than one recv).
            data = await answer.read(want)
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
