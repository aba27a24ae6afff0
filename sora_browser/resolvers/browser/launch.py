"""Find, launch and share one headless Chromium per process, and translate Playwright's errors.

Where the browser comes from, in order: ``ResolveOptions.chromium_path`` (the CLI maps
``--chromium`` / ``SORA_BROWSER_CHROMIUM`` to it), Playwright's own download, then a system
Chromium. Nothing found is ``BrowserUnavailable`` (exit 3) naming the install command.

Launching costs far more than a page (the node driver plus Chromium start-up), so every
``BrowserResolver`` in the process shares ``LAUNCHER``: the first user launches, the last one to
leave closes. Each resolution still gets a fresh context, so cookies never leak between links.

Playwright is imported here and in the other ``resolvers`` browser modules only; ``chain``
imports those lazily, so static runs and ``--help`` never load it.

A run that will surely need the browser starts it first (``launched_early``): the launch mostly
waits on other processes, so importing the rest of the package meanwhile costs no wall time.
That is why this module imports ``..errors`` (and with it aiohttp, ~0.15 s) only inside the
functions that raise: importing it at the top would put that cost back before the launch.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install one with `apt-get install chromium` (Debian/Ubuntu) or "
    "`playwright install chromium`, or point --chromium / SORA_BROWSER_CHROMIUM at a binary"
)

# Debian's real binary comes first: /usr/bin/chromium is a shell wrapper that costs a fork
# and reads /etc/chromium.d on every start.
SYSTEM_CHROMIUMS: tuple[str, ...] = (
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "chromium-browser",
    "google-chrome",
)

# The flags a headless Chromium needs where it may not phone home (no sandbox as root, no
# background networking), plus ones measured to shave start-up or page time
# (benchmarks/bench_browser.py): QUIC and the extra helper services only add sockets.
LAUNCH_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--mute-audio",
    # WebRTC may only use proxied TCP, so it too passes the gate (gate.py): plain UDP (STUN)
    # reached refused addresses unchecked.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--no-default-browser-check",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
)


def find_chromium(explicit: Path | None, playwright_own: str | None) -> Path:
    """The Chromium binary to launch, or ``BrowserUnavailable`` saying how to get one."""
    from ...errors import BrowserUnavailable

    if explicit is not None:
        if explicit.is_file():
            return explicit
        raise BrowserUnavailable(f"Chromium not found at {explicit}; {INSTALL_HINT}")
    if playwright_own and Path(playwright_own).is_file():
        return Path(playwright_own)
    for name in SYSTEM_CHROMIUMS:
        found = name if Path(name).is_absolute() else shutil.which(name)
        if found and Path(found).is_file():
            return Path(found)
    raise BrowserUnavailable(f"This page needs a browser but no Chromium was found; {INSTALL_HINT}")


@contextmanager
def map_playwright_errors(url: str) -> Iterator[None]:
    """Translate Playwright failures into this package's errors (``raise ... from exc``)."""
    from ...errors import NetworkError, NoVideoFound, SoraBrowserError

    try:
        yield
    except SoraBrowserError:
        raise
    except PlaywrightTimeout as exc:
        raise NoVideoFound(f"The browser timed out on {url}") from exc
    except PlaywrightError as exc:
        first = (exc.message or str(exc)).strip().splitlines()[0][:200]
        if "net::ERR_" in first:
            raise NetworkError(f"The browser could not load {url}: {first}", url=url) from exc
        raise NoVideoFound(f"The browser failed on {url}: {first}") from exc


@dataclass
class _Running:
    playwright: Playwright
    browser: Browser
    executable: Path
    loop: asyncio.AbstractEventLoop


class BrowserLauncher:
    """One Chromium per process, shared by reference count; closed when the last user leaves."""

    def __init__(self) -> None:
        self.launches = 0
        """How many browsers this launcher started (tests assert static runs leave it at 0)."""
        self.users = 0
        self.acquired = 0
        """How many times any resolver asked for the browser."""
        self._running: _Running | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        return self._running is not None and self._running.browser.is_connected()

    async def acquire(self, chromium_path: Path | None = None) -> Browser:
        """The shared browser, launched on first use; pair every call with ``release``."""
        async with self._guard():
            running = self._running
            if running is None or not running.browser.is_connected():
                await self._shutdown()
                running = self._running = await self._launch(chromium_path)
            self.users += 1
            self.acquired += 1
            return running.browser

    async def release(self) -> None:
        async with self._guard():
            self.users = max(0, self.users - 1)
            if self.users == 0:
                await self._shutdown()

    def _guard(self) -> asyncio.Lock:
        # A lock belongs to one event loop; a CLI that calls asyncio.run twice gets a new one.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
            if self._running is not None and self._running.loop is not loop:
                self._running, self.users = None, 0  # that loop is gone, and its browser with it
        return self._lock

    async def _launch(self, chromium_path: Path | None) -> _Running:
        playwright = await async_playwright().start()
        try:
            executable = find_chromium(chromium_path, _playwright_own(playwright))
            log.debug("launching %s", executable)
            with map_launch_errors(executable):
                browser = await playwright.chromium.launch(
                    executable_path=executable, headless=True, args=list(LAUNCH_ARGS)
                )
        except BaseException:
            await playwright.stop()
            raise
        self.launches += 1
        return _Running(playwright, browser, executable, asyncio.get_running_loop())

    async def _shutdown(self) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        try:
            await running.browser.close()
        except PlaywrightError:
            pass  # already gone (crashed or killed): nothing left to close
        finally:
            await running.playwright.stop()


def _playwright_own(playwright: Playwright) -> str | None:
    try:
        return playwright.chromium.executable_path
    except PlaywrightError:
        return None


@contextmanager
def map_launch_errors(executable: Path) -> Iterator[None]:
    try:
        yield
    except PlaywrightError as exc:
        from ...errors import BrowserUnavailable

        first = (exc.message or str(exc)).strip().splitlines()[0][:200]
        raise BrowserUnavailable(
            f"Chromium at {executable} would not start ({first}); {INSTALL_HINT}"
        ) from exc


LAUNCHER = BrowserLauncher()
"""The process-wide launcher every ``BrowserResolver`` uses unless given its own."""


@asynccontextmanager
async def launched_early(
    chromium_path: Path | None, *modules: str, launcher: BrowserLauncher = LAUNCHER
) -> AsyncIterator[None]:
    """Launch the shared browser now, and import ``modules`` in a thread while it starts.

    For a run that will surely need the browser (``--mode browser``, a HAR): the launch (node
    driver, then Chromium) mostly waits on those processes, while importing the resolver stack
    (aiohttp above all) costs ~0.3 s of CPU that the launch hides. The browser is held until the
    block ends, so the resolver inside finds it running. A launch that fails is not raised here:
    the resolver asks again and reports the same error where it always did.
    """
    launch = asyncio.get_running_loop().create_task(launcher.acquire(chromium_path))
    try:
        for module in modules:
            await asyncio.to_thread(importlib.import_module, module)
        yield
    finally:
        try:
            await launch
        except Exception as exc:  # reported by the resolver's own acquire, or never needed
            log.debug("early launch failed: %s", exc)
        else:
            await launcher.release()
