"""The one place where aiohttp meets the rest of the package.

- ``new_session`` builds a session whose DNS resolver enforces the URL policy, so a host that
  resolves to a private or loopback address is refused at connect time, redirects included.
- ``open_url`` follows redirects by hand, checking every hop's scheme and literal address.
- ``map_aiohttp_errors`` translates aiohttp and asyncio errors into ``errors.FetchError``
  subclasses (``raise ... from exc``), so nothing above this module sees aiohttp's own types.
- ``retrying`` builds the tenacity loop from options, retrying on the error's ``retryable`` flag
  and honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, NoReturn
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base
from yarl import URL

from . import deadline
from .errors import (
    FetchError,
    HTTPStatusError,
    IncompleteDownload,
    NetworkError,
    PolicyRefused,
    SignatureExpired,
    SoraBrowserError,
)
from .models import Cookie, RetryCallback, RetryNotice
from .urls import UrlPolicy, proxy_for

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


@dataclass(frozen=True, slots=True)
class Proxy:
    """The caller's HTTP proxy (``options.proxy``) and the hosts that bypass it."""

    url: str
    bypass: frozenset[str] = frozenset()

    @classmethod
    def of(cls, url: str | None, bypass: frozenset[str]) -> Proxy | None:
        return None if url is None else cls(url, bypass)

    def for_url(self, url: str) -> str | None:
        return proxy_for(url, self.url, self.bypass)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


class PolicyResolver(AbstractResolver):
    """Resolve names, then drop the run if any address is one the policy refuses.

    The caller's own proxy (``trusted``) is exempt: it is theirs, and usually on a private
    address; what it is asked to reach is checked before the request (``open_url``).
    """

    def __init__(self, policy: UrlPolicy, *, trusted: str | None = None) -> None:
        self._policy = policy
        self._trusted = trusted
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if host != self._trusted:
            for result in results:
                self._policy.check_address(host, result["host"])
        return results

    async def close(self) -> None:
        await self._inner.close()


def new_session(
    *,
    policy: UrlPolicy,
    user_agent: str,
    timeout: aiohttp.ClientTimeout,
    cookies: tuple[Cookie, ...] = (),
    limit: int = 16,
    proxy: Proxy | None = None,
) -> aiohttp.ClientSession:
    resolver = PolicyResolver(policy, trusted=proxy.host if proxy else None)
    connector = aiohttp.TCPConnector(resolver=resolver, limit=limit)
    jar = aiohttp.CookieJar(unsafe=True)
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": user_agent, "Accept-Language": "en-US,en;q=0.9"},
        cookie_jar=jar,
        auto_decompress=True,
    )
    add_cookies(session, cookies)
    return session


def add_cookies(session: aiohttp.ClientSession, cookies: tuple[Cookie, ...]) -> None:
    for cookie in cookies:
        morsel_jar: SimpleCookie = SimpleCookie()
        morsel_jar[cookie.name] = cookie.value
        morsel_jar[cookie.name]["domain"] = cookie.domain
        morsel_jar[cookie.name]["path"] = cookie.path or "/"
        host = cookie.domain.lstrip(".")
        session.cookie_jar.update_cookies(morsel_jar, URL.build(scheme="https", host=host))


@contextmanager
def map_aiohttp_errors(url: str) -> Iterator[None]:
    """Translate aiohttp/asyncio failures into this package's errors."""
    try:
        yield
    except SoraBrowserError:
        raise
    except TimeoutError as exc:
        raise NetworkError(f"Timed out talking to {_host(url)}", url=url) from exc
    except aiohttp.ClientPayloadError as exc:
        raise IncompleteDownload(f"Connection to {_host(url)} broke mid-body", url=url) from exc
    except aiohttp.TooManyRedirects as exc:
        raise FetchError(f"Too many redirects from {_host(url)}", url=url) from exc
    except aiohttp.InvalidURL as exc:
        raise PolicyRefused(f"Invalid URL: {url}") from exc
    except aiohttp.ClientResponseError as exc:
        raise HTTPStatusError(
            f"HTTP {exc.status} from {_host(url)}", status=exc.status, url=url
        ) from exc
    except (aiohttp.ClientError, ConnectionError) as exc:
        raise NetworkError(
            f"Network error talking to {_host(url)}: {_describe(exc)}", url=url
        ) from exc


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


@asynccontextmanager
async def open_url(
    session: aiohttp.ClientSession,
    url: str,
    *,
    policy: UrlPolicy,
    headers: Mapping[str, str] | None = None,
    what: str = "media URL",
    follow: bool = True,
    proxy: Proxy | None = None,
    method: str = "GET",
    **kwargs: Any,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET (or ``method``) ``url``, following redirects by hand so the policy sees every hop.

    ``follow=False`` hands a redirect back as it is (the browser follows it itself). Through
    ``proxy`` every hop is still checked, its name resolved here when it can be.
    """
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        policy.check_url(current, what=what)
        via = proxy.for_url(current) if proxy else None
        if via:
            await check_name(policy, current)
        with map_aiohttp_errors(current):
            response = await session.request(
                method, current, headers=headers, allow_redirects=False, proxy=via, **kwargs
            )
        redirect = response.status in REDIRECT_STATUSES and "Location" in response.headers
        if follow and redirect:
            response.release()
            current = urljoin(current, response.headers["Location"])
            continue
        try:
            with map_aiohttp_errors(current):
                yield response
        finally:
            response.release()
        return
    raise FetchError(f"Too many redirects starting at {url}", url=url)


async def check_name(policy: UrlPolicy, url: str) -> None:
    """Refuse a URL whose name resolves to a refused address, before a proxy is asked for it.

    Through a proxy the connector never resolves the target, so its check at connect time
    does not happen; this one does. A name that does not resolve here is left to the proxy
    (it may see names this machine cannot): the literal checks of ``check_url`` still hold.
    """
    host = urlsplit(url).hostname or ""
    if policy.host_allowed(host):
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    for info in infos:
        policy.check_address(host, str(info[4][0]))


async def read_body(
    response: aiohttp.ClientResponse, cap: int, *, chunk: int = 64 * 1024
) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of the (decompressed) body, and whether there was more.

    Reading stops at the cap, so a gzip bomb inflates no further than that.
    """
    chunks: list[bytes] = []
    size = 0
    async for data in response.content.iter_chunked(chunk):
        chunks.append(data)
        size += len(data)
        if size > cap:
            break
    body = b"".join(chunks)
    return body[:cap], len(body) > cap


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (now if now is not None else time.time()))


def status_error(response: aiohttp.ClientResponse, body: str = "") -> HTTPStatusError:
    """The right error for a non-success answer; ``body`` is a short peek at it."""
    url = str(response.url)
    if response.status == 403 and "AuthenticationFailed" in body:
        return SignatureExpired(
            "The signed video URL has expired or was altered (403 AuthenticationFailed)",
            url=url,
        )
    reason = response.reason or ""
    return HTTPStatusError(
        f"HTTP {response.status} {reason}".rstrip() + f" from {_host(url)}",
        status=response.status,
        url=url,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, SoraBrowserError) and exc.retryable


class _WaitRetryAfter:
    """Exponential backoff with jitter, unless the server said how long to wait."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)
        self._maximum = maximum

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, float | int):
            return min(float(retry_after), self._maximum)
        return float(self._backoff(state))


def retrying(
    *, retries: int, initial: float, maximum: float, on_retry: RetryCallback | None = None
) -> AsyncRetrying:
    """A tenacity loop: ``retries`` extra attempts on retryable errors, then re-raise.

    Inside a ``deadline.Deadline`` a wait that would not end before it is not taken: the last
    error is raised at once, saying so. ``on_retry`` hears each wait before it starts.
    """
    attempts = retries + 1

    def notify(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            error = state.outcome.exception()
            if error is not None:
                on_retry(RetryNotice(state.upcoming_sleep, error, state.attempt_number, attempts))

    return AsyncRetrying(
        stop=stop_any(stop_after_attempt(attempts), _StopAtDeadline()),
        wait=_WaitRetryAfter(initial, maximum),
        retry=retry_if_exception(_is_retryable),
        before_sleep=notify,
        retry_error_callback=_give_up,
        reraise=True,
    )


class _StopAtDeadline(stop_base):
    """Stop when the wait before the next attempt would reach the current deadline."""

    def __call__(self, state: RetryCallState) -> bool:
        left = deadline.remaining()
        return left is not None and state.upcoming_sleep >= left


def _give_up(state: RetryCallState) -> NoReturn:
    """Raise the last error; when the deadline, not the budget, ended the retries, say so."""
    assert state.outcome is not None
    error = state.outcome.exception()
    assert error is not None
    if isinstance(error, SoraBrowserError) and _StopAtDeadline()(state):
        error.message += f" (no time left to retry in {state.upcoming_sleep:.1f} s)"
    raise error
