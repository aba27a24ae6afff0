"""One realistic Sora archive, as captures: what the archive resolver's tests look things up in.

``sora_scenario()`` returns the captures (feed them to ``write_warc`` for pywb and to
``IAStandIn``, so both archives hold the same thing) and named cases. Each case says which
share link a user holds, which URLs its page was captured under, the media URL the right page
capture names, and the video a correct resolver ends with (``None``: the archive cannot give
one). Original URLs use the real hosts (``sora.chatgpt.com``, ``sora.com``,
``videos.openai.com``); pages and media URLs come from ``sora_html``; media bodies are the
fixture CDN's deterministic ``video_bytes`` of a ``FakeVideo`` per case, so no two cases share
a media path and a prefix lookup finds one case's media only.

The cases mirror DESIGN.md "Archives": challenge pages captured as 403, share links captured
with ``?psh=``, page and media archived on different visits (different signatures), media
captured by a browser as ``206`` (whole, or in pieces), removed posts, revisit records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from .captures import (
    Capture,
    challenge_capture,
    media_capture,
    not_found_capture,
    page_capture,
    piece_capture,
    revisit_capture,
)
from .media import FakeVideo, video_bytes
from .sora_html import (
    derived_path,
    generation_page,
    hex_id,
    post_json,
    post_page,
    sas_url,
    source_path,
    ulid_id,
)

CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioCase:
    name: str
    share_url: str
    """The link a user holds."""
    page_urls: tuple[str, ...]
    """Original URLs its page was captured under (``?psh=``, ``www.`` differ from the link)."""
    media_url: str | None
    """The media URL named by the page capture a resolver should use; ``None`` if none."""
    video: FakeVideo | None
    """What a correct resolver ends with; ``None`` when the archive cannot give it whole."""
    note: str
    ranges_held: tuple[tuple[int, int], ...] = ()
    """Piece cases: the inclusive byte ranges the archive's pieces cover, merged."""

    @property
    def sha256(self) -> str | None:
        if self.video is None:
            return None
        return hashlib.sha256(video_bytes(self.video)).hexdigest()


@dataclass(frozen=True, slots=True)
class Scenario:
    captures: tuple[Capture, ...]
    cases: Mapping[str, ScenarioCase]

    def case(self, name: str) -> ScenarioCase:
        if name not in self.cases:
            raise KeyError(f"no scenario case {name!r}; known: {', '.join(self.cases)}")
        return self.cases[name]


def video_body(
    video: FakeVideo, first: int = 0, last: int | None = None
) -> Callable[[], Iterator[bytes]]:
    """Bytes ``first..last`` (inclusive) of ``video``, in chunks, produced on demand."""
    end = video.size if last is None else last + 1

    def chunks() -> Iterator[bytes]:
        for start in range(first, end, CHUNK):
            yield video_bytes(video, start, min(start + CHUNK, end))

    return chunks


class _Builder:
    def __init__(self) -> None:
        self.captures: list[Capture] = []
        self.cases: dict[str, ScenarioCase] = {}

    def add(self, *captures: Capture) -> None:
        self.captures.extend(captures)

    def case(
        self,
        name: str,
        share: str,
        media: str | None,
        video: FakeVideo | None,
        note: str,
        *,
        page_urls: tuple[str, ...] = (),
        ranges: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.cases[name] = ScenarioCase(
            name=name,
            share_url=share,
            page_urls=page_urls or (share,),
            media_url=media,
            video=video,
            note=note,
            ranges_held=ranges,
        )

    def post(
        self,
        name: str,
        visit: str,
        video: FakeVideo,
        *,
        page_url: str | None = None,
        encodings: dict[str, str] | None = None,
        tombstoned_at: str | None = None,
    ) -> tuple[str, str]:
        """Capture the Sora 2 post page of case ``name`` at ``visit``; (share URL, media URL)."""
        share_id = "s_" + hex_id(name)
        share = f"https://sora.chatgpt.com/p/{share_id}"
        media = sas_url(source_path(video), signed=visit)
        if tombstoned_at:
            encodings = {}
        elif encodings is None:
            encodings = _renditions(video, media, visit)
        username = "user" + hex_id(name, 6)
        prompt = f"A paper boat sailing down a rainy street ({name})"
        data = post_json(
            share_id,
            username=username,
            prompt=prompt,
            encodings=encodings,
            tombstoned_at=tombstoned_at,
        )
        page = post_page(data, og_video=None if tombstoned_at else media)
        self.add(page_capture(page_url or share, visit, page))
        return share, media


def _video(name: str, size: int, style: str = "az") -> FakeVideo:
    return FakeVideo(f"archive_{name}", size, style=style)


def _renditions(video: FakeVideo, media: str, visit: str) -> dict[str, str]:
    # Logged-out captures: source and source_wm name the same file (DESIGN.md).
    derived = {r: sas_url(derived_path(video, r), signed=visit) for r in ("md", "ld")}
    extras = {r: sas_url(derived_path(video, r), signed=visit) for r in ("thumbnail", "gif")}
    return {"source": media, "source_wm": media, **derived, **extras}


def _whole(video: FakeVideo, url: str, timestamp: str) -> Capture:
    return media_capture(url, timestamp, video_body(video))


def _piece(video: FakeVideo, url: str, timestamp: str, first: int, last: int) -> Capture:
    body = video_body(video, first, last)
    return piece_capture(url, timestamp, body, first=first, total=video.size)


# -- the cases, one function each; _CASES at the end is their order ----------------------------


def _newest_challenge(b: _Builder) -> None:
    video = _video("newest_challenge", 310_007)
    share, _ = b.post("newest_challenge", "20251014093000", video)
    _, media = b.post("newest_challenge", "20251202181500", video)
    b.add(_whole(video, media, "20251202181507"), challenge_capture(share, "20260220070000"))
    note = "newest capture (2026-02-20) is a 403 challenge; the 2025-12-02 page and media hold"
    b.case("newest_challenge", share, media, video, note)


def _psh_only(b: _Builder) -> None:
    video = _video("psh_only", 280_003)
    share_id = "s_" + hex_id("psh_only")
    page_url = f"https://sora.chatgpt.com/p/{share_id}?psh=HXVzZXItMDFrNmJzcmZ2ZXF0eDV3Nm0"
    _, media = b.post("psh_only", "20251105120000", video, page_url=page_url)
    b.add(_whole(video, media, "20251105120004"))
    note = "page captured only with ?psh= in its URL: an exact lookup of the link misses it"
    b.case("psh_only", page_url.split("?")[0], media, video, note, page_urls=(page_url,))


def _sora1_page(b: _Builder, name: str, host: str, visit: str, note: str) -> None:
    video = _video(name, 260_011, style="vg")
    gen_id = "gen_" + ulid_id(name)
    media = sas_url(source_path(video), signed=visit, vg=True)
    thumb = sas_url(derived_path(video, "thumbnail"), signed=visit)
    page = generation_page(gen_id, media_url=media, thumbnail_url=thumb, prompt=f"({name})")
    page_url = f"https://{host}/g/{gen_id}"
    b.add(page_capture(page_url, visit, page), _whole(video, media, visit[:-2] + "09"))
    share = f"https://sora.com/g/{gen_id}"
    b.case(name, share, media, video, note, page_urls=(page_url,))


def _sora1(b: _Builder) -> None:
    note = "Sora 1 /g/gen_ page on sora.com; media under /vg-assets/...%2Fsrc.mp4"
    _sora1_page(b, "sora1", "sora.com", "20250611154200", note)


def _www_host(b: _Builder) -> None:
    note = "page captured only under www.sora.com; SURT keys drop www., so the link finds it"
    _sora1_page(b, "www_host", "www.sora.com", "20250702080000", note)


def _other_signature(b: _Builder) -> None:
    video = _video("other_signature", 290_001)
    share, media = b.post("other_signature", "20251120100000", video)
    other = sas_url(source_path(video), signed="20251203220000")
    b.add(_whole(video, other, "20251203220006"))
    note = "media archived on another visit: same path, other se/sig than the page names"
    b.case("other_signature", share, media, video, note)


def _renditions_case(b: _Builder) -> None:
    video, md = _video("renditions", 330_013), _video("renditions_md", 120_007)
    visit = "20251025111500"
    media = sas_url(source_path(video), signed=visit)
    md_url = sas_url(derived_path(video, "md"), signed=visit)
    thumb = sas_url(derived_path(video, "thumbnail"), signed=visit)
    encodings = {"md": md_url, "source": media, "source_wm": media, "thumbnail": thumb}
    share, _ = b.post("renditions", visit, video, encodings=encodings)
    b.add(_whole(md, md_url, "20251025111503"), _whole(video, media, "20251025111505"))
    note = "JSON lists md first, then source; both archived: the resolver must take source"
    b.case("renditions", share, media, video, note)


def _media_missing(b: _Builder) -> None:
    video = _video("media_missing", 200_003)
    share, media = b.post("media_missing", "20251210090000", video)
    note = "the page is archived, its media never was: no video (exit 3)"
    b.case("media_missing", share, None, None, note + f"; page names {media}")


def _whole_206(b: _Builder) -> None:
    video = _video("whole_206", 305_009)
    share, media = b.post("whole_206", "20251111111100", video)
    b.add(_piece(video, media, "20251111111104", 0, video.size - 1))
    note = "media captured by a browser (Range: bytes=0-) as 206 bytes 0-N/N+1: a whole copy"
    b.case("whole_206", share, media, video, note)


def _pieces(b: _Builder) -> None:
    video = _video("pieces", 1_000_003)
    share, media = b.post("pieces", "20251015201000", video)
    later = sas_url(source_path(video), signed="20260110090000")
    b.add(
        _piece(video, media, "20251015201004", 0, 399_999),
        _piece(video, media, "20251015201009", 400_000, 749_999),
        _piece(video, later, "20260110090004", 700_000, video.size - 1),
    )
    note = "three 206 pieces, two signatures, two dates; together (overlapping) the whole file"
    b.case("pieces", share, media, video, note, ranges=((0, video.size - 1),))


def _pieces_gap(b: _Builder) -> None:
    video = _video("pieces_gap", 1_100_001)
    share, media = b.post("pieces_gap", "20251016201000", video)
    b.add(
        _piece(video, media, "20251016201004", 0, 699_999),
        _piece(video, media, "20251016201008", 900_000, video.size - 1),
    )
    note = "pieces leave bytes 700000-899999 uncaptured: no whole video"
    b.case("pieces_gap", share, media, None, note, ranges=((0, 699_999), (900_000, video.size - 1)))


def _pieces_conflict(b: _Builder) -> None:
    video = _video("pieces_conflict", 1_000_019)
    share, media = b.post("pieces_conflict", "20251017201000", video)
    later = sas_url(source_path(video), signed="20251120080000")
    bad = bytes(x ^ 0x5A for x in video_bytes(video, 400_000, 600_000))
    tampered = bad + video_bytes(video, 600_000)
    b.add(
        _piece(video, media, "20251017201004", 0, 599_999),
        piece_capture(later, "20251120080004", tampered, first=400_000, total=video.size),
    )
    note = "pieces overlap at 400000-599999 and disagree there: no trustworthy video"
    b.case("pieces_conflict", share, media, None, note, ranges=((0, video.size - 1),))


def _pieces_total_mismatch(b: _Builder) -> None:
    video = _video("pieces_total_mismatch", 900_007)
    share, media = b.post("pieces_total_mismatch", "20251018201000", video)
    tail = video_body(video, 500_000)
    b.add(
        _piece(video, media, "20251018201004", 0, 499_999),
        piece_capture(media, "20251018201007", tail, first=500_000, total=video.size + 4096),
    )
    note = f"pieces' Content-Range totals disagree ({video.size} vs {video.size + 4096})"
    b.case("pieces_total_mismatch", share, media, None, note, ranges=((0, video.size - 1),))


def _removed(b: _Builder) -> None:
    video = _video("removed", 270_001)
    share, media = b.post("removed", "20251101130000", video)
    b.add(_whole(video, media, "20251101130006"))
    b.post("removed", "20260305100000", video, tombstoned_at="2026-02-28T17:21:09.381Z")
    note = "newest capture (2026-03-05) has tombstoned_at set; the 2025-11-01 one holds it"
    b.case("removed", share, media, video, note)


def _revisit(b: _Builder) -> None:
    video = _video("revisit", 240_007)
    share, media = b.post("revisit", "20251020140000", video)
    page = b.captures[-1]
    b.add(_whole(video, media, "20251020140005"), revisit_capture(page, "20251208140000"))
    note = "newest page capture is a revisit record pointing at the 2025-10-20 response"
    b.case("revisit", share, media, video, note)


def _not_found(b: _Builder) -> None:
    share = "https://sora.chatgpt.com/p/s_" + hex_id("not_found")
    b.add(not_found_capture(share, "20260301000000"))
    note = "the only capture is a 404: no video (exit 3)"
    b.case("not_found", share, None, None, note)


_CASES: tuple[Callable[[_Builder], None], ...] = (
    _newest_challenge,
    _psh_only,
    _sora1,
    _other_signature,
    _renditions_case,
    _media_missing,
    _whole_206,
    _pieces,
    _pieces_gap,
    _pieces_conflict,
    _pieces_total_mismatch,
    _removed,
    _revisit,
    _www_host,
    _not_found,
)


def sora_scenario() -> Scenario:
    """Every case's captures, ordered by time as a crawl would have written them."""
    builder = _Builder()
    for add_case in _CASES:
        add_case(builder)
    captures = sorted(builder.captures, key=lambda c: c.timestamp)
    return Scenario(captures=tuple(captures), cases=dict(builder.cases))
