"""The links ``batch`` and ``submit`` are given: arguments, files of links, or ``-`` (stdin).

Files are UTF-8 text, with or without a byte order mark, of any shape: every share link in
them is found (``linkfinder``), and what else looked like a URL is counted as ignored; a line
that starts with ``#`` is left out (a links file's comment). A file that is not UTF-8
(UTF-16, another encoding), cannot be read or does not exist is ``BadInput``: exit 2, one
line naming the file, before anything starts.
An argument is a link when it has a scheme or reads as ``host.tld/path`` and no such file
exists; anything else is taken for a file, so a mistyped file name is not tried as a link.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput

_SCHEMELESS = re.compile(r"^(?:www\.)?[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?/", re.IGNORECASE)
_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16", b"\x00\x00\xfe\xff": "UTF-32"}


@dataclass
class Links:
    """The links a command was given, and what reading its files found."""

    links: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """One line per file: how many links it held and how many other URLs were ignored."""


def read_links(
    inputs: Iterable[str], allow_hosts: frozenset[str] = frozenset(), *, media: bool = True
) -> Links:
    """Links from arguments, and every share link found in files (``linkfinder``: any text,
    a links file, a chat export, CSV, JSON, Markdown), in order, each once; with ``media``
    Sora CDN links count too (the archive can find their videos)."""
    from ..linkfinder import find_links
    from ..urls import UrlPolicy

    policy = UrlPolicy(allow_hosts)
    read = Links()
    for item in inputs:
        if item != "-" and is_link(item):
            read.links.append(item.strip())
            continue
        name = "standard input" if item == "-" else item
        data = sys.stdin.buffer.read() if item == "-" else _read(Path(item))
        found = find_links([_uncommented(decode(data, name))], policy, media=media)
        read.links.extend(found.links)
        read.notes.append(_note(name, found.links, found.ignored, found.repeats))
    read.links = list(dict.fromkeys(link for link in read.links if link))
    return read


def _note(name: str, links: list[str], ignored: int, repeats: int) -> str:
    extra = [f"{ignored} other URL(s) ignored"] if ignored else []
    extra += [f"{repeats} repeat(s)"] if repeats else []
    return f"{name}: {len(links)} link(s)" + (f" ({', '.join(extra)})" if extra else "")


def is_link(item: str) -> bool:
    text = item.strip()
    if "://" in text:
        return True
    return bool(_SCHEMELESS.match(text)) and not Path(text).exists()


def _uncommented(text: str) -> str:
    """The text without lines that start with ``#``: a links file's way to leave one out."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


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
