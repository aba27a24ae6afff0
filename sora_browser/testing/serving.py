"""Serving an aiohttp application on loopback, for the fixture servers (site, IA stand-in,
hostile servers)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout: float = 1.0,
    before_listening: Callable[[web.AppRunner], None] | None = None,
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (port 0: any free one): its runner, and the port bound.
    ``before_listening`` sees the runner set up, before a connection can arrive;
    ``runner.cleanup()`` stops it."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        if before_listening is not None:
            before_listening(runner)
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, runner.addresses[0][1]
