"""The on-disk CDX cache (``sora_browser.archive.cache``): hits, misses, expiry, tampering."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sora_browser.archive.cache import CdxCache, cache_key
from sora_browser.archive.cdx import CdxRecord

ENDPOINT = "https://web.archive.org/cdx/search/cdx"
KEY = cache_key(ENDPOINT, [("url", "sora.chatgpt.com/p/s_1"), ("output", "json")])
RECORDS = (
    CdxRecord(
        urlkey="com,chatgpt,sora)/p/s_1",
        timestamp="20251104093012",
        original="https://sora.chatgpt.com/p/s_1",
        mimetype="text/html",
        statuscode="200",
        digest="JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5",
        length="48213",
    ),
    CdxRecord(
        urlkey="com,openai,videos)/az/files/u/raw",
        timestamp="20251104093015",
        original="https://videos.openai.com/az/files/u%2Fraw?sig=a",
        mimetype="video/mp4",
        statuscode="206",
        digest="-",
        length="379",
        offset="366",
        filename="t.warc.gz",
    ),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(tmp_path: Path, clock: Clock) -> CdxCache:
    return CdxCache(tmp_path / "cache" / "cdx", max_age=3600, clock=clock)


def test_hit_gives_back_the_records(cache: CdxCache) -> None:
    cache.put(KEY, RECORDS)
    assert cache.get(KEY) == RECORDS


def test_miss(cache: CdxCache) -> None:
    assert cache.get(KEY) is None
    cache.put(KEY, RECORDS)
    assert cache.get(KEY + "x") is None


def test_empty_answer_is_cached_as_an_answer(cache: CdxCache) -> None:
    cache.put(KEY, ())
    assert cache.get(KEY) == ()


def test_expiry(cache: CdxCache, clock: Clock) -> None:
    cache.put(KEY, RECORDS)
    clock.now += 3599
    assert cache.get(KEY) == RECORDS
    clock.now += 2
    assert cache.get(KEY) is None


def test_a_file_stored_in_the_future_is_not_trusted(cache: CdxCache, clock: Clock) -> None:
    cache.put(KEY, RECORDS)
    clock.now -= 86400  # the clock that stored it was a day ahead
    assert cache.get(KEY) is None


def test_files_are_private_and_the_folder_too(cache: CdxCache) -> None:
    cache.put(KEY, RECORDS)
    path = cache.path_for(KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.folder.stat().st_mode) == 0o700
    assert path.name == f"{path.stem}.json"
    assert len(path.stem) == 64  # sha256 hex
    assert [p.name for p in cache.folder.iterdir()] == [path.name]  # no temporary left


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b'{"format": 1, "key": "',  # torn write
        b"[1, 2, 3]",
        b'{"format": 2}',
        b'{"format": 1, "key": "other", "stored_at": 1800000000, "records": []}',
        b'{"format": 1, "key": "KEY", "stored_at": "yesterday", "records": []}',
        b'{"format": 1, "key": "KEY", "stored_at": 1800000000, "records": [["x"]]}',
        b'{"format": 1, "key": "KEY", "stored_at": 1800000000, "records": {"a": 1}}',
        b'{"format": 1, "key": "KEY", "stored_at": 1800000000, "records": '
        b'[["k", "2025", "u", "-", "-", "-", "-", null, null]]}',
        b'{"format": 1, "key": "KEY", "stored_at": 1800000000, "records": '
        b'[["k", "20251104093012", 3, "-", "-", "-", "-", null, null]]}',
        b"\xff\xfe garbage",
    ],
)
def test_corrupt_or_foreign_file_is_a_miss(cache: CdxCache, content: bytes) -> None:
    cache.put(KEY, RECORDS)
    cache.path_for(KEY).write_bytes(content.replace(b'"KEY"', json.dumps(KEY).encode()))
    assert cache.get(KEY) is None


def test_a_file_copied_from_another_key_is_a_miss(cache: CdxCache) -> None:
    other = cache_key(ENDPOINT, [("url", "sora.chatgpt.com/p/s_2")])
    cache.put(other, RECORDS)
    cache.folder.mkdir(parents=True, exist_ok=True)
    cache.path_for(KEY).write_bytes(cache.path_for(other).read_bytes())
    assert cache.get(KEY) is None


def test_a_symlink_planted_at_the_cache_file_is_not_followed(
    cache: CdxCache, tmp_path: Path
) -> None:
    cache.put(KEY, RECORDS)
    path = cache.path_for(KEY)
    planted = tmp_path / "planted.json"
    planted.write_bytes(path.read_bytes())  # a valid answer, but not ours to read
    path.unlink()
    path.symlink_to(planted)
    assert cache.get(KEY) is None

    cache.put(KEY, RECORDS[:1])  # replaces the link itself, never writes through it
    assert not path.is_symlink()
    assert planted.read_bytes() != path.read_bytes()
    assert cache.get(KEY) == RECORDS[:1]


def test_a_fifo_or_folder_at_the_path_is_a_miss_without_hanging(cache: CdxCache) -> None:
    cache.folder.mkdir(parents=True)
    os.mkfifo(cache.path_for(KEY))
    assert cache.get(KEY) is None
    other = cache_key(ENDPOINT, [("url", "x")])
    cache.path_for(other).mkdir()
    assert cache.get(other) is None


def test_a_failed_write_is_dropped(tmp_path: Path, clock: Clock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    cache = CdxCache(blocker / "cdx", max_age=60, clock=clock)
    cache.put(KEY, RECORDS)  # no exception: the cache is an optimisation
    assert cache.get(KEY) is None


def test_an_existing_folder_keeps_its_mode(tmp_path: Path, clock: Clock) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    CdxCache(folder, max_age=60, clock=clock).put(KEY, RECORDS)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_cache_key_is_the_query_in_a_stable_order() -> None:
    a = cache_key(ENDPOINT, [("url", "u"), ("filter", "statuscode:200"), ("filter", "mime:v")])
    b = cache_key(ENDPOINT, [("filter", "mime:v"), ("url", "u"), ("filter", "statuscode:200")])
    assert a == b
    assert a != cache_key(ENDPOINT, [("url", "u"), ("filter", "statuscode:200")])
    assert a != cache_key(ENDPOINT + "2", [("url", "u")])
    assert cache_key(ENDPOINT, [("url", "U")]) != cache_key(ENDPOINT, [("url", "u")])


def test_max_age_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_age"):
        CdxCache(tmp_path, max_age=0)
