"""PywbArchive: a real pywb Wayback on loopback serving WARC files, for the archive tests.

``async with PywbArchive([warc]) as pywb:`` runs ``wb-manager init``/``add`` in a temporary
folder, starts ``wayback -p PORT -b 127.0.0.1`` and polls until it answers. ``pywb.prefix``
is ``http://127.0.0.1:PORT/<coll>`` (replay: ``{prefix}/<timestamp>id_/<url>``) and
``pywb.cdx_url`` is ``{prefix}/cdx``.

The subprocesses reach loopback only: ``loopback_only_env()`` puts ``loopback_only/`` on
``PYTHONPATH`` (its ``sitecustomize`` refuses any other destination and logs a line), and
``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` is empty so tldextract (which pywb imports for cookie
domains) never tries to fetch the public suffix list. ``pywb.refused()`` lists what the guard
refused; the tests expect none.

What pywb 2.10 does, read in its source (``apps/rewriterapp.py``, ``rewrite/
rewriteinputreq.py``, ``warcserver/``) and seen by experiment (``tests/
test_archive_fixtures.py`` pins what the resolver relies on):

CDX (``/<coll>/cdx?url=...``):
- ``output=json``: one JSON object per line (``text/x-ndjson``), fields ``urlkey, timestamp,
  url, mime, status, digest, length, offset, filename`` plus ``source``, ``source-coll`` and
  ``access``. A revisit record has ``mime: "warc/revisit"`` and no ``status`` key at all.
- Without ``output``: CDXJ (``text/x-cdxj``), ``<urlkey> <timestamp> {json of the rest}``;
  ``fl=`` trims the JSON part but the key and timestamp stay.
- Nothing found: ``200`` with an empty body (both formats), not ``404``.
- ``matchType=prefix|host|domain`` and a trailing ``*`` work; ``from``/``to`` take partial
  timestamps; ``filter=status:206`` works and IA's names (``statuscode``) are accepted;
  ``sort=reverse`` works. ``limit=-1`` returns nothing; ``showResumeKey`` and ``collapse``
  are ignored; a bad ``limit`` is a ``500``.
- URL keys are SURTs with path *and query* percent-escapes decoded and lower-cased
  (``.../<uuid>/raw?se=2025-10-17t09:30:00z&sig=ab+c/d=&sp=r``), so a replay URL is matched
  whatever its escaping, and a media URL under another signature is not found by an exact
  lookup or replay (``404``): a prefix lookup on the path finds it.

Replay (``/<coll>/<timestamp>id_/<url>``), bytes unchanged, original headers as
``X-Archive-Orig-*`` (``Content-Type``, ``Content-Length``, ``Content-Range``,
``Accept-Ranges`` and headers it does not know, e.g. ``cf-mitigated``, pass unprefixed), plus
``Memento-Datetime``, ``Link`` and ``Content-Location`` (the exact memento URL):
- A timestamp that is not exact is served directly (``200``, ``Content-Location`` names the
  capture used), not redirected; with ``redirect_to_exact=True`` it answers ``307`` to the
  exact URL instead. A partial timestamp (``2025``) means the end of that period.
- A 200 record without ``Range``: ``200`` and the whole body. With ``Range: bytes=A-B`` or
  ``bytes=A-``: ``206`` with ``Content-Range: bytes A-B/SIZE`` (pywb slices the record).
  Only the first range of a multi-range header is served; a suffix range (``bytes=-N``) is
  ignored (``200`` whole); a start past the end is ``416`` (HTML body, no Content-Range).
- A 206 record replays as recorded, with or without ``Range`` and whatever range is asked:
  ``206``, the recorded ``Content-Range`` and the recorded bytes.
- A revisit record replays with its own headers and the original record's payload.
- A 403 or 404 capture replays with that status and its archived body.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import aiohttp

LOOPBACK_ONLY = Path(__file__).resolve().parent / "loopback_only"
# pywb's console scripts, run through this interpreter: an environment that has pywb
# importable but not its scripts on disk (a wheel installed beside borrowed packages, a
# system Python) still runs them.
_ENTRY_POINTS = {
    "wayback": ("pywb.apps.cli", "wayback"),
    "wb-manager": ("pywb.manager.manager", "main_wrap_exc"),
}
REFUSED_MARK = "loopback_only: refused"


def loopback_only_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a Python subprocess that can reach loopback and nothing else."""
    env = dict(os.environ if base is None else base)
    paths = [str(LOOPBACK_ONLY), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PywbArchive:
    """pywb's ``wayback`` over ``warcs`` in a temporary folder; see the module docstring."""

    def __init__(
        self,
        warcs: Sequence[Path],
        *,
        collection: str = "sora",
        redirect_to_exact: bool = False,
        startup_timeout: float = 60.0,
    ) -> None:
        self.warcs = [Path(w).resolve() for w in warcs]
        self.collection = collection
        self.redirect_to_exact = redirect_to_exact
        self.startup_timeout = startup_timeout
        self.port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._log: IO[bytes] | None = None
        self._log_text = ""
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def prefix(self) -> str:
        return f"{self.url}/{self.collection}"

    @property
    def cdx_url(self) -> str:
        return f"{self.prefix}/cdx"

    @property
    def folder(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("PywbArchive is not running")
        return Path(self._tmp.name)

    def log(self) -> str:
        """Everything wb-manager and wayback printed so far."""
        if self._tmp is not None:
            self._log_text = (self.folder / "pywb.log").read_text(errors="replace")
        return self._log_text

    def refused(self) -> list[str]:
        """Connections the loopback guard refused (a test expects none)."""
        return [line for line in self.log().splitlines() if REFUSED_MARK in line]

    def _env(self) -> dict[str, str]:
        env = loopback_only_env()
        env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # empty: tldextract never fetches
        env["TLDEXTRACT_CACHE"] = str(self.folder / "tldextract")
        return env

    async def __aenter__(self) -> PywbArchive:
        self._tmp = tempfile.TemporaryDirectory(prefix="pywb-")
        self._log = (self.folder / "pywb.log").open("ab")
        try:
            await self._run("wb-manager", "init", self.collection)
            await self._run("wb-manager", "add", self.collection, *map(str, self.warcs))
            config = f"redirect_to_exact: {'true' if self.redirect_to_exact else 'false'}\n"
            (self.folder / "config.yaml").write_text(config)
            await self._start()
        except BaseException:
            await self._cleanup()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._cleanup()

    async def _spawn(self, name: str, *args: str) -> asyncio.subprocess.Process:
        module, function = _ENTRY_POINTS[name]
        script = (
            f"import sys; sys.argv[0] = {name!r}; from {module} import {function}; "
            f"sys.exit({function}())"
        )
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            *args,
            cwd=self.folder,
            env=self._env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def _run(self, name: str, *args: str) -> None:
        process = await self._spawn(name, *args)
        try:
            code = await asyncio.wait_for(process.wait(), self.startup_timeout)
        except TimeoutError:
            await _stop(process)
            raise RuntimeError(f"{name} {' '.join(args)} timed out:\n{self.log()}") from None
        if code != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed ({code}):\n{self.log()}")

    async def _start(self) -> None:
        # A free port can be taken between probing and binding; try another then.
        for _ in range(3):
            self.port = _free_port()
            self._process = await self._spawn("wayback", "-p", str(self.port), "-b", "127.0.0.1")
            if await self._ready(self._process):
                return
            await _stop(self._process)
            if "Address already in use" not in self.log():
                break
        raise RuntimeError(f"pywb wayback did not start:\n{self.log()}")

    async def _ready(self, process: asyncio.subprocess.Process) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while loop.time() < deadline and process.returncode is None:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(self.url + "/") as response:
                        if response.status == 200:
                            return True
                await asyncio.sleep(0.05)  # polling interval, not a wait for an event
        return False

    async def _cleanup(self) -> None:
        if self._process is not None:
            await _stop(self._process)
            self._process = None
        if self._tmp is not None:
            self.log()  # keep the text readable after the folder is gone
            if self._log is not None:
                self._log.close()
            self._tmp.cleanup()
            self._tmp = None


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 5.0)
    except TimeoutError:
        process.kill()
        await process.wait()
