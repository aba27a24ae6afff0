"""JSON shapes shared by the CLI (``--json``) and Temporal ``submit --wait`` (DESIGN.md)."""

from __future__ import annotations

from typing import Any

from .errors import SoraBrowserError
from .models import DownloadResult, ResolvedVideo


def download_json(resolved: ResolvedVideo, result: DownloadResult) -> dict[str, Any]:
    """One line of ``download --json``: where the file is and what it is."""
    record = resolved.to_json()
    record.update(
        local_path=str(result.path),
        file_size_bytes=result.size,
        sha256=result.sha256,
        resumed_from=result.resumed_from,
        connections=result.connections,
        elapsed_seconds=round(result.elapsed, 3),
    )
    return record


def error_json(share_url: str, exc: BaseException) -> dict[str, Any]:
    """One line for a failed link: ``{share_url, error: {type, message, exit_code}}``."""
    if isinstance(exc, SoraBrowserError):
        return failure_json(share_url, type(exc).__name__, exc.message, exc.exit_code)
    return failure_json(share_url, type(exc).__name__, str(exc) or repr(exc), 1)


def failure_json(share_url: str, type_name: str, message: str, exit_code: int) -> dict[str, Any]:
    """The failure shape from its parts (a Temporal result carries them as plain data)."""
    return {
        "share_url": share_url,
        "error": {"type": type_name, "message": message, "exit_code": exit_code},
    }
