"""File names from a template (``--template``), safe whatever a page says.

Fields: ``{id} {title} {username} {prompt} {variant} {width} {height} {date}`` and ``{ext}``
(``mp4``); ``{date}`` is the post's date (``YYYYMMDD``) when the page gives one, else the
archive capture's, else ``NA``, as is any field the page does not give. ``/`` in the template
makes folders (``{username}/{id}.{ext}``). The default, ``{id}.{ext}``, is the name the tool
always used.

Every value from remote data is cleaned before it joins a path: no path separators, no ``..``,
no control characters, no leading dot or dash, no reserved Windows name, and a length cap in
bytes so that the name plus the longest side-file suffix (``.mp4.part.json.tmp``) stays within
the file system's 255-byte limit. The template's own text must name a relative path inside
the output folder; anything else is bad input.
"""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import PurePosixPath
from typing import Any

from .errors import BadInput
from .models import ResolvedVideo
from .safefs import DEFAULT_NAME_MAX as NAME_MAX
from .safefs import LONGEST_SUFFIX

DEFAULT_TEMPLATE = "{id}.{ext}"
FIELDS = ("id", "title", "username", "prompt", "variant", "width", "height", "date", "ext")
LINK_FIELDS = frozenset({"id", "ext"})
"""Fields the share link alone gives: a template of only these names a file before the page
is read, so a video already downloaded is found without resolving anything."""
MISSING = "NA"
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{k}{n}" for k in ("com", "lpt") for n in range(10)}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
_SPACES = re.compile(r"\s+")


def check_template(template: str) -> str:
    """The template, or ``BadInput`` saying what is wrong with it."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    unknown = sorted({n for n in names if n not in FIELDS})
    if unknown:
        raise BadInput(
            f"Unknown field(s) {', '.join(unknown)} in --template (known: {', '.join(FIELDS)})"
        )
    path = PurePosixPath(template)
    if path.is_absolute() or ".." in path.parts or not template.strip():
        raise BadInput(f"--template must name a file inside the output folder: {template!r}")
    return template


def render(template: str, video: ResolvedVideo, ext: str = "mp4") -> PurePosixPath:
    """The relative path ``template`` names for ``video``, every part of it safe."""
    return render_fields(template, fields_of(video, ext))


def render_fields(template: str, fields: dict[str, Any]) -> PurePosixPath:
    """The relative path ``template`` names with these field values (``NA`` where absent)."""
    values = {name: clean(str(fields.get(name, MISSING))) for name in FIELDS}
    try:
        text = check_template(template).format(**values)
    except (ValueError, IndexError, KeyError) as exc:
        raise BadInput(f"Cannot use --template {template!r}: {exc}") from exc
    parts = [fit(clean(part)) for part in text.split("/") if part.strip()]
    return PurePosixPath(*(parts or [fit(values["id"]) + f".{values['ext']}"]))


def needs_page(template: str) -> bool:
    """Whether ``template`` uses a field only the page gives (title, username, ...)."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return not names <= LINK_FIELDS


def with_id(path: PurePosixPath, share_id: str) -> PurePosixPath:
    """``path`` with `` [<share id>]`` before its extension, for a name another video holds."""
    name, ext = path.name, ""
    if "." in name:
        name, _, ext = name.rpartition(".")
        ext = "." + ext
    tag = f" [{clean(share_id)}]"
    stem = fit(name, NAME_MAX - len(LONGEST_SUFFIX) - len(tag.encode()) - len(ext.encode()))
    return path.with_name(f"{stem}{tag}{ext}")


def fields_of(video: ResolvedVideo, ext: str) -> dict[str, Any]:
    moment = video.posted_at or video.page_captured_at
    return {
        "id": video.share_id,
        "title": video.title or MISSING,
        "username": video.username or MISSING,
        "prompt": video.prompt or MISSING,
        "variant": video.variant or MISSING,
        "width": video.width or MISSING,
        "height": video.height or MISSING,
        "date": moment.strftime("%Y%m%d") if moment else MISSING,
        "ext": ext,
    }


def clean(value: str) -> str:
    """One path component's worth of ``value``: nothing that could leave its folder."""
    text = unicodedata.normalize("NFC", value)
    text = _SPACES.sub(" ", _UNSAFE.sub("_", text)).strip()
    text = text.lstrip(".-_ ") or MISSING
    if text.split(".", 1)[0].lower() in _RESERVED:
        text = "_" + text
    return text


def fit(name: str, limit: int = NAME_MAX - len(LONGEST_SUFFIX)) -> str:
    """``name`` cut to ``limit`` bytes of UTF-8 (never mid-character), its extension kept."""
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 8:
        stem, ext = name, ""
    tail = f".{ext}" if ext else ""
    room = limit - len(tail.encode())
    cut = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .")
    return (cut or MISSING) + tail
