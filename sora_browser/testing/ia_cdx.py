"""The Internet Archive CDX server's query language over a list of captures (for ``ia.py``).

Behaviour follows IA's public documentation of ``/cdx/search/cdx`` (DESIGN.md "Archives"):

- ``url`` with ``matchType=exact|prefix|host|domain``; a trailing ``*`` means prefix and a
  leading ``*.`` means domain.
- ``filter=[!]field:regex`` (repeatable; the regex must match the whole field, as IA's
  Java ``matches()`` does), ``collapse=field[:N]`` (drop a row whose field, or its first N
  characters, equals the row kept before it), ``from``/``to`` (1 to 14 digits; ``to=2025``
  reaches the end of 2025), ``limit`` (negative: the last N), ``fl`` (fields to return).
- Long answers are cut at ``max_rows``. With ``showResumeKey=true`` a cut answer ends with an
  empty row and ``[key]`` (JSON) or a blank line and the key (text); ``resumeKey=key`` carries
  on after it. ``showNumPages=true`` and ``page=N`` page by ``max_rows`` rows too.
- ``output=json`` is an array of arrays whose first row names the fields (``[]`` when nothing
  matched); without it, one space-separated line per capture.

URL keys are SURTs as IA computes them: host reversed, ``www.`` dropped, percent-escapes in
path and query decoded (so ``%2F`` is ``/``), query parameters sorted, all lower-cased. A
prefix lookup of ``videos.openai.com/az/files/<uuid>%2Fraw`` therefore finds that media under
any signature. ``length`` is the payload length here (IA gives the WARC record's length).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from .captures import Capture, body_length, payload_digest

FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
_MATCH_TYPES = ("exact", "prefix", "host", "domain")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CdxError(ValueError):
    """A query IA would refuse with ``400``."""


@dataclass(frozen=True, slots=True)
class CdxRow:
    urlkey: str
    timestamp: str
    original: str
    mimetype: str
    statuscode: str
    digest: str
    length: str
    capture: Capture = field(compare=False, repr=False)

    def get(self, name: str) -> str:
        value: str = getattr(self, name)
        return value

    @property
    def host_key(self) -> str:
        return self.urlkey.split(")", 1)[0]


def _unescape(text: str) -> str:
    # IA's canonicaliser unescapes until stable, then escapes only what cannot stand bare.
    while (decoded := unquote(text)) != text:
        text = decoded
    return "".join(
        quote(c, safe="") if ord(c) <= 0x20 or ord(c) >= 0x7F or c in "#%" else c for c in text
    )


def surt_key(url: str) -> str:
    """IA's SURT URL key, e.g. ``com,openai,videos)/az/files/<uuid>/raw?se=...&sig=...``."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = re.sub(r"^www\d*\.", "", (parts.hostname or "").strip("."))
    key = ",".join(reversed(host.split(".")))
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        key += f":{parts.port}"
    path = _unescape(parts.path) or "/"
    query = "&".join(sorted(_unescape(parts.query).split("&"))) if parts.query else ""
    return (key + ")" + path + (f"?{query}" if query else "")).lower()


def cdx_rows(captures: Iterable[Capture]) -> list[CdxRow]:
    """One CDX row per capture, in CDX order (urlkey, then timestamp)."""
    rows = [_row(capture) for capture in captures]
    return sorted(rows, key=lambda row: (row.urlkey, row.timestamp, row.original))


def _row(capture: Capture) -> CdxRow:
    revisit = capture.refers_to is not None
    return CdxRow(
        urlkey=surt_key(capture.url),
        timestamp=capture.timestamp,
        original=capture.url,
        mimetype="warc/revisit" if revisit else capture.mimetype,
        statuscode="-" if revisit else str(capture.status),
        digest=payload_digest(capture.payload).removeprefix("sha1:"),
        length=str(body_length(capture.payload)),
        capture=capture,
    )


@dataclass(frozen=True, slots=True)
class CdxQuery:
    url: str
    match_type: str = "exact"
    filters: tuple[tuple[bool, str, re.Pattern[str]], ...] = ()
    """(negated, field, pattern) per ``filter=``."""
    collapse: tuple[tuple[str, int | None], ...] = ()
    from_ts: str = ""
    to_ts: str = ""
    limit: int | None = None
    fields: tuple[str, ...] = FIELDS
    json: bool = False
    show_resume_key: bool = False
    resume_key: str | None = None
    page: int | None = None
    show_num_pages: bool = False


def parse_query(params: Mapping[str, str], multi: Mapping[str, Sequence[str]]) -> CdxQuery:
    """A query from request parameters: ``params`` single values, ``multi`` repeatable ones."""
    url = params.get("url", "")
    if not url:
        raise CdxError("url parameter is required")
    match_type = params.get("matchType", "exact")
    if url.endswith("*"):
        url, match_type = url[:-1], "prefix"
    if url.startswith("*."):
        url, match_type = url[2:], "domain"
    if match_type not in _MATCH_TYPES:
        raise CdxError(f"unknown matchType {match_type!r}")
    return CdxQuery(
        url=url,
        match_type=match_type,
        filters=tuple(_filter(spec) for spec in multi.get("filter", ())),
        collapse=tuple(_collapse(spec) for spec in multi.get("collapse", ())),
        from_ts=_timestamp(params.get("from", ""), "0"),
        to_ts=_timestamp(params.get("to", ""), "9"),
        limit=_int(params.get("limit")),
        fields=_fields(params.get("fl")),
        json=params.get("output") == "json",
        show_resume_key=params.get("showResumeKey") == "true",
        resume_key=params.get("resumeKey") or None,
        page=_int(params.get("page")),
        show_num_pages=params.get("showNumPages") == "true",
    )


def _field_name(name: str) -> str:
    if name not in FIELDS:
        raise CdxError(f"unknown field {name!r}")
    return name


def _filter(spec: str) -> tuple[bool, str, re.Pattern[str]]:
    negated = spec.startswith("!")
    name, sep, pattern = spec.removeprefix("!").partition(":")
    if not sep:
        raise CdxError(f"bad filter {spec!r}: expected [!]field:regex")
    try:
        return negated, _field_name(name), re.compile(pattern)
    except re.error as exc:
        raise CdxError(f"bad filter regex {pattern!r}: {exc}") from exc


def _collapse(spec: str) -> tuple[str, int | None]:
    name, _, length = spec.partition(":")
    return _field_name(name), _int(length) if length else None


def _timestamp(value: str, pad: str) -> str:
    if value and not (value.isdigit() and len(value) <= 14):
        raise CdxError(f"bad timestamp {value!r}: 1 to 14 digits")
    return value.ljust(14, pad) if value else ""


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise CdxError(f"not a number: {value!r}") from exc


def _fields(value: str | None) -> tuple[str, ...]:
    if not value:
        return FIELDS
    return tuple(_field_name(name.strip()) for name in value.split(","))


# -- answering --------------------------------------------------------------------------------


def _matches(row: CdxRow, query: CdxQuery, key: str) -> bool:
    if query.match_type == "exact":
        return row.urlkey == key
    if query.match_type == "prefix":
        return row.urlkey.startswith(key)
    host = key.split(")", 1)[0]
    if query.match_type == "host":
        return row.host_key == host
    return row.host_key == host or row.host_key.startswith(host + ",")


def _selected(rows: Sequence[CdxRow], query: CdxQuery) -> list[CdxRow]:
    key = surt_key(query.url)
    found = [r for r in rows if _matches(r, query, key)]
    found = [r for r in found if not query.from_ts or r.timestamp >= query.from_ts]
    found = [r for r in found if not query.to_ts or r.timestamp <= query.to_ts]
    for negated, name, pattern in query.filters:
        found = [r for r in found if bool(pattern.fullmatch(r.get(name))) != negated]
    for name, length in query.collapse:
        found = _collapsed(found, name, length)
    return found


def _collapsed(rows: list[CdxRow], name: str, length: int | None) -> list[CdxRow]:
    kept: list[CdxRow] = []
    for row in rows:
        if not kept or kept[-1].get(name)[:length] != row.get(name)[:length]:
            kept.append(row)
    return kept


def resume_key_of(row: CdxRow) -> str:
    return quote(f"{row.urlkey} {row.timestamp}", safe="")


@dataclass(frozen=True, slots=True)
class CdxAnswer:
    rows: list[CdxRow]
    resume_key: str | None = None
    num_pages: int | None = None


def answer(rows: Sequence[CdxRow], query: CdxQuery, *, max_rows: int) -> CdxAnswer:
    """The rows (and resume key) IA would send for ``query``, cut at ``max_rows``."""
    found = _selected(rows, query)
    if query.show_num_pages:
        return CdxAnswer([], num_pages=-(-len(found) // max_rows))
    if query.page is not None:
        return CdxAnswer(found[query.page * max_rows : (query.page + 1) * max_rows])
    if query.limit is not None and query.limit < 0:
        return CdxAnswer(found[query.limit :][:max_rows])
    if query.resume_key is not None:
        after = tuple(unquote(query.resume_key).split(" ", 1))
        found = [r for r in found if (r.urlkey, r.timestamp) > after]
    size = max_rows if query.limit is None else min(query.limit, max_rows)
    sent = found[:size]
    more = len(found) > len(sent) and bool(sent) and query.show_resume_key
    return CdxAnswer(sent, resume_key_of(sent[-1]) if more else None)


def render(result: CdxAnswer, query: CdxQuery) -> tuple[str, str]:
    """(body, content type) in IA's JSON or text form."""
    if result.num_pages is not None:
        return f"{result.num_pages}\n", "text/plain"
    table = [[row.get(name) for name in query.fields] for row in result.rows]
    if query.json:
        if not table:
            return "[]\n", "application/json"
        out: list[list[str]] = [list(query.fields), *table]
        if result.resume_key is not None:
            out += [[], [result.resume_key]]
        return json.dumps(out) + "\n", "application/json"
    lines = [" ".join(values) for values in table]
    if result.resume_key is not None:
        lines += ["", result.resume_key]
    return "".join(line + "\n" for line in lines), "text/plain"
