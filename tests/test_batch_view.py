"""Issue: keep what the page knew, "progress people can read". ``batch`` on a terminal draws
an overall line and a line per download, then a summary table; elsewhere it writes plain
lines. The terminal is a real pseudo-terminal, so what rich decides to draw is what a user sees.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import struct
import termios
from pathlib import Path

from test_cli import ALLOW, GONE_PAGE, GOOD_PAGE, SORA, SORA1_PAGE, sora

from sora_browser.testing.cdn import Fault
from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every writer of the terminal has gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Run the command with stderr on a 140-column pseudo-terminal; (code, stdout, screen)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    proc = await asyncio.create_subprocess_exec(
        SORA,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    screen = asyncio.get_running_loop().run_in_executor(None, _read_all, leader)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = (await screen).decode("utf-8", "replace")
    os.close(leader)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), ANSI.sub("", text).replace("\r", "\n")


async def test_a_terminal_sees_progress_lines_and_a_summary_table(
    site: FixtureSite, tmp_path: Path
) -> None:
    site.cdn.script("source", [Fault.throttle(400_000)])  # slow enough to be drawn mid-way
    good, sora1, gone = (share_url(site, p) for p in (GOOD_PAGE, SORA1_PAGE, GONE_PAGE))
    code, out, screen = await on_a_terminal(
        "batch", good, sora1, gone, "-o", str(tmp_path / "v"), "--no-wayback", *ALLOW
    )
    assert code == 1  # the gone page failed; the other two are done
    assert out == ""
    assert "Traceback" not in screen
    good_id = good.rsplit("/", 1)[1]
    # A line for the download in flight: its id, then bytes so far of the total.
    assert re.search(re.escape(good_id) + r".*\d+(\.\d+)?/\d+(\.\d+)? MB", screen), screen
    assert "links 3/3: 2 done, 0 skipped, 1 failed" in screen
    assert "Summary" in screen
    table = screen[screen.index("Summary") :]
    assert re.search(re.escape(good_id) + r".*done", table)
    assert re.search(r"│ failed │", table)
    assert "is gone (HTTP 404" in table.replace("\n", " ")
    assert "2 of 3 links done, 1 failed" in table


async def test_not_a_terminal_gets_plain_lines(site: FixtureSite, tmp_path: Path) -> None:
    good = share_url(site, GOOD_PAGE)
    run = await sora("batch", good, good + "?again=1", "-o", str(tmp_path / "v"), *ALLOW)
    assert run.code == 0, run.err
    lines = run.err.splitlines()
    assert lines[-1] == "1 of 1 links done, 0 failed"
    assert any(line.startswith("✓ s_") for line in lines)
    assert "\x1b[" not in run.err
    rerun = await sora("batch", good, "-o", str(tmp_path / "v"), *ALLOW)
    assert rerun.err.splitlines()[-1] == "1 of 1 links done, 0 failed (1 already there)"
