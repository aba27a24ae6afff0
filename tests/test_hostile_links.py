"""Issue: hostile input, item 9. One address gets one refusal however it is written, before any
browser starts; ``--allow-host`` takes hosts, not URLs or ports; the library's options check
their types and the service shares one policy between resolution and download.

Everything stays on loopback: refused addresses are 127.0.0.2, where a second listener counts
every connection and must count none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import GOOD_PAGE, sora

from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("127.0.0.1:{port}", "allow the host alone (127.0.0.1)"),
        ("http://127.0.0.1", "allow the host alone (127.0.0.1)"),
        ("http://127.0.0.1:{port}/", "allow the host alone (127.0.0.1)"),
    ],
)
async def test_allow_host_with_a_port_or_scheme_is_exit_2_naming_the_fix(
    site: FixtureSite, tmp_path: Path, value: str, fix: str
) -> None:
    out = tmp_path / "v.mp4"
    allow = value.format(port=site.port)
    run = await sora("download", share_url(site, GOOD_PAGE), str(out), "--allow-host", allow)
    assert run.code == 2, run.err
    assert "--allow-host" in run.err
    assert fix in run.err
    assert site.stats.requests == []
    assert not out.exists()


async def test_allow_host_env_with_a_port_is_exit_2(site: FixtureSite) -> None:
    env = {"SORA_BROWSER_ALLOW_HOSTS": f"127.0.0.1:{site.port}"}
    run = await sora("resolve", share_url(site, GOOD_PAGE), env=env)
    assert run.code == 2
    assert "SORA_BROWSER_ALLOW_HOSTS" in run.err
    assert site.stats.requests == []


async def test_allowed_host_in_another_spelling_still_works(site: FixtureSite) -> None:
    run = await sora("resolve", share_url(site, GOOD_PAGE), "--allow-host", "0x7f000001")
    assert run.code == 0, run.err
    assert run.out.startswith(site.url)
