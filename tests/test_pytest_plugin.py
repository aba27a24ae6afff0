"""The pytest plugin users get with the package (entry point ``pytest11``): run as they run it,
in a pytest of its own (``pytester``, in a subprocess), on test files like theirs."""

from __future__ import annotations

import sys

import pytest

pytest_plugins = ["pytester"]

USERS_TESTS = """
import asyncio
import hashlib

import pytest

from sora_browser import SoraClient, SoraExtractionService
from sora_browser.testing.cdn import Fault


def test_a_plain_test_downloads_through_a_failing_cdn(sora_site, tmp_path):
    sora_site.cdn.script("source", [Fault.status(503)])

    async def pipeline():
        async with SoraExtractionService(
            resolve_options=sora_site.resolve_options(),
            download_options=sora_site.download_options(backoff_initial=0.01),
        ) as service:
            return await service.extract_and_download(
                sora_share_url=sora_site.share_url("og_video"), output_path=tmp_path / "v.mp4"
            )

    path = asyncio.run(pipeline())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sora_site.sha256("source")
    assert sora_site.stats.total_bytes("source") == path.stat().st_size


def test_counters_and_faults_start_clean(sora_site):
    assert sora_site.stats.total_bytes() == 0
    assert sora_site.stats.requests == []


@pytest.mark.asyncio
async def test_an_asyncio_test_resolves_from_the_archive(sora_archive):
    case = sora_archive.case("renditions")
    async with SoraClient(sora_archive.resolve_options()) as client:
        resolved = await client.resolve(case.share_url)
    assert resolved.mp4_url.startswith(sora_archive.prefix + "/")
    assert resolved.original_media_url == case.media_url
    assert {r.endpoint for r in sora_archive.archive.requests} >= {"cdx"}
"""

NOTHING_ASKED = """
import sys
import threading


def test_no_server_starts_unless_a_test_asks():
    assert "sora_browser.testing.site" not in sys.modules
    assert "aiohttp" not in sys.modules
    assert all(t.name != "sora-browser-servers" for t in threading.enumerate())
"""


def test_users_fixtures_serve_plain_and_asyncio_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pipeline=USERS_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(passed=3)


def test_the_plugin_costs_nothing_until_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing=NOTHING_ASKED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    listed = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    listed.stdout.fnmatch_lines(["*sora_site*", "*sora_archive*"])


def test_importing_the_plugin_loads_no_server_code(pytester: pytest.Pytester) -> None:
    probe = (
        "import sys, sora_browser.testing.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith(('aiohttp', 'asyncio', "
        "'sora_browser.testing.'))))"
    )
    result = pytester.run(sys.executable, "-c", probe)
    assert result.ret == 0
    assert result.outlines[-1] == "['sora_browser.testing.pytest_plugin']"
