"""The package works from an installed wheel, not only from the source tree.

``sora_browser.testing`` reads its fixture pages as package data, and the yt-dlp plugin is a
top-level namespace package of its own; ``installed_wheel`` (conftest.py) builds the wheel
and installs it into a scratch virtualenv, where the source tree is out of reach.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_quietly


@pytest.mark.browser  # the demo resolves one page in Chromium
async def test_the_demo_runs_from_an_installed_wheel(installed_wheel: Path, tmp_path: Path) -> None:
    python = installed_wheel / "bin" / "python"
    where = await run_quietly(
        python, "-c", "import sora_browser.testing as t; print(t.__file__)", cwd=tmp_path
    )
    assert where.strip().startswith(str(installed_wheel)), where
    out = await run_quietly(python, "-m", "sora_browser.testing.demo", cwd=tmp_path)
    assert "demo ok" in out
    assert out.count("verified: sha256") == 5  # one from the archive, four live (one named)


async def test_the_wheel_ships_the_yt_dlp_plugin(installed_wheel: Path, tmp_path: Path) -> None:
    # yt-dlp's plugin finder looks for yt_dlp_plugins/extractor/ in every sys.path folder.
    plugin = "yt_dlp_plugins/extractor/sora_browser.py"
    found = await run_quietly(
        installed_wheel / "bin" / "python",
        "-c",
        f"import site, pathlib; print([str(p) for p in site.getsitepackages()"
        f" if (pathlib.Path(p) / {plugin!r}).is_file()])",
        cwd=tmp_path,
    )
    assert str(installed_wheel) in found, found
