"""pytest fixtures for testing code that uses sora-browser, without a network (README, "Testing
your own pipeline").

Registered through the ``pytest11`` entry point, so installing sora-browser is the only step,
as with pytest-httpserver. Importing this module costs nothing (pytest and typing only), and a
fixture starts its server the first time a test asks for it, then keeps it for the session:

- ``sora_site``: realistic share pages and a signed-URL CDN on 127.0.0.1 (``kit.SoraSite``),
  with fault switches and byte counters, reset before every test;
- ``sora_archive``: a Wayback archive on 127.0.0.1 answering as web.archive.org does, holding
  archived Sora pages and videos (``kit.SoraArchive``), its request log reset before every test.

The servers run on a loop of their own on a background thread, so plain tests, asyncio tests
(on any loop) and subprocesses can all use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .background import BackgroundLoop
    from .kit import SoraArchive, SoraSite


@pytest.fixture(scope="session")
def sora_servers() -> Iterator[BackgroundLoop]:
    """The background loop the servers run on (started by the first fixture that needs it)."""
    from .background import BackgroundLoop

    servers = BackgroundLoop()
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def sora_site_session(sora_servers: BackgroundLoop) -> SoraSite:
    from .kit import start_site

    return start_site(sora_servers)


@pytest.fixture
def sora_site(sora_site_session: SoraSite) -> SoraSite:
    """The fixture site and CDN on 127.0.0.1; counters and faults cleared for this test."""
    sora_site_session.reset()
    return sora_site_session


@pytest.fixture(scope="session")
def sora_archive_session(sora_servers: BackgroundLoop) -> SoraArchive:
    from .kit import start_archive

    return start_archive(sora_servers)


@pytest.fixture
def sora_archive(sora_archive_session: SoraArchive) -> SoraArchive:
    """A web.archive.org-like archive of Sora on 127.0.0.1; its request log cleared."""
    sora_archive_session.reset()
    return sora_archive_session
