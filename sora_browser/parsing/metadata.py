"""What a page says about its video besides the URL: prompt, creator, ids, size, state.

Sora 2 pages carry the post JSON (docs/ARCHITECTURE.md, "Facts the code relies on")::

    {post: {id, text, attachments: [{generation_id, width, height, n_frames, prompt, ...}],
            permissions: {can_read}, tombstoned_at, posted_at?}, profile: {username, permalink}}

Sora 1 ``/g/`` pages carry ``{generation: {id, prompt, width, height, n_frames,
created_at}}``. Whatever the page holds is read; what it does not say stays ``None``, never
guessed (a duration only when the page gives one, or frames and a frame rate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from .candidates import as_dimension, as_int, as_text, loads_or_none
from .classify import page_title
from .strategies import page_json

_ON_SORA = re.compile(r"^(.+?) on Sora$")
_TIME_KEYS = ("posted_at", "created_at", "inserted_at")
_DURATION_KEYS = ("duration_seconds", "duration_s", "duration")
_FPS_KEYS = ("fps", "frame_rate", "frames_per_second")


@dataclass(frozen=True, slots=True, kw_only=True)
class PostInfo:
    post_id: str | None = None
    generation_id: str | None = None
    prompt: str | None = None
    username: str | None = None
    profile_url: str | None = None
    width: int | None = None
    height: int | None = None
    n_frames: int | None = None
    duration_seconds: float | None = None
    posted_at: datetime | None = None
    state: str | None = None
    """``public``, ``removed`` or ``private`` when the post JSON says; None without one."""

    def merged(self, other: PostInfo) -> PostInfo:
        """These facts, with what only ``other`` knows filled in."""
        missing = {f.name: getattr(other, f.name) for f in fields(self)}
        return replace(self, **{k: v for k, v in missing.items() if getattr(self, k) is None})


def page_post_info(html: str) -> PostInfo:
    """What an HTML share page says about its post."""
    info = info_from_values(page_json(html))
    title = page_title(html) or ""
    named = _ON_SORA.match(title)
    if named and info.username is None:
        info = replace(info, username=named[1], profile_url=_profile(named[1]))
    return info


def json_post_info(text: str) -> PostInfo:
    """What a JSON body (the post JSON a browser fetched) says about its post."""
    value = loads_or_none(text)
    return info_from_values([value]) if value is not None else PostInfo()


def info_from_values(values: Iterable[Any]) -> PostInfo:
    """The first post (or Sora 1 generation) found in decoded JSON ``values``."""
    for value in values:
        for node in _dicts(value):
            info = _from_node(node)
            if info is not None:
                return info
    return PostInfo()


def _dicts(root: Any) -> Iterator[dict[str, Any]]:
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _from_node(node: dict[str, Any]) -> PostInfo | None:
    post = node.get("post")
    if isinstance(post, dict) and ("attachments" in post or "tombstoned_at" in post):
        return _post(post, node.get("profile"))
    generation = node.get("generation")
    if isinstance(generation, dict) and "prompt" in generation:
        return _generation(generation)
    if node.get("@type") == "VideoObject":
        return _video_object(node)
    return None


def _post(post: dict[str, Any], profile: Any) -> PostInfo:
    attachments = post.get("attachments")
    first = attachments[0] if isinstance(attachments, list) and attachments else {}
    first = first if isinstance(first, dict) else {}
    who = profile if isinstance(profile, dict) else {}
    username = as_text(who.get("username"))
    return PostInfo(
        post_id=as_text(post.get("id")),
        generation_id=as_text(first.get("generation_id")),
        prompt=as_text(first.get("prompt")) or as_text(post.get("text")),
        username=username,
        profile_url=as_text(who.get("permalink")) or (_profile(username) if username else None),
        width=as_int(first.get("width")),
        height=as_int(first.get("height")),
        n_frames=as_int(first.get("n_frames")),
        duration_seconds=_duration(first),
        posted_at=_first_time(post),
        state=_state(post),
    )


def _generation(generation: dict[str, Any]) -> PostInfo:
    return PostInfo(
        generation_id=as_text(generation.get("id")),
        prompt=as_text(generation.get("prompt")),
        width=as_int(generation.get("width")),
        height=as_int(generation.get("height")),
        n_frames=as_int(generation.get("n_frames")),
        duration_seconds=_duration(generation),
        posted_at=_first_time(generation),
    )


def _video_object(video: dict[str, Any]) -> PostInfo:
    """schema.org's VideoObject (JSON-LD), as link previews read it."""
    author = video.get("author")
    name = as_text(author.get("name")) if isinstance(author, dict) else as_text(author)
    return PostInfo(
        prompt=as_text(video.get("description")) or as_text(video.get("name")),
        username=name,
        width=as_dimension(video.get("width")),
        height=as_dimension(video.get("height")),
        duration_seconds=_iso_duration(video.get("duration")),
        posted_at=_time(video.get("uploadDate")),
    )


_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def _iso_duration(value: Any) -> float | None:
    match = _ISO_DURATION.match(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _state(post: dict[str, Any]) -> str:
    if post.get("tombstoned_at"):
        return "removed"
    permissions = post.get("permissions")
    readable = permissions.get("can_read", True) if isinstance(permissions, dict) else True
    return "private" if readable is False or post.get("output_blocked") else "public"


def _duration(node: dict[str, Any]) -> float | None:
    for key in _DURATION_KEYS:
        value = node.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    frames = as_int(node.get("n_frames"))
    rates = [float(node[k]) for k in _FPS_KEYS if isinstance(node.get(k), int | float)]
    if frames and rates and rates[0] > 0:
        return round(frames / rates[0], 3)
    return None


def _first_time(node: dict[str, Any]) -> datetime | None:
    for key in _TIME_KEYS:
        moment = _time(node.get(key))
        if moment is not None:
            return moment
    return None


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _profile(username: str) -> str:
    return f"https://sora.chatgpt.com/profile/{username}"
