"""The HTTP seam: the URL policy at connect time and on redirects, error translation, retries.

A small aiohttp server on 127.0.0.1 plays the remote side; nothing leaves loopback. Refused
targets are refused before any connection is attempted, which the tests check by the server's
own request log and by never listening on the refused address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from sora_browser import errors
from sora_browser._http import (
    PolicyResolver,
    map_aiohttp_errors,
    new_session,
    open_url,
    parse_retry_after,
    retrying,
    status_error,
)
from sora_browser.testing.serving import serve
from sora_browser.urls import UrlPolicy

LOOPBACK = UrlPolicy(frozenset({"127.0.0.1"}))


class Remote:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/ok", self.ok)
        self.app.router.add_get("/redirect", self.redirect)
        self.app.router.add_get("/flaky", self.flaky)
        self.redirect_to = ""
        self.flaky_failures = 0
        self.url = ""

    async def ok(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(text="fine")

    async def redirect(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        raise web.HTTPFound(self.redirect_to)

    async def flaky(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        if self.flaky_failures > 0:
            self.flaky_failures -= 1
            return web.Response(status=503, headers={"Retry-After": "0"})
        return web.Response(text="recovered")


@pytest.fixture
async def remote() -> AsyncIterator[Remote]:
    server = Remote()
    runner, port = await serve(server.app, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


def session(policy: UrlPolicy) -> aiohttp.ClientSession:
    return new_session(policy=policy, user_agent="test", timeout=aiohttp.ClientTimeout(total=10))


async def fetch_text(policy: UrlPolicy, url: str) -> str:
    async with session(policy) as client, open_url(client, url, policy=policy) as response:
        return await response.text()


async def test_allowed_host_is_fetched(remote: Remote) -> None:
    assert await fetch_text(LOOPBACK, remote.url + "/ok") == "fine"
    assert remote.hits == ["/ok"]


async def test_literal_loopback_refused_without_allow(remote: Remote) -> None:
    with pytest.raises(errors.PolicyRefused):
        await fetch_text(UrlPolicy(), remote.url + "/ok")
    assert remote.hits == []


async def test_resolver_refuses_names_that_resolve_to_loopback() -> None:
    # Literal addresses are checked before connecting; names are checked here, at connect time,
    # after resolution, so a public-looking name that points at 127.0.0.1 gets nowhere.
    resolver = PolicyResolver(UrlPolicy())
    try:
        with pytest.raises(errors.PolicyRefused, match="non-public address"):
            await resolver.resolve("localhost", 80)
        allowed = PolicyResolver(UrlPolicy(frozenset({"localhost"})))
        results = await allowed.resolve("localhost", 80)
        assert any(r["host"] == "127.0.0.1" for r in results)
        await allowed.close()
    finally:
        await resolver.close()


async def test_localhost_name_refused_before_connecting(remote: Remote) -> None:
    port = remote.url.rsplit(":", 1)[1]
    with pytest.raises(errors.PolicyRefused, match="loopback"):
        await fetch_text(LOOPBACK, f"http://localhost:{port}/ok")
    assert remote.hits == []


@pytest.mark.parametrize(
    "target",
    ["http://10.1.2.3/secret", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"],
)
async def test_redirect_to_refused_target_is_not_followed(remote: Remote, target: str) -> None:
    remote.redirect_to = target
    with pytest.raises(errors.PolicyRefused):
        await fetch_text(LOOPBACK, remote.url + "/redirect")
    assert remote.hits == ["/redirect"]


async def test_redirect_to_allowed_target_is_followed(remote: Remote) -> None:
    remote.redirect_to = "/ok"
    assert await fetch_text(LOOPBACK, remote.url + "/redirect") == "fine"
    assert remote.hits == ["/redirect", "/ok"]


async def test_connection_refused_becomes_network_error() -> None:
    # Port 9 on loopback: nothing listens there, the kernel refuses at once.
    with pytest.raises(errors.NetworkError) as caught:
        await fetch_text(LOOPBACK, "http://127.0.0.1:9/")
    assert caught.value.retryable
    assert isinstance(caught.value, aiohttp.ClientError)
    assert caught.value.exit_code == 4


async def test_retrying_honours_retryable_flag(remote: Remote) -> None:
    remote.flaky_failures = 2

    async def attempt() -> str:
        async with (
            session(LOOPBACK) as client,
            open_url(client, remote.url + "/flaky", policy=LOOPBACK) as response,
        ):
            if response.status != 200:
                raise status_error(response)
            return await response.text()

    loop = retrying(retries=3, initial=0.01, maximum=0.05)
    result = ""
    async for attempt_state in loop:
        with attempt_state:
            result = await attempt()
    assert result == "recovered"
    assert remote.hits == ["/flaky"] * 3


async def test_retrying_gives_up_after_budget(remote: Remote) -> None:
    remote.flaky_failures = 10

    async def run() -> None:
        async for attempt_state in retrying(retries=1, initial=0.01, maximum=0.05):
            with attempt_state:
                async with (
                    session(LOOPBACK) as client,
                    open_url(client, remote.url + "/flaky", policy=LOOPBACK) as response,
                ):
                    raise status_error(response)

    with pytest.raises(errors.HTTPStatusError) as caught:
        await run()
    assert caught.value.status == 503
    assert remote.hits == ["/flaky"] * 2


def test_timeout_maps_to_network_error() -> None:
    with pytest.raises(errors.NetworkError, match="Timed out"), map_aiohttp_errors("http://x/"):
        raise TimeoutError


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
