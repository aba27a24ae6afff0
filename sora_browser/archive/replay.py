"""Reading captures back: archived pages as text, and which media captures hold which bytes.

``id_`` replay returns a capture's bytes as archived (docs/ARCHITECTURE.md, "Archives"). A
media capture made by a browser is often a ``206`` whose recorded ``Content-Range`` says which
bytes it holds; the index cannot say, so ``ranges`` reads it from the replay's headers (pywb
passes ``Content-Range`` through; IA may prefix it ``X-Archive-Orig-``) and never the body.

Replay has its own budget per archive host, looser than the index's, shared by the process.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from .. import _http
from ..errors import ArchiveRateLimited, ArchiveUnreachable, NetworkError
from ..options import ResolveOptions
from ..urls import UrlPolicy
from .cdx import CdxRecord, strip_query, surt
from .client import WaybackClient
from .limiter import ArchiveLimiter, limiter_for
from .pieces import HeldRange, PiecesFound, pieces_found
from .query import MatchType

IA_REPLAY_PER_MINUTE = 240
"""IA limits replay separately from the index and more loosely; this stays well inside it."""
OTHER_REPLAY_PER_MINUTE = 6000
MAX_RANGE_PROBES = 48
"""Piece captures whose headers are read per media path: more than a player ever leaves."""
RANGE_PROBES_AT_ONCE = 4
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
MAX_ATTEMPTS = 4
"""Tries of one replay request: network failures and 429s (each 429 waits its pause)."""
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class MediaCapture:
    """A capture holding the whole file (a 200, or a 206 that covers it)."""

    record: CdxRecord
    total: int | None


class Replay:
    """A Wayback archive as an ``ArchiveSource``: its index through ``WaybackClient``, its
    captures through ``id_`` replay, within a replay budget of its own."""

    def __init__(self, client: WaybackClient, options: ResolveOptions) -> None:
        self.client = client
        self.options = options
        host = urlsplit(client.options.prefix).netloc.lower()
        ia = client.host == "web.archive.org"
        budget = IA_REPLAY_PER_MINUTE if ia else OTHER_REPLAY_PER_MINUTE
        self.limiter: ArchiveLimiter = limiter_for(host, "replay", per_minute=budget)
        self.policy = UrlPolicy(options.allow_hosts | {client.host})
        self.name = client.options.name
        self._session: aiohttp.ClientSession | None = None
        self._media: dict[str, tuple[CdxRecord, ...]] = {}
        self._held: dict[tuple[str, str], HeldRange | None] = {}

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.client.aclose()

    def media_url(self, record: CdxRecord) -> str:
        """The capture's ``id_`` replay: the archived bytes, unchanged."""
        return self.client.replay_url(record.timestamp, record.original)

    async def search(self, url: str, *, match_type: MatchType = "exact") -> tuple[CdxRecord, ...]:
        return await self.client.search(url, match_type=match_type)

    def iter_search(
        self, prefix: str, *, from_: str | None = None, to: str | None = None
    ) -> AsyncIterator[CdxRecord]:
        """Every capture under ``prefix``, a page of the index at a time."""
        return self.client.iter_search(prefix, match_type="prefix", from_=from_, to=to)

    # -- pages ---------------------------------------------------------------------------------

    async def page_text(self, record: CdxRecord, cap: int) -> str | None:
        """The archived page, decoded and capped like a live one; None when it will not replay."""
        async with self._get(self.media_url(record)) as response:
            if response.status != 200:
                return None
            return await _read_text(response, cap)

    # -- media ---------------------------------------------------------------------------------

    async def media_captures(self, media_url: str) -> tuple[CdxRecord, ...]:
        """Video captures of ``media_url``'s path under any signature, newest first."""
        path = strip_query(media_url)
        if path not in self._media:
            records = await self.client.search(path, match_type="prefix")
            key = surt(path)
            same = [r for r in records if r.is_video and surt(strip_query(r.original)) == key]
            kept = [r for r in same if r.status in (200, 206)]
            self._media[path] = tuple(sorted(kept, key=lambda r: r.timestamp, reverse=True))
        return self._media[path]

    async def whole_copy(self, media_url: str) -> MediaCapture | None:
        """The newest capture holding the whole file, or None."""
        for record in await self.media_captures(media_url):
            if record.status == 200:
                return MediaCapture(record, None)
            held = await self.held_range(record)
            if held is not None and held.whole:
                return MediaCapture(record, held.total)
        return None

    async def holdings(self, media_url: str) -> MediaCapture | PiecesFound | None:
        """What the archive holds of ``media_url``: a whole copy, pieces (which may or may not
        make up the file), or nothing."""
        whole = await self.whole_copy(media_url)
        if whole is not None:
            return whole
        return pieces_found(await self.ranges(media_url), lambda h: self.media_url(h.record))

    async def ranges(self, media_url: str) -> list[HeldRange]:
        """What each piece capture of ``media_url`` holds (its recorded ``Content-Range``)."""
        pieces = [r for r in await self.media_captures(media_url) if r.status == 206]
        slots = asyncio.Semaphore(RANGE_PROBES_AT_ONCE)

        async def probe(record: CdxRecord) -> HeldRange | None:
            async with slots:
                return await self.held_range(record)

        # A few at a time: one after another cost a round trip each (16 pieces: 0.63 s even
        # on loopback, in benchmarks/bench_archive.py).
        held = await asyncio.gather(*(probe(r) for r in pieces[:MAX_RANGE_PROBES]))
        return [h for h in held if h is not None]

    async def held_range(self, record: CdxRecord) -> HeldRange | None:
        """The bytes a 206 capture holds, from its replayed headers (read once per capture);
        the body is not read."""
        key = (record.timestamp, record.original)
        if key not in self._held:
            self._held[key] = await self._read_held_range(record)
        return self._held[key]

    async def _read_held_range(self, record: CdxRecord) -> HeldRange | None:
        async with self._get(self.media_url(record)) as response:
            if response.status not in (200, 206):
                return None
            headers = response.headers
            value = headers.get("Content-Range") or headers.get("X-Archive-Orig-Content-Range")
        match = _CONTENT_RANGE.fullmatch((value or "").strip())
        if match is None:
            return None
        total = None if match[3] == "*" else int(match[3])
        return HeldRange(record, int(match[1]), int(match[2]) + 1, total)

    # -- one request ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _get(self, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET within the replay budget; a 429 pauses the archive and is asked again later."""
        for attempt in range(MAX_ATTEMPTS):
            grant = await self.limiter.acquire(self.options.on_archive_wait)
            try:
                async with _http.open_url(
                    self._session_for_use(),
                    url,
                    policy=self.policy,
                    what="archive replay",
                    proxy=self.client.proxy,
                ) as response:
                    if response.status == 429 and attempt + 1 < MAX_ATTEMPTS:
                        retry_after = _http.parse_retry_after(response.headers.get("Retry-After"))
                        self.limiter.backoff(retry_after, sent_at=grant.sent_at)
                        continue
                    self.limiter.succeeded(sent_at=grant.sent_at)
                    yield response
                    return
            except NetworkError as exc:
                if attempt + 1 >= MAX_ATTEMPTS:
                    raise ArchiveUnreachable(
                        f"The archive at {self.client.options.name} did not answer: {exc.message}",
                        archive=self.client.options.name,
                        url=url,
                    ) from exc
        raise ArchiveRateLimited(
            f"{self.client.options.name} kept answering 429 (rate limited); try again later",
            archive=self.client.options.name,
            url=url,
            retry_after=self.limiter.blocked_for() or None,
        )

    def _session_for_use(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = _http.new_session(
                policy=self.policy,
                user_agent=self.client.options.user_agent,
                timeout=aiohttp.ClientTimeout(total=self.options.timeout),
                proxy=self.client.proxy,
            )
        return self._session


async def _read_text(response: aiohttp.ClientResponse, cap: int) -> str:
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) >= cap:
            break
    try:
        return bytes(body[:cap]).decode(response.charset or "utf-8", "replace")
    except LookupError:
        return bytes(body[:cap]).decode("utf-8", "replace")
