"""The error tree keeps the original design's contracts; options validate themselves."""

from __future__ import annotations

import dataclasses
import errno
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sora_browser import errors
from sora_browser.options import DownloadOptions, ResolveOptions

EXIT_CODES = {
    errors.InvalidShareURL: 2,
    errors.PolicyRefused: 2,
    errors.BadInput: 2,
    errors.NoVideoFound: 3,
    errors.PageGone: 3,
    errors.PostPrivate: 3,
    errors.LoginRequired: 3,
    errors.ChallengeRequired: 3,
    errors.BrowserUnavailable: 3,
    errors.PageTooLarge: 3,
    errors.MediaRefused: 3,
    errors.NetworkError: 4,
    errors.FileTooLarge: 4,
    errors.IncompleteDownload: 4,
    errors.NotAVideo: 4,
    errors.LocalFileError: 5,
    errors.DownloadLocked: 5,
}


@pytest.mark.parametrize(("cls", "code"), list(EXIT_CODES.items()))
def test_exit_codes(cls: type[errors.SoraBrowserError], code: int) -> None:
    assert cls("boom").exit_code == code


def test_original_design_catch_clauses_still_work() -> None:
    assert issubclass(errors.InvalidShareURL, ValueError)
    assert issubclass(errors.NoVideoFound, ValueError)
    assert issubclass(errors.FetchError, aiohttp.ClientError)
    assert issubclass(errors.LocalFileError, OSError)


def test_http_status_retryability() -> None:
    assert errors.HTTPStatusError("x", status=503).retryable
    assert errors.HTTPStatusError("x", status=429, retry_after=3).retry_after == 3
    assert errors.HTTPStatusError("x", status=408).retryable
    assert not errors.HTTPStatusError("x", status=404).retryable
    assert not errors.SignatureExpired("x").retryable
    assert errors.SignatureExpired("x").status == 403


def test_local_file_error_names_the_cause() -> None:
    exc = OSError(errno.ENOSPC, "No space left on device", "/data/v.mp4.part")
    mapped = errors.LocalFileError.from_oserror(exc, "write the video")
    assert str(mapped) == "Cannot write the video (no space left on device): /data/v.mp4.part"
    assert mapped.errno == errno.ENOSPC
    assert mapped.exit_code == 5


def test_options_validate() -> None:
    with pytest.raises(ValueError, match="mode"):
        ResolveOptions(mode="turbo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="connections"):
        DownloadOptions(connections=99)
    with pytest.raises(ValueError, match="limit_rate"):
        DownloadOptions(limit_rate=0)
    with pytest.raises(ValueError, match="total_timeout"):
        DownloadOptions(total_timeout=0)


def test_options_are_frozen_and_normalise_hosts() -> None:
    options = ResolveOptions(allow_hosts=frozenset({" Example.COM. ", ""}))
    assert options.allow_hosts == frozenset({"example.com"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.mode = "static"  # type: ignore[misc]
    changed = dataclasses.replace(options, mode="static")
    assert changed.mode == "static"
    assert changed.allow_hosts == options.allow_hosts


@pytest.mark.parametrize("options", [ResolveOptions, DownloadOptions])
def test_a_host_string_is_not_a_set_of_characters(options: type[Any]) -> None:
    with pytest.raises(TypeError, match="allow_hosts must be a set of host names"):
        options(allow_hosts="127.0.0.1")
    with pytest.raises(ValueError, match="has a port"):
        options(allow_hosts=frozenset({"127.0.0.1:8765"}))
    assert options(allow_hosts=["[::1]", "0x7f000001"]).allow_hosts == {"::1", "127.0.0.1"}


@pytest.mark.parametrize(
    ("options", "field", "value"),
    [
        (ResolveOptions, "timeout", "30"),
        (ResolveOptions, "retries", 2.5),
        (ResolveOptions, "retries", True),
        (ResolveOptions, "mode", None),
        (ResolveOptions, "chromium_path", 7),
        (DownloadOptions, "total_timeout", "300"),
        (DownloadOptions, "connections", "4"),
        (DownloadOptions, "limit_rate", "2M"),
        (DownloadOptions, "verify_video", "no"),
        (DownloadOptions, "cookies_file", b"/tmp/c.txt"),
    ],
)
def test_options_check_their_types(options: type[Any], field: str, value: object) -> None:
    with pytest.raises(TypeError, match=field):
        options(**{field: value})


def test_path_options_take_strings() -> None:
    assert ResolveOptions(har_path="a.har").har_path == Path("a.har")  # type: ignore[arg-type]
    assert DownloadOptions(cookies_file="c.txt").cookies_file == Path("c.txt")  # type: ignore[arg-type]
