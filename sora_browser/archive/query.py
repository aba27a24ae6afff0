"""One logical CDX query, checked once, and the request parameters that express it.

Parameter names and forms are IA's (DESIGN.md, "Archives"); pywb understands the same ones
(it ignores ``showResumeKey``, which is why paging is the client's choice, not the query's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ..errors import BadInput

MatchType = Literal["exact", "prefix", "host", "domain"]
MATCH_TYPES: tuple[MatchType, ...] = ("exact", "prefix", "host", "domain")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,14}", re.ASCII)
# `[!][~]field:regex` (IA) or pywb's `=field:value`; a field name is letters only.
_FILTER_RE = re.compile(r"[!=~]{0,2}[A-Za-z]+:.*", re.ASCII | re.DOTALL)
_COLLAPSE_RE = re.compile(r"[A-Za-z]+(?::[0-9]+)?", re.ASCII)


@dataclass(frozen=True, slots=True, kw_only=True)
class CdxQuery:
    """What to look up; ``params`` turns it into query-string pairs."""

    url: str
    match_type: MatchType = "exact"
    filters: tuple[str, ...] = ()
    from_: str | None = None
    to: str | None = None
    limit: int | None = None
    """At most this many records; negative: the last ``-limit`` (IA's reading)."""
    collapse: str | None = None

    def __post_init__(self) -> None:
        if not self.url.strip() or any(c in self.url for c in "\r\n"):
            raise BadInput(f"Archive lookup needs one URL, not {self.url!r}")
        if self.match_type not in MATCH_TYPES:
            raise BadInput(f"matchType must be one of {', '.join(MATCH_TYPES)}")
        for item in self.filters:
            if not _FILTER_RE.fullmatch(item):
                raise BadInput(f"CDX filter must look like [!]field:regex, not {item!r}")
        for name in ("from_", "to"):
            value = getattr(self, name)
            if value is not None and not _TIMESTAMP_RE.fullmatch(value):
                raise BadInput(f"{name.rstrip('_')} must be 1 to 14 digits, not {value!r}")
        if self.limit == 0:
            raise BadInput("limit must not be 0 (None means no limit)")
        if self.collapse is not None and not _COLLAPSE_RE.fullmatch(self.collapse):
            raise BadInput(f"collapse must look like field[:N], not {self.collapse!r}")

    @property
    def pages(self) -> bool:
        """Whether the answer may be asked for in pages; IA does not page "the last N"."""
        return self.limit is None or self.limit > 0

    def params(
        self, *, limit: int | None = None, resume_key: str | None = None
    ) -> list[tuple[str, str]]:
        """The query string as pairs (``filter`` repeats), with the page's own ``limit``."""
        pairs = [("url", self.url), ("output", "json")]
        if self.match_type != "exact":
            # Exact is the server's default; saying it could override IA's reading of a
            # trailing `*` in the URL as a prefix query.
            pairs.append(("matchType", self.match_type))
        pairs += [("filter", item) for item in self.filters]
        optional = {"from": self.from_, "to": self.to, "collapse": self.collapse}
        pairs += [(name, value) for name, value in optional.items() if value is not None]
        if limit is not None:
            pairs.append(("limit", str(limit)))
        if self.pages:
            pairs.append(("showResumeKey", "true"))
        if resume_key is not None:
            pairs.append(("resumeKey", resume_key))
        return pairs

    def cache_params(self) -> list[tuple[str, str]]:
        """The pairs that name the whole answer: the caller's limit, no paging state."""
        return [(n, v) for n, v in self.params(limit=self.limit) if n != "showResumeKey"]


def timestamp_of(moment: datetime | str | None) -> str | None:
    """A CDX ``from``/``to`` value: a datetime becomes 14 digits in UTC, text is kept."""
    if moment is None or isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")
