"""``WaybackClient``: CDX lookups and replay URLs for IA's Wayback Machine or a pywb.

Every CDX request goes through the process-wide limiter for its endpoint (``limiter.py``) and,
for whole answers, the on-disk cache (``cache.py``); paging is hidden behind ``iter_search``.
A 429 pauses the endpoint for every caller in the process (``Retry-After`` honoured, never cut
short) and the same request is sent again after the pause. Network failures and 5xx are
retried with backoff and end as ``ArchiveUnreachable`` naming the archive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlencode, urlsplit

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from .._http import (
    Proxy,
    new_session,
    open_url,
    parse_retry_after,
    read_body,
    status_error,
)
from ..errors import (
    ArchiveAnswerError,
    ArchiveRateLimited,
    ArchiveUnreachable,
    BadInput,
    FetchError,
)
from ..urls import UrlPolicy
from .cache import CdxCache, cache_key
from .cdx import CdxAnswer, CdxRecord, parse_cdx
from .limiter import ArchiveLimiter, Grant, OnWait, limiter_for
from .options import WaybackOptions
from .query import CdxQuery, MatchType, timestamp_of

MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""One CDX page larger than this is not an index answer (5,000 rows is about 1 MB)."""
_CHUNK = 256 * 1024
_HEADERS = {"Accept": "application/json, text/plain;q=0.9, */*;q=0.5"}


class WaybackClient:
    """Ask a Wayback archive's CDX index about captures; build ``id_`` replay URLs."""

    def __init__(
        self,
        options: WaybackOptions | None = None,
        *,
        on_wait: OnWait | None = None,
        limiter: ArchiveLimiter | None = None,
        cache: CdxCache | None = None,
        proxy: Proxy | None = None,
    ) -> None:
        self.options = options = options or WaybackOptions()
        self._on_wait = on_wait
        self.proxy = proxy
        """The caller's HTTP proxy, for the archive's requests as for every other."""
        self._limiter = limiter or limiter_for(
            options.cdx_netloc, "cdx", per_minute=options.cdx_budget
        )
        if cache is None and options.cache_dir is not None:
            cache = CdxCache(options.cache_dir, options.cache_max_age)
        self._cache = cache
        hosts = {options.host, _hostname(options.cdx_endpoint)}
        # The archive the caller chose is trusted for archive requests, loopback included
        # (a local pywb); everything else stays under the ordinary policy.
        self._policy = UrlPolicy(frozenset(hosts))
        self._session: aiohttp.ClientSession | None = None
        self.waited = 0.0
        """Seconds this client's requests spent waiting for the limiter (not on the network)."""

    @property
    def host(self) -> str:
        """The archive's host name: trusted by the URL policy for archive requests."""
        return self.options.host

    @property
    def cdx_url(self) -> str:
        return self.options.cdx_endpoint

    @property
    def limiter(self) -> ArchiveLimiter:
        return self._limiter

    def replay_url(self, timestamp: str, original: str) -> str:
        """``<prefix>/<timestamp>id_/<original>``: the archived bytes, not rewritten."""
        if not (1 <= len(timestamp) <= 14 and timestamp.isascii() and timestamp.isdigit()):
            raise BadInput(f"A capture timestamp is 1 to 14 digits, not {timestamp!r}")
        return f"{self.options.prefix}/{timestamp}id_/{original}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def search(
        self,
        url: str,
        *,
        match_type: MatchType = "exact",
        filters: Sequence[str] = (),
        from_: datetime | str | None = None,
        to: datetime | str | None = None,
        limit: int | None = None,
        collapse: str | None = None,
    ) -> tuple[CdxRecord, ...]:
        """Every capture matching one query, all pages; cached when a cache folder is set.

        An empty tuple means the archive holds nothing that matches (``NotArchived`` is for the
        caller to raise, since only it knows whether that ends the run).
        """
        query = _query(url, match_type, filters, from_, to, limit, collapse)
        cached = self._cached(query)
        if cached is not None:
            return cached
        records = tuple([record async for page in self._pages(query) for record in page])
        if self._cache is not None:
            self._cache.put(cache_key(self.cdx_url, query.cache_params()), records)
        return records

    async def iter_search(
        self,
        url: str,
        *,
        match_type: MatchType = "exact",
        filters: Sequence[str] = (),
        from_: datetime | str | None = None,
        to: datetime | str | None = None,
        limit: int | None = None,
        collapse: str | None = None,
    ) -> AsyncIterator[CdxRecord]:
        """The same records as ``search``, fetched a page at a time as the caller reads.

        For listings too long to hold: a cached answer is used, but a streamed one is not
        stored (that would mean holding it whole).
        """
        query = _query(url, match_type, filters, from_, to, limit, collapse)
        cached = self._cached(query)
        if cached is not None:
            for record in cached:
                yield record
            return
        async for page in self._pages(query):
            for record in page:
                yield record

    def _cached(self, query: CdxQuery) -> tuple[CdxRecord, ...] | None:
        if self._cache is None:
            return None
        return self._cache.get(cache_key(self.cdx_url, query.cache_params()))

    async def _pages(self, query: CdxQuery) -> AsyncIterator[tuple[CdxRecord, ...]]:
        remaining = query.limit if query.pages else None
        resume_key: str | None = None
        seen: set[str] = set()
        while True:
            params = query.params(limit=self._page_limit(query, remaining), resume_key=resume_key)
            answer = await self.fetch_page(params)
            records = answer.records if remaining is None else answer.records[:remaining]
            yield records
            if remaining is not None:
                remaining -= len(records)
                if remaining <= 0:
                    return
            resume_key = self._next_key(answer, seen) if query.pages else None
            if resume_key is None:
                return

    def _page_limit(self, query: CdxQuery, remaining: int | None) -> int | None:
        size = self.options.cdx_page_size
        if size is None or not query.pages:
            return query.limit
        return size if remaining is None else min(size, remaining)

    def _next_key(self, answer: CdxAnswer, seen: set[str]) -> str | None:
        key = answer.resume_key
        if key is not None and key in seen:
            # A server that hands back a key it already gave would page forever.
            raise ArchiveAnswerError(f"{self.options.cdx_netloc} repeated resume key {key!r}")
        if key is not None:
            seen.add(key)
        return key

    async def fetch_page(self, params: Sequence[tuple[str, str]]) -> CdxAnswer:
        """One CDX page for ``params``, retried; the seam the paging above is built on."""
        url = f"{self.cdx_url}?{urlencode(list(params))}"
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    return await self._fetch_once(url)
        except FetchError as exc:
            if exc.retryable and not isinstance(exc, ArchiveRateLimited):
                raise self._unreachable(exc, url, attempts) from exc
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _fetch_once(self, url: str) -> CdxAnswer:
        grant = await self._limiter.acquire(self._on_wait)
        self.waited += grant.waited
        session = self._session_for_use()
        async with open_url(
            session,
            url,
            policy=self._policy,
            headers=_HEADERS,
            what="archive CDX URL",
            proxy=self.proxy,
        ) as response:
            if response.status == 429:
                raise self._rate_limited(response, grant, url)
            self._limiter.succeeded(sent_at=grant.sent_at)
            body = await _read_body(response, url)
            if response.status >= 400:
                raise status_error(response, body[:4096])
        try:
            return parse_cdx(body)
        except ArchiveAnswerError as exc:
            raise ArchiveAnswerError(f"{exc.message} (from {url})", url=url) from exc

    def _rate_limited(
        self, response: aiohttp.ClientResponse, grant: Grant, url: str
    ) -> ArchiveRateLimited:
        asked = parse_retry_after(response.headers.get("Retry-After"))
        # Rounded: the pause is what the archive asked for (or more, when 429s repeat),
        # and the clock arithmetic behind it should not show as 3599.999999999999 s.
        pause = round(self._limiter.backoff(asked, sent_at=grant.sent_at), 3)
        archive = self.options.cdx_netloc
        if pause > self.options.max_rate_limit_wait:
            message = (
                f"{archive} asks for a pause of {pause:.0f} s (HTTP 429 Too Many Requests), "
                f"longer than the {self.options.max_rate_limit_wait:.0f} s this run waits; "
                "try again later"
            )
        else:
            message = f"{archive} kept answering 429 Too Many Requests; try again later"
        return ArchiveRateLimited(message, archive=archive, url=url, retry_after=pause)

    def _unreachable(self, exc: FetchError, url: str, attempts: int) -> ArchiveUnreachable:
        archive = self.options.cdx_netloc
        tries = "1 try" if attempts == 1 else f"{attempts} tries"
        return ArchiveUnreachable(
            f"The archive {archive} is unreachable ({exc.message}; {tries})",
            archive=archive,
            url=url,
        )

    def _retrying(self) -> AsyncRetrying:
        options = self.options
        backoff = wait_exponential_jitter(
            multiplier=options.backoff_initial,
            max=options.backoff_max,
            jitter=options.backoff_initial,
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            # After a 429 the limiter holds the next request until the pause is over, for
            # every caller at once; sleeping here as well would only add to it.
            return 0.0 if isinstance(exc, ArchiveRateLimited) else float(backoff(state))

        def worth_retrying(exc: BaseException) -> bool:
            if isinstance(exc, ArchiveRateLimited):
                return (exc.retry_after or 0.0) <= options.max_rate_limit_wait
            return isinstance(exc, FetchError) and exc.retryable

        return AsyncRetrying(
            stop=stop_after_attempt(options.retries + 1),
            wait=wait,
            retry=retry_if_exception(worth_retrying),
            reraise=True,
        )

    def _session_for_use(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session(
                policy=self._policy,
                user_agent=self.options.user_agent,
                timeout=aiohttp.ClientTimeout(total=self.options.timeout),
                limit=4,
                proxy=self.proxy,
            )
        return self._session


def _query(
    url: str,
    match_type: MatchType,
    filters: Sequence[str],
    from_: datetime | str | None,
    to: datetime | str | None,
    limit: int | None,
    collapse: str | None,
) -> CdxQuery:
    return CdxQuery(
        url=url,
        match_type=match_type,
        filters=tuple(filters),
        from_=timestamp_of(from_),
        to=timestamp_of(to),
        limit=limit,
        collapse=collapse,
    )


async def _read_body(response: aiohttp.ClientResponse, url: str) -> str:
    body, more = await read_body(response, MAX_ANSWER_BYTES, chunk=_CHUNK)
    if more:
        raise ArchiveAnswerError(
            f"The CDX answer from {url} is larger than {MAX_ANSWER_BYTES} bytes", url=url
        )
    return body.decode("utf-8", "replace")


def _hostname(url: str) -> str:
    return urlsplit(url).hostname or ""
