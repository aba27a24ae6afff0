"""A big video archived in many pieces, for memory tests and benchmarks of the assembler.

The scenario's videos come from ``media.video_bytes``, which keeps a whole body in memory:
fine for a few MB, not for 256 MiB. Here the body is made chunk by chunk, each 1 MiB chunk
from its own seed, so any range can be produced without the rest and nothing is held.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .captures import Capture, page_capture, piece_capture
from .media import FakeVideo, mp4_header
from .sora_html import hex_id, post_json, post_page, sas_url, source_path

CHUNK = 1024 * 1024
VISIT = "20251105120000"


@dataclass(frozen=True, slots=True)
class BigCase:
    share_url: str
    size: int
    sha256: str
    captures: tuple[Capture, ...]


def _chunk(name: str, size: int, index: int) -> bytes:
    start = index * CHUNK
    data = random.Random(f"{name}:{index}").randbytes(min(CHUNK, size - start))
    if index == 0:
        head = mp4_header(size)
        data = head + data[len(head) :]
    return data


def body_range(name: str, size: int, first: int, end: int) -> Callable[[], Iterator[bytes]]:
    """Bytes ``[first, end)`` of the video ``name``, produced on demand."""

    def chunks() -> Iterator[bytes]:
        for index in range(first // CHUNK, (end - 1) // CHUNK + 1):
            data = _chunk(name, size, index)
            low = max(first - index * CHUNK, 0)
            high = min(end - index * CHUNK, len(data))
            yield data[low:high]

    return chunks


def sha256_of(name: str, size: int) -> str:
    digest = hashlib.sha256()
    for data in body_range(name, size, 0, size)():
        digest.update(data)
    return digest.hexdigest()


def pieces_case(name: str, size: int, pieces: int, *, overlap: int = 64 * 1024) -> BigCase:
    """A Sora 2 post whose source video is archived only as ``pieces`` overlapping 206s."""
    video = FakeVideo(name, size)
    share_id = "s_" + hex_id(name)
    share = f"https://sora.chatgpt.com/p/{share_id}"
    media = sas_url(source_path(video), signed=VISIT)
    data = post_json(share_id, username="bigvideo", prompt=name, encodings={"source": media})
    captures = [page_capture(share, VISIT, post_page(data, og_video=media))]
    step = -(-size // pieces)
    for number, start in enumerate(range(0, size, step)):
        first = max(0, start - overlap)
        end = min(size, start + step)
        body = body_range(name, size, first, end)
        stamp = f"{VISIT[:12]}{number % 60:02d}"
        captures.append(piece_capture(media, stamp, body, first=first, total=size))
    return BigCase(share, size, sha256_of(name, size), tuple(captures))
