"""Netscape ``cookies.txt`` files (as written by curl, wget, yt-dlp and browser extensions).

Each line holds seven tab-separated fields::

    domain  include_subdomains  path  secure  expires  name  value

``#`` starts a comment, except the ``#HttpOnly_`` prefix curl puts before a domain. Expired
cookies are skipped; ``expires`` of ``0`` means a session cookie and is kept.
"""

from __future__ import annotations

import time
from pathlib import Path

from .errors import BadInput
from .models import Cookie

_HTTPONLY_PREFIX = "#HttpOnly_"
_FLAGS = frozenset({"TRUE", "FALSE"})


def load_cookies(path: Path, *, now: float | None = None) -> tuple[Cookie, ...]:
    """The unexpired cookies in a Netscape cookies file; ``BadInput`` if it is not one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"Cannot read cookies file {path}: {exc}") from exc
    moment = time.time() if now is None else now
    cookies: list[Cookie] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cookie = parse_line(line, where=f"{path}:{number}", now=moment)
        if cookie is not None:
            cookies.append(cookie)
    return tuple(cookies)


def parse_line(line: str, *, where: str, now: float) -> Cookie | None:
    """One line as a cookie, or None for blanks, comments and expired cookies."""
    if line.startswith(_HTTPONLY_PREFIX):
        line = line[len(_HTTPONLY_PREFIX) :]
    elif not line.strip() or line.lstrip().startswith("#"):
        return None
    fields = line.split("\t")
    if len(fields) == 6:
        fields.append("")  # some writers drop the tab before an empty value
    if len(fields) != 7:
        raise BadInput(
            f"Malformed cookies file line {where}: expected 7 tab-separated fields "
            f"(Netscape cookies.txt format), got {len(fields)}"
        )
    domain, subdomains, cookie_path, secure, expires, name, value = fields
    if subdomains.upper() not in _FLAGS or secure.upper() not in _FLAGS:
        raise BadInput(f"Malformed cookies file line {where}: flags must be TRUE or FALSE")
    if not expires.strip().isdigit() or not domain.strip() or not name:
        raise BadInput(f"Malformed cookies file line {where}: bad domain, expiry or name")
    if int(expires) and int(expires) < now:
        return None
    return Cookie(name=name, value=value, domain=domain.strip(), path=cookie_path or "/")
