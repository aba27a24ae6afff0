"""The package works from an installed wheel, not only from the source tree.

``sora_browser.testing`` reads its fixture pages as package data; this builds the wheel
(without build isolation: setuptools comes from the dev extra, so nothing is downloaded),
installs it into a scratch virtualenv, and runs the demo there with the source tree out of
reach. The scratch environment borrows the dependencies (aiohttp, Playwright, ...) from this
one through a ``.pth`` line: a ``.pth`` only adds a path, so this environment's editable hook
for the source tree is not run there, and ``sora_browser`` can only come from the wheel.
"""

from __future__ import annotations

import asyncio
import shutil
import site
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.browser  # the demo resolves one page in Chromium


async def _run(*args: str | Path, cwd: Path, limit: float = 300) -> str:
    proc = await asyncio.create_subprocess_exec(
        *map(str, args),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), limit)
    text = out.decode()
    assert proc.returncode == 0, text
    return text


async def _build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "sora_browser", source / "sora_browser", ignore=ignore)
    pip = (sys.executable, "-m", "pip")
    await _run(*pip, "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", tmp, source, cwd=tmp)
    (wheel,) = await asyncio.to_thread(lambda: list(tmp.glob("sora_browser-*.whl")))
    return wheel


async def _scratch_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    await _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv)}))
    (purelib / "borrowed-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = (sys.executable, "-m", "pip", "--python", venv / "bin" / "python")
    await _run(*pip, "install", "-q", "--no-index", "--no-deps", wheel, cwd=tmp)
    return venv


async def test_the_demo_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    wheel = await _build_wheel(tmp_path)
    venv = await _scratch_venv(tmp_path, wheel)
    python = venv / "bin" / "python"
    where = await _run(
        python, "-c", "import sora_browser.testing as t; print(t.__file__)", cwd=tmp_path
    )
    assert where.strip().startswith(str(venv)), where
    out = await _run(python, "-m", "sora_browser.testing.demo", cwd=tmp_path)
    assert "demo ok" in out
    assert out.count("verified: sha256") == 4  # one from the archive, three live
