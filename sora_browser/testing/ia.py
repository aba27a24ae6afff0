"""IAStandIn: the Internet Archive's Wayback Machine on loopback, holding a list of captures.

It answers what DESIGN.md "Archives" documents of web.archive.org, for the same captures a
test writes to a WARC for pywb (``captures.py``, ``scenario.py``):

- ``GET /cdx/search/cdx?url=...``: IA's CDX API, see ``ia_cdx`` (JSON or text, match types,
  filters, collapse, from/to, limit, resume keys, pages). ``max_rows`` cuts long answers the
  way IA's service does, so a client listing a prefix has to page.
- ``GET /web/<timestamp>id_/<original URL>``: the archived bytes unchanged. A timestamp that
  is not a capture's answers ``302`` to the nearest capture (a partial timestamp counts as the
  last moment of its period, as pywb reads it). Original headers come back as
  ``X-Archive-Orig-<name>``, with ``Content-Type``, ``Memento-Datetime`` and ``Link``. A 206
  capture replays as recorded: status 206 and its ``Content-Range``, whatever was asked.
  ``Range`` is served by the stand-in itself only for 200 captures with a Content-Length, one
  range per request (``416`` with ``bytes */SIZE`` when unsatisfiable). URLs are matched by
  SURT key, so ``www.``, escaping and query order do not matter; another signature does.
  Without ``id_`` an HTML page gets IA's toolbar inserted, so a client that forgets ``id_``
  does not get the archived bytes.

Tests script faults with ``cdn.Fault``, one consumed per request to that endpoint::

    ia.script("cdx", [Fault.status(429, retry_after=1.5)] * 2)
    ia.script("replay", [Fault.drop_after(fraction=0.5)])   # also status, truncate, ok

Every request is recorded in ``ia.requests`` with its arrival time (``loop.time()``) and the
status answered; ``ia.reset()`` clears records and scripts.
"""

from __future__ import annotations

import asyncio
import calendar
import collections
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

from aiohttp import web
from multidict import CIMultiDict

from .captures import Capture, http_date, iter_body_range
from .cdn import Fault
from .ia_cdx import CdxError, CdxRow, answer, cdx_rows, parse_query, render, surt_key
from .serving import serve

NOT_ARCHIVED = "Wayback Machine doesn't have that page archived."
TOOLBAR = (
    b"<!-- BEGIN WAYBACK TOOLBAR INSERT --><div id='wm-ipp'></div>"
    b"<!-- END WAYBACK TOOLBAR INSERT -->"
)
_REPLAY = re.compile(r"^/web/(\d{1,14})([a-z]{2}_)?/(.+)$", re.DOTALL)
_FAULT_KINDS = {"cdx": {"ok", "status"}, "replay": {"ok", "status", "drop", "truncate"}}


@dataclass
class IARequest:
    endpoint: str
    """``cdx``, ``replay`` or ``other``."""
    method: str
    path: str
    """The raw path and query, still percent-encoded."""
    headers: dict[str, str]
    at: float
    """``loop.time()`` when it arrived."""
    status: int = 0
    """The status answered (0 until answered)."""


@dataclass
class _Waiter:
    holds: Callable[[], bool]
    future: asyncio.Future[None] = field(repr=False)


class IAStandIn:
    """Start with ``async with IAStandIn(captures) as ia:``; see the module docstring."""

    def __init__(
        self,
        captures: Iterable[Capture],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_rows: int = 10_000,
    ) -> None:
        self.host, self.port = host, port
        self.max_rows = self._max_rows = max_rows
        """Rows per CDX answer at most (tests lower it to make a client page)."""
        self.rows: list[CdxRow] = cdx_rows(captures)
        self.requests: list[IARequest] = []
        self._by_key: dict[str, list[CdxRow]] = collections.defaultdict(list)
        for row in self.rows:
            self._by_key[row.urlkey].append(row)
        self._scripts: dict[str, collections.deque[Fault]] = {
            name: collections.deque() for name in _FAULT_KINDS
        }
        self._waiters: list[_Waiter] = []
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_get("/cdx/search/cdx", self._cdx)
        self.app.router.add_get("/web/{tail:.+}", self._replay)
        self.app.router.add_route("*", "/{tail:.*}", self._other)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def prefix(self) -> str:
        return f"{self.url}/web"

    @property
    def cdx_url(self) -> str:
        return f"{self.url}/cdx/search/cdx"

    # -- scripts and records --------------------------------------------------------------

    def script(self, endpoint: str, faults: Iterable[Fault]) -> None:
        """Queue faults for the next requests to ``cdx`` or ``replay``."""
        faults = list(faults)
        for fault in faults:
            if fault.kind not in _FAULT_KINDS[endpoint]:
                raise ValueError(f"{endpoint} cannot play fault {fault.kind!r}")
        self._scripts[endpoint].extend(faults)

    def requests_to(self, endpoint: str) -> list[IARequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    @property
    def cdx_count(self) -> int:
        return len(self.requests_to("cdx"))

    def reset(self) -> None:
        """Forget requests and scripts, and put ``max_rows`` back."""
        self.max_rows = self._max_rows
        self.requests.clear()
        for script in self._scripts.values():
            script.clear()

    async def wait_for_requests(self, endpoint: str, count: int) -> None:
        """Return once ``count`` requests to ``endpoint`` have been answered (status known)."""

        def holds() -> bool:
            return sum(1 for r in self.requests_to(endpoint) if r.status) >= count

        if holds():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(_Waiter(holds, future))
        await future

    def _record(self, request: web.Request, endpoint: str) -> IARequest:
        at = asyncio.get_running_loop().time()
        entry = IARequest(endpoint, request.method, request.raw_path, dict(request.headers), at)
        self.requests.append(entry)
        return entry

    def _answered(self, entry: IARequest, status: int) -> None:
        entry.status = status
        for waiter in [w for w in self._waiters if w.holds()]:
            self._waiters.remove(waiter)
            if not waiter.future.done():
                waiter.future.set_result(None)

    def _next_fault(self, endpoint: str) -> Fault | None:
        script = self._scripts[endpoint]
        return script.popleft() if script else None

    # -- handlers ---------------------------------------------------------------------------

    async def _cdx(self, request: web.Request) -> web.Response:
        entry = self._record(request, "cdx")
        fault = self._next_fault("cdx")
        if fault is not None and fault.kind == "status":
            response = _fault_answer(fault)
        else:
            try:
                query = parse_query(
                    request.query, {k: request.query.getall(k) for k in request.query}
                )
                body, content_type = render(answer(self.rows, query, max_rows=self.max_rows), query)
                response = web.Response(text=body, content_type=content_type)
            except CdxError as exc:
                response = web.Response(status=400, text=f"Bad request: {exc}\n")
        self._answered(entry, response.status)
        return response

    async def _other(self, request: web.Request) -> web.Response:
        self._answered(self._record(request, "other"), 404)
        return web.Response(status=404, text="Not found\n")

    async def _replay(self, request: web.Request) -> web.StreamResponse:
        entry = self._record(request, "replay")
        fault = self._next_fault("replay")
        match = _REPLAY.match(request.raw_path)
        if match is None:
            return self._early(entry, web.Response(status=400, text="Bad replay URL\n"))
        timestamp, mod, original = match.group(1), match.group(2) or "", match.group(3)
        row = self._nearest(_fix_scheme(original), timestamp)
        if fault is not None and fault.kind == "status":
            return self._early(entry, _fault_answer(fault))
        if row is None:
            return self._early(entry, web.Response(status=404, text=NOT_ARCHIVED))
        if row.timestamp != timestamp:
            location = f"{self.prefix}/{row.timestamp}{mod}/{row.original}"
            return self._early(entry, web.Response(status=302, headers={"Location": location}))
        return await self._serve(request, entry, row, mod, fault)

    def _early(self, entry: IARequest, response: web.Response) -> web.Response:
        """An answer decided before any body: a fault, a bad URL, a miss, a redirect."""
        self._answered(entry, response.status)
        return response

    def _nearest(self, original: str, timestamp: str) -> CdxRow | None:
        rows = self._by_key.get(surt_key(original), [])
        target = _moment(timestamp)
        # Ties go to the earlier capture: rows are in time order and min() keeps the first.
        return min(
            rows, key=lambda r: abs((_moment(r.timestamp) - target).total_seconds()), default=None
        )

    async def _serve(
        self, request: web.Request, entry: IARequest, row: CdxRow, mod: str, fault: Fault | None
    ) -> web.StreamResponse:
        capture = row.capture
        size = int(row.length)  # the payload's length, measured once for the CDX row
        status, span = capture.status, (0, size)
        headers = self._replay_headers(row, mod)
        wanted = _wanted_range(request, capture, size)
        if wanted == "416":
            headers["Content-Range"] = f"bytes */{size}"
            self._answered(entry, 416)
            return web.Response(status=416, headers=headers)
        if isinstance(wanted, tuple):
            status, span = 206, wanted
            headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
        toolbar = mod != "id_" and capture.mimetype == "text/html"
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = span[1] - span[0] + (len(TOOLBAR) if toolbar else 0)
        self._answered(entry, status)
        await response.prepare(request)
        if toolbar:
            await response.write(TOOLBAR)
        await _send(request, response, capture, span, fault)
        return response

    def _replay_headers(self, row: CdxRow, mod: str) -> CIMultiDict[str]:
        capture = row.capture
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in capture.headers:
            headers.add(f"X-Archive-Orig-{name}", value)
        headers["Content-Type"] = capture.header("Content-Type") or "application/octet-stream"
        recorded_range = capture.header("Content-Range")
        if capture.status == 206 and recorded_range:
            headers["Content-Range"] = recorded_range
        memento = http_date(row.timestamp)
        headers["Memento-Datetime"] = memento
        headers["Link"] = (
            f'<{row.original}>; rel="original", '
            f'<{self.prefix}/timemap/link/{row.original}>; rel="timemap"; '
            f'type="application/link-format", '
            f'<{self.prefix}/{row.timestamp}{mod}/{row.original}>; rel="memento"; '
            f'datetime="{memento}"'
        )
        return headers

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._runner, self.port = await serve(self.app, self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> IAStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _fault_answer(fault: Fault) -> web.Response:
    headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
    return web.Response(status=fault.status_code, text="scripted failure\n", headers=headers)


def _fix_scheme(original: str) -> str:
    # Some clients merge the slashes of an embedded "https://"; IA accepts both forms.
    return re.sub(r"^(https?):/+", r"\1://", original)


def _moment(timestamp: str) -> datetime:
    """A 1-14 digit timestamp as the last moment of the period it names (pywb's reading)."""
    full = timestamp + "99991231235959"[len(timestamp) :]
    year, month = int(full[:4]), min(max(int(full[4:6]), 1), 12)
    day = min(max(int(full[6:8]), 1), calendar.monthrange(year, month)[1])
    hour, minute, second = (
        min(int(full[i : i + 2]), limit) for i, limit in ((8, 23), (10, 59), (12, 59))
    )
    return datetime(year, month, day, hour, minute, second)


def _wanted_range(
    request: web.Request, capture: Capture, size: int
) -> tuple[int, int] | str | None:
    """``(start, end)`` to serve, ``"416"``, or ``None`` for the recorded response as is."""
    header = request.headers.get("Range")
    if not header or capture.status != 200 or capture.header("Content-Length") is None:
        return None
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if match is None or match.groups() == ("", ""):
        return None  # several ranges, or not understood: IA answers the whole capture
    first, last = match.groups()
    if first == "":
        return (max(size - int(last), 0), size) if int(last) > 0 else "416"
    start, end = int(first), min(int(last) + 1, size) if last else size
    return (start, end) if start < size and start < end else "416"


async def _send(
    request: web.Request,
    response: web.StreamResponse,
    capture: Capture,
    span: tuple[int, int],
    fault: Fault | None,
) -> None:
    start, end = span
    cut = fault is not None and fault.kind in ("drop", "truncate")
    stop = start + int((end - start) * fault.fraction) if fault is not None and cut else end
    try:
        for data in iter_body_range(capture.payload, start, stop):
            await response.write(data)
    except ConnectionError:
        # The client hung up mid-body (a range probe that reads only the headers): nothing to
        # report. aiohttp raises a bare ConnectionError("Connection lost") when the peer resets
        # while a write waits, not a ConnectionResetError.
        return
    if fault is not None and cut and request.transport is not None:
        # "truncate" ends cleanly but short (FIN); "drop" resets the connection (RST).
        if fault.kind == "truncate":
            request.transport.close()
        else:
            request.transport.abort()
        return
    await response.write_eof()
