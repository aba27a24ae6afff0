"""The links ``batch`` and ``submit`` are given: arguments, files of links, or ``-`` (stdin).

Files are UTF-8 text, with or without a byte order mark; one link per line, ``#`` starts a
comment. Anything else (UTF-16, another encoding, a file that cannot be read, a path that
does not exist) is ``BadInput``: exit 2, one line naming the file, before anything starts.
An argument is a link when it has a scheme or reads as ``host.tld/path`` and no such file
exists; anything else is taken for a file, so a mistyped file name is not tried as a link.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import BadInput

_SCHEMELESS = re.compile(r"^(?:www\.)?[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?/", re.IGNORECASE)
_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16", b"\x00\x00\xfe\xff": "UTF-32"}


def read_links(inputs: Iterable[str]) -> list[str]:
    """URLs from arguments and from files of links, in order, each once."""
    links: list[str] = []
    for item in inputs:
        if item == "-":
            links.extend(link_lines(decode(sys.stdin.buffer.read(), "standard input")))
        elif is_link(item):
            links.append(item.strip())
        else:
            links.extend(link_lines(decode(_read(Path(item)), item)))
    return list(dict.fromkeys(link for link in links if link))


def is_link(item: str) -> bool:
    text = item.strip()
    if "://" in text:
        return True
    return bool(_SCHEMELESS.match(text)) and not Path(text).exists()


def link_lines(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def decode(data: bytes, name: str) -> str:
    """UTF-8 text, a leading byte order mark dropped; ``BadInput`` for anything else."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        found = next((kind for bom, kind in _BOMS.items() if data.startswith(bom)), None)
        what = f"{found} text" if found else f"not UTF-8 text (byte {exc.start})"
        raise BadInput(f"Cannot read links from {name}: it is {what}; save it as UTF-8") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"No such file of links: {path} (and it is not a link)") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BadInput(f"Cannot read links from {path}: {reason.lower()}") from None
