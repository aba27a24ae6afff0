"""CDX parsing and SURT keys (``sora_browser.archive.cdx``): pure functions, no network.

Sample answers are written by hand in the shapes DESIGN.md ("Archives") describes; each one
names where its shape comes from. The pywb samples copy the layout pywb 2.10 printed for a
two-record WARC (written with warcio) during development.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sora_browser.archive.cdx import CdxAnswer, CdxRecord, parse_cdx, strip_query, surt
from sora_browser.errors import ArchiveAnswerError, FetchError

SHARE = "https://sora.chatgpt.com/p/s_0123456789abcdef0123456789abcdef"
SHARE_KEY = "com,chatgpt,sora)/p/s_0123456789abcdef0123456789abcdef"
UUID = "00000000-1111-2222-3333-444444444444"
MEDIA = (
    f"https://videos.openai.com/az/files/{UUID}%2Fraw?se=2025-11-10T00%3A00%3A00Z&sig=a%2Fb%2B%3D"
)
MEDIA_KEY = f"com,openai,videos)/az/files/{UUID}/raw?se=2025-11-10t00:00:00z&sig=a/b+="

# IA's CDX server, output=json: an array of arrays, the first row naming the default fields.
IA_JSON = f"""[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],
["{SHARE_KEY}?psh=abc","20251104093012","{SHARE}?psh=abc","text/html","200","JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5","48213"],
["{MEDIA_KEY}","20251104093015","{MEDIA}","video/mp4","206","5VFHPUNVNIIYSODYR7CTAN3VTNWFAHR5","5242880"],
["{SHARE_KEY}","20260501120000","{SHARE}","text/html","404","3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ","612"]]
"""

# IA's CDX server with showResumeKey=true and limit=2: an empty row, then the key, close the page.
IA_JSON_PAGE = f"""[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],
["{SHARE_KEY}","20251104093012","{SHARE}","text/html","200","JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5","48213"],
["{SHARE_KEY}","20251105000000","{SHARE}","text/html","200","JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5","48213"],
[],
["com%2Cchatgpt%2Csora%29%2Fp%2Fs_0123456789abcdef0123456789abcdef+20251105000000"]]
"""

# IA's CDX server with fl=timestamp,original,statuscode: the header row follows fl=.
IA_JSON_FL = f"""[["timestamp","original","statuscode"],
["20251104093012","{SHARE}","200"]]"""

# pywb 2.10, /COLL/cdx?output=json: one object per line, pywb's field names plus its extras.
PYWB_JSON_LINES = (
    json.dumps(
        {
            "urlkey": SHARE_KEY + "?psh=xyz",
            "timestamp": "20261201170307",
            "url": SHARE + "?psh=xyz",
            "mime": "text/html",
            "status": "200",
            "digest": "JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5",
            "length": "366",
            "offset": "0",
            "filename": "t.warc.gz",
            "source": "coll/indexes/index.cdxj",
            "source-coll": "coll",
            "access": "allow",
        }
    )
    + "\n"
    + json.dumps(
        {
            "urlkey": MEDIA_KEY,
            "timestamp": "20261201170307",
            "url": MEDIA,
            "mime": "video/mp4",
            "status": "206",
            "digest": "5VFHPUNVNIIYSODYR7CTAN3VTNWFAHR5",
            "length": "379",
            "offset": "366",
            "filename": "t.warc.gz",
        }
    )
    + "\n"
)

# pywb 2.10, /COLL/cdx without output=: CDXJ, "<urlkey> <timestamp> {json}" per line.
PYWB_CDXJ = (
    f"{MEDIA_KEY} 20261201170307 "
    + json.dumps(
        {
            "url": MEDIA,
            "mime": "video/mp4",
            "status": "206",
            "digest": "5VFHPUNVNIIYSODYR7CTAN3VTNWFAHR5",
            "length": "379",
            "offset": "366",
            "filename": "t.warc.gz",
        }
    )
    + "\n"
)

# IA's CDX server without output=: space-separated default fields; with showResumeKey=true a
# blank line and the key end the page.
IA_TEXT = (
    f"{SHARE_KEY} 20251104093012 {SHARE} text/html 200 JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5 48213\n"
    f"{MEDIA_KEY} 20251104093015 {MEDIA} video/mp4 206 5VFHPUNVNIIYSODYR7CTAN3VTNWFAHR5 5242880\n"
    "\n"
    "com%2Copenai%2Cvideos%29%2Faz+20251104093015\n"
)

# An 11-field .cdx file as IA's and pywb's indexers write it ("N b a m s k r M S V g").
CDX11 = (
    " CDX N b a m s k r M S V g\n"
    f"{MEDIA_KEY} 20251104093015 {MEDIA} video/mp4 206 5VFHPUNVNIIYSODYR7CTAN3VTNWFAHR5 - -"
    " 5242880 1024 crawl-00001.warc.gz\n"
)


def test_ia_json_gives_one_record_per_row_in_order() -> None:
    answer = parse_cdx(IA_JSON)
    assert answer.resume_key is None
    assert [r.timestamp for r in answer.records] == [
        "20251104093012",
        "20251104093015",
        "20260501120000",
    ]
    page, media, gone = answer.records
    assert page.original == SHARE + "?psh=abc"
    assert page.status == 200
    assert not page.is_video
    assert media.original == MEDIA  # byte for byte: %2F and the signature untouched
    assert media.status == 206
    assert media.is_video
    assert media.length == "5242880"
    assert gone.status == 404
    assert media.offset is None
    assert media.filename is None


def test_ia_json_page_gives_resume_key() -> None:
    answer = parse_cdx(IA_JSON_PAGE)
    assert len(answer.records) == 2
    assert answer.resume_key == (
        "com%2Cchatgpt%2Csora%29%2Fp%2Fs_0123456789abcdef0123456789abcdef+20251105000000"
    )


def test_ia_json_follows_the_header_that_fl_chose() -> None:
    (record,) = parse_cdx(IA_JSON_FL).records
    assert record.original == SHARE
    assert record.statuscode == "200"
    assert record.urlkey == SHARE_KEY  # not asked for: computed the way the archive does
    assert record.mimetype == "-"
    assert record.digest == "-"


@pytest.mark.parametrize("body", ["", "   \n", "[]", "[]\n", "\ufeff[]"])
def test_nothing_archived_is_an_empty_answer(body: str) -> None:
    assert parse_cdx(body) == CdxAnswer((), None)


def test_ia_json_header_without_rows_is_empty() -> None:
    assert parse_cdx('[["urlkey","timestamp","original"]]').records == ()


def test_pywb_json_lines() -> None:
    answer = parse_cdx(PYWB_JSON_LINES)
    assert answer.resume_key is None
    page, media = answer.records
    assert page.original == SHARE + "?psh=xyz"
    assert page.mimetype == "text/html"
    assert media.statuscode == "206"
    assert media.is_video
    assert (media.offset, media.filename) == ("366", "t.warc.gz")


def test_pywb_cdxj() -> None:
    (media,) = parse_cdx(PYWB_CDXJ).records
    assert media.urlkey == MEDIA_KEY
    assert media.timestamp == "20261201170307"
    assert media.original == MEDIA
    assert media.status == 206
    assert (media.offset, media.filename, media.length) == ("366", "t.warc.gz", "379")


def test_ia_classic_text_with_resume_key() -> None:
    answer = parse_cdx(IA_TEXT)
    assert [r.original for r in answer.records] == [SHARE, MEDIA]
    assert answer.records[1].mimetype == "video/mp4"
    assert answer.resume_key == "com%2Copenai%2Cvideos%29%2Faz+20251104093015"


def test_cdx11_file_lines() -> None:
    (record,) = parse_cdx(CDX11).records
    assert record.length == "5242880"
    assert record.offset == "1024"
    assert record.filename == "crawl-00001.warc.gz"


def test_crlf_line_endings() -> None:
    assert len(parse_cdx(PYWB_JSON_LINES.replace("\n", "\r\n")).records) == 2
    assert parse_cdx(IA_TEXT.replace("\n", "\r\n")).resume_key is not None


def test_numbers_and_nulls_from_other_cdx_servers() -> None:
    line = json.dumps({"timestamp": "20251104093012", "url": SHARE, "length": 48213, "mime": None})
    (record,) = parse_cdx(line).records
    assert record.length == "48213"
    assert record.mimetype == "-"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            "<!DOCTYPE html><html><head><title>Wayback Machine is temporarily offline"
            "</title></head><body>...</body></html>",
            "titled 'Wayback Machine is temporarily offline'",
        ),
        ("<?xml version='1.0'?><error/>", "HTML or XML page"),
        ('{"message": "Invalid filter: statuscode"}', "the archive says: Invalid filter"),
        ('{"url": "https://x.example/"}', "without timestamp"),
        ('[["urlkey","timestamp","original"],["a","20251104093012"]]', "row 1 has 2 fields"),
        ('[["timestamp","original"],["20251399000000","https://x.example/"]]', "timestamp"),
        ('[["timestamp","original"],["2025", "https://x.example/"]]', "14 digits"),
        ('[["timestamp","original"],[],["a"],["b"]]', "not one resume key"),
        ('[["timestamp","original"],["20251104093012", ["nested"]]]', "type list"),
        ('{"a": 1}', "without timestamp"),
        ('[["timestamp", "original"], ["2025', "JSON"),
        ("org.archive.wayback.exception.AdministrativeAccessControlException: Blocked", "fields"),
        (f"{SHARE_KEY} 20251104093012 {SHARE}", "3 fields"),
        (IA_TEXT + "\nsecond key\n", "not one resume key"),
        ('"just a string"', "fields"),
        ("[" * 100_000, "JSON"),
    ],
)
def test_anything_else_is_an_archive_answer_error(body: str, says: str) -> None:
    with pytest.raises(ArchiveAnswerError) as caught:
        parse_cdx(body)
    assert says in str(caught.value)
    assert "not a CDX index" in str(caught.value)
    assert isinstance(caught.value, FetchError)
    assert caught.value.exit_code == 4


def test_record_properties() -> None:
    record = CdxRecord(
        urlkey=MEDIA_KEY,
        timestamp="20251104093015",
        original=MEDIA,
        mimetype="application/octet-stream",
        statuscode="-",
        digest="-",
        length="-",
    )
    assert record.status is None
    assert record.captured_at == datetime(2025, 11, 4, 9, 30, 15, tzinfo=UTC)
    assert record.is_video


@pytest.mark.parametrize(
    ("mimetype", "video"),
    [
        ("video/mp4", True),
        ("Video/MP4; codecs=avc1", True),
        ("application/octet-stream", True),
        ("text/html", False),
        ("warc/revisit", False),
        ("-", False),
    ],
)
def test_is_video(mimetype: str, video: bool) -> None:
    record = CdxRecord(
        urlkey="k", timestamp="20251104093015", original=MEDIA, mimetype=mimetype,
        statuscode="200", digest="-", length="-",
    )  # fmt: skip
    assert record.is_video is video


@pytest.mark.parametrize("timestamp", ["2025110409301", "202511040930155", "2025111x093015", ""])
def test_record_refuses_a_bad_timestamp(timestamp: str) -> None:
    with pytest.raises(ValueError, match="14 digits"):
        CdxRecord(
            urlkey="k", timestamp=timestamp, original=SHARE, mimetype="-", statuscode="-",
            digest="-", length="-",
        )  # fmt: skip


SAMPLES = [IA_JSON, IA_JSON_PAGE, IA_JSON_FL, PYWB_JSON_LINES, PYWB_CDXJ, IA_TEXT, CDX11]
_FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_documented_errors(body: str) -> None:
    try:
        answer = parse_cdx(body)
    except ArchiveAnswerError:
        return
    assert isinstance(answer, CdxAnswer)
    for record in answer.records:
        record.captured_at  # noqa: B018 -- a record that parsed must be whole
        assert isinstance(record.is_video, bool)


@_FUZZ
@given(st.text())
def test_fuzz_random_text(body: str) -> None:
    _only_documented_errors(body)


@_FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_fuzz_damaged_samples(sample: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(sample)))
    end = data.draw(st.integers(start, len(sample)))
    junk = data.draw(st.text(max_size=20))
    _only_documented_errors(sample[:start] + junk + sample[end:])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@_FUZZ
@given(JSON_VALUES)
def test_fuzz_any_json(value: object) -> None:
    _only_documented_errors(json.dumps(value))


@_FUZZ
@given(st.lists(st.lists(st.text(max_size=16) | st.integers(), max_size=8), max_size=6))
def test_fuzz_ia_shaped_json(rows: list[list[object]]) -> None:
    _only_documented_errors(json.dumps([["urlkey", "timestamp", "original"], *rows]))


# Expected keys follow IA's canonicalisation (the `surt` package that IA and pywb index with);
# the first is the brief's own example, the media ones are DESIGN.md's CDN URL forms.
@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.sora.chatgpt.com/p/s_ABC?psh=x&a=1", "com,chatgpt,sora)/p/s_abc?a=1&psh=x"),
        (SHARE + "?psh=xyz", SHARE_KEY + "?psh=xyz"),
        (MEDIA, MEDIA_KEY),
        (
            "https://videos.openai.com/vg-assets/assets%2Ftask_01jabc%2Fvideos%2F00000_wm"
            "%2Fsrc.mp4?st=2025-01-01T00%3A00%3A00Z&se=2025-01-07&sp=r&sig=Zm9v%2Bbar%3D",
            "com,openai,videos)/vg-assets/assets/task_01jabc/videos/00000_wm/src.mp4"
            "?se=2025-01-07&sig=zm9v+bar=&sp=r&st=2025-01-01t00:00:00z",
        ),
        ("sora.chatgpt.com/p/s_1", "com,chatgpt,sora)/p/s_1"),
        ("https://www.example.com", "com,example)/"),
        ("https://example.com/?", "com,example)/"),
        ("http://www.Example.com:80/A/./b/../c//d/?b=2&a=1#frag", "com,example)/a/c/d?a=1&b=2"),
        ("http://example.com:8080/", "com,example:8080)/"),
        ("https://example.com:443/x/", "com,example)/x"),
        ("http://example.com:443/", "com,example:443)/"),
        ("http://www1.example.com/", "com,example)/"),
        ("http://wwwx.example.com/", "com,example,wwwx)/"),
        ("https://EXAMPLE.com./x", "com,example)/x"),
        ("http://127.0.0.1:8000/p/s_1", "1,0,0,127:8000)/p/s_1"),
        ("http://user:pw@example.com/%7Efoo/%25zz/%C3%A9/é x",
         "com,example)/~foo/%25zz/%c3%a9/%c3%a9%20x"),
        ("https://example.com/a%2Fb%2f..%2Fc", "com,example)/a/c"),
        ("https://example.com/x?a=%2541", "com,example)/x?a=a"),
        ("https://example.com/p?q=a+b%20c", "com,example)/p?q=a+b%20c"),
        ("https://example.com/?B=1&a=2", "com,example)/?a=2&b=1"),
        ("https://example.com/a?x=1&x-y=2&x=0", "com,example)/a?x=0&x=1&x-y=2"),
        ("https://example.com/a?b=1&b&b=", "com,example)/a?b&b=&b=1"),
        ("https://example.com/x%23y", "com,example)/x%23y"),
    ],
)  # fmt: skip
def test_surt(url: str, key: str) -> None:
    assert surt(url) == key


def test_surt_finds_a_media_capture_whatever_its_signature() -> None:
    # DESIGN.md: a prefix lookup of the unsigned URL finds captures under any signature.
    signed = [MEDIA, MEDIA.replace("sig=a%2Fb", "sig=zz%2Fq"), MEDIA.split("?")[0]]
    prefix = surt(strip_query(MEDIA))
    assert all(surt(url).startswith(prefix) for url in signed)


@pytest.mark.parametrize(
    ("url", "bare"),
    [
        (MEDIA, f"https://videos.openai.com/az/files/{UUID}%2Fraw"),
        (SHARE + "?psh=abc#top", SHARE),
        (SHARE, SHARE),
        ("https://videos.openai.com/a%2Fb%3Fc?d=1", "https://videos.openai.com/a%2Fb%3Fc"),
    ],
)
def test_strip_query_keeps_the_path_byte_for_byte(url: str, bare: str) -> None:
    assert strip_query(url) == bare


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_surt_raises_at_most_value_error(url: str) -> None:
    try:
        key = surt(url)
    except ValueError:
        return
    assert ")" in key
