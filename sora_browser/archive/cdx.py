"""CDX answers as small immutable records, and SURT url keys. Pure functions: no network.

Four answer shapes reach this module (DESIGN.md, "Archives"), and ``parse_cdx`` tells them
apart by their first character, so a caller never says which one it expects:

- IA's ``output=json``: an array of arrays whose first row names the fields (``fl=`` chooses
  them); with ``showResumeKey=true`` an empty row and then ``[key]`` close a page. ``[]`` means
  nothing was archived.
- pywb's ``output=json``: one JSON object per line (``urlkey, timestamp, url, mime, status,
  digest, length, offset, filename``, plus ``source``/``access`` that nobody here needs).
- CDXJ, pywb's default: ``<urlkey> <timestamp> {json}`` per line.
- IA's classic text: space-separated ``urlkey timestamp original mimetype statuscode digest
  length`` per line (or the 11-field CDX that IA's and pywb's indexers write), and with
  ``showResumeKey=true`` a blank line and the key.

Anything else (an HTML error page, a truncated body, noise) raises ``ArchiveAnswerError``; no
other exception escapes ``parse_cdx`` whatever text it is given (the tests fuzz it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes, urlsplit

from ..errors import ArchiveAnswerError

FIELDS = (
    "urlkey",
    "timestamp",
    "original",
    "mimetype",
    "statuscode",
    "digest",
    "length",
    "offset",
    "filename",
)
# pywb names three fields differently from IA; both spellings mean the same column.
_ALIASES = {"url": "original", "mime": "mimetype", "status": "statuscode"}
# IA's default text columns, and the 11-column CDX ("N b a m s k r M S V g") of .cdx files.
_TEXT_LAYOUTS: dict[int, tuple[str | None, ...]] = {
    7: FIELDS[:7],
    11: (*FIELDS[:6], None, None, "length", "offset", "filename"),
}
_TIMESTAMP_RE = re.compile(r"[0-9]{14}", re.ASCII)
_TITLE_RE = re.compile(r"<title[^>]*>([^<]{1,200})", re.IGNORECASE)
_WWW_RE = re.compile(r"^www\d*\.", re.ASCII)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class CdxRecord:
    """One capture as the index describes it; every value is the string the archive gave."""

    urlkey: str
    timestamp: str
    """14 digits, UTC: ``YYYYMMDDhhmmss``."""
    original: str
    mimetype: str
    statuscode: str
    """As given: ``"200"``, ``"206"``, or ``"-"`` for records without one (revisits, DNS)."""
    digest: str
    length: str
    offset: str | None = None
    """pywb only: where the record starts in ``filename``."""
    filename: str | None = None

    def __post_init__(self) -> None:
        _parse_timestamp(self.timestamp)  # a bad one fails here, not later in a caller

    @property
    def status(self) -> int | None:
        code = self.statuscode
        return int(code) if len(code) == 3 and code.isascii() and code.isdigit() else None

    @property
    def captured_at(self) -> datetime:
        return _parse_timestamp(self.timestamp)

    @property
    def is_video(self) -> bool:
        # Media captured by a crawler is often labelled octet-stream rather than video/mp4.
        mime = self.mimetype.split(";", 1)[0].strip().lower()
        return mime.startswith("video/") or mime == "application/octet-stream"


def _parse_timestamp(timestamp: str) -> datetime:
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise ValueError(f"CDX timestamp must be 14 digits, not {timestamp!r}")
    return datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CdxAnswer:
    """One page of an index answer: its records, and the key that asks for the next page."""

    records: tuple[CdxRecord, ...] = ()
    resume_key: str | None = None


def parse_cdx(text: str) -> CdxAnswer:
    """Parse any of the four CDX answer shapes; ``ArchiveAnswerError`` for anything else."""
    body = text.lstrip("\ufeff").strip()
    if not body:
        return CdxAnswer()
    try:
        if body[0] == "[":
            return _parse_ia_json(body)
        if body[0] == "{":
            return CdxAnswer(tuple(_parse_json_line(line) for line in _lines(body)))
        if body[0] == "<":
            raise _not_cdx(_describe_markup(body), body)
        return _parse_text(body)
    except json.JSONDecodeError as exc:
        raise _not_cdx(f"broken JSON: {exc.msg}", body) from exc
    except RecursionError as exc:
        raise _not_cdx("JSON nested too deeply", body) from exc
    except ValueError as exc:  # a shape or a record this module refused, said in its message
        raise _not_cdx(str(exc), body) from exc


def _parse_ia_json(body: str) -> CdxAnswer:
    rows = json.loads(body)
    if not isinstance(rows, list):
        raise ValueError("a JSON answer that is not an array")
    if not rows:
        return CdxAnswer()
    header = [_canonical(name) for name in _strings(rows[0])]
    records: list[CdxRecord] = []
    for index, row in enumerate(rows[1:], start=1):
        values = _strings(row)
        if not values:
            return CdxAnswer(tuple(records), _resume_key(rows[index + 1 :]))
        if len(values) != len(header):
            raise ValueError(f"row {index} has {len(values)} fields, the header {len(header)}")
        records.append(_record(dict(zip(header, values, strict=True))))
    return CdxAnswer(tuple(records))


def _resume_key(rows: list[object]) -> str | None:
    """After IA's empty closing row: nothing, or exactly one row holding the key."""
    if not rows:
        return None
    key = _strings(rows[0])
    if len(rows) != 1 or len(key) != 1 or not key[0]:
        raise ValueError("the rows after the closing empty row are not one resume key")
    return key[0]


def _parse_json_line(line: str) -> CdxRecord:
    item = json.loads(line)
    if not isinstance(item, dict):
        raise ValueError("a JSON line that is not an object")
    if "timestamp" not in item and isinstance(item.get("message"), str):
        # pywb answers a bad query with {"message": "..."}: say what it said.
        raise ValueError(f"the archive says: {item['message'][:200]}")
    return _record({_canonical(k): _value(v) for k, v in item.items()})


def _parse_text(body: str) -> CdxAnswer:
    lines = body.splitlines()
    blank = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    tail = [line.strip() for line in lines[blank:] if line.strip()]
    if len(tail) > 1 or (tail and " " in tail[0]):
        raise ValueError("the lines after the blank line are not one resume key")
    records = (_parse_text_line(line) for line in lines[:blank] if not _is_cdx_header(line))
    return CdxAnswer(tuple(records), tail[0] if tail else None)


def _parse_text_line(line: str) -> CdxRecord:
    head = line.split(" ", 2)
    if len(head) == 3 and head[2].startswith("{"):
        item = json.loads(head[2])
        if not isinstance(item, dict):
            raise ValueError("a CDXJ line whose third part is not an object")
        fields = {_canonical(k): _value(v) for k, v in item.items()}
        return _record({**fields, "urlkey": head[0], "timestamp": head[1]})
    values = line.split()
    layout = _TEXT_LAYOUTS.get(len(values))
    if layout is None:
        raise ValueError(f"a text line with {len(values)} fields (expected 7 or 11)")
    return _record({name: v for name, v in zip(layout, values, strict=True) if name})


def _is_cdx_header(line: str) -> bool:
    return line.startswith((" CDX ", "CDX "))


def _record(fields: Mapping[str, str]) -> CdxRecord:
    timestamp, original = fields.get("timestamp"), fields.get("original")
    if not timestamp or not original:
        raise ValueError("a record without timestamp or original URL")
    return CdxRecord(
        urlkey=fields.get("urlkey") or surt(original),
        timestamp=timestamp,
        original=original,
        mimetype=fields.get("mimetype", "-"),
        statuscode=fields.get("statuscode", "-"),
        digest=fields.get("digest", "-"),
        length=fields.get("length", "-"),
        offset=fields.get("offset"),
        filename=fields.get("filename"),
    )


def _canonical(name: str) -> str:
    return _ALIASES.get(name, name)


def _strings(row: object) -> list[str]:
    if not isinstance(row, list):
        raise ValueError("a row that is not an array")
    return [_value(v) for v in row]


def _value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # some CDX servers give length and offset as numbers
    if value is None:
        return "-"
    raise ValueError(f"a field value of type {type(value).__name__}")


def _lines(body: str) -> Iterable[str]:
    return (line for line in body.splitlines() if line.strip())


def _describe_markup(body: str) -> str:
    title = _TITLE_RE.search(body)
    return f"an HTML page titled {title.group(1).strip()!r}" if title else "an HTML or XML page"


def _not_cdx(why: str, body: str) -> ArchiveAnswerError:
    snippet = " ".join(body[:120].split())
    return ArchiveAnswerError(f"The archive's answer is not a CDX index ({why}): {snippet!r}")


def strip_query(url: str) -> str:
    """``url`` without its query (the signature) and fragment; the path stays byte for byte."""
    return url.split("#", 1)[0].split("?", 1)[0]


def surt(url: str) -> str:
    """The SURT url key IA and pywb index captures under (``com,example)/path?a=1&b=2``).

    The host is reversed with commas and loses ``www.``/``www2.``; the default port, the
    scheme, user info and fragment go; path and query are percent-decoded (so ``%2F`` is
    ``/``), dot segments resolved, lower-cased, and the query parameters sorted. That is the
    canonicalisation of IA's ``surt`` package, which both archives use, minus its session-id
    stripping (``jsessionid=`` and friends never occur in Sora or CDN URLs).
    ``ValueError`` for a URL ``urllib`` cannot split (a bad port, a broken IPv6 literal).
    """
    text = url.strip().replace("\t", "").replace("\r", "").replace("\n", "")
    parts = urlsplit(text if "://" in text else "http://" + text)
    host = _WWW_RE.sub("", (parts.hostname or "").rstrip("."), count=1)
    key = ",".join(reversed(host.split(".")))
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        key += f":{port}"
    path = _surt_path(parts.path)
    query = _surt_query(parts.query)
    return f"{key}){path}" + (f"?{query}" if query else "")


def _surt_path(path: str) -> str:
    segments: list[bytes] = []
    for segment in _unescape(path).split(b"/"):
        if segment == b"..":
            if segments:
                segments.pop()
        elif segment not in (b"", b"."):
            segments.append(segment)
    return "/" + _escape(b"/".join(segments)).lower()


def _surt_query(query: str) -> str:
    if not query:
        return ""
    pairs = [arg.partition("=") for arg in _escape(_unescape(query)).lower().split("&")]
    # Sorted as (name, value) pairs, a bare name before the same name with a value: the order
    # IA's canonicaliser uses, so our keys equal the archive's.
    pairs.sort(key=lambda p: (p[0], bool(p[1]), p[2]))
    return "&".join("".join(p) for p in pairs)


def _unescape(text: str) -> bytes:
    """Percent-decode until nothing changes (``%252F`` is ``/`` too, as IA has it)."""
    data = text.encode("utf-8", "surrogatepass")
    while True:
        decoded = unquote_to_bytes(data)
        if decoded == data:
            return data
        data = decoded


def _escape(data: bytes) -> str:
    """Escape only what cannot stand in a key: controls, space, non-ASCII, ``#`` and ``%``."""
    return "".join(
        f"%{byte:02X}" if byte <= 0x20 or byte >= 0x7F or byte in b"#%" else chr(byte)
        for byte in data
    )
