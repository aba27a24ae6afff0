"""The failure record of ``--json``; success records are the models' ``to_json``."""

from __future__ import annotations

from typing import Any


def error_json(share_url: str, exc: BaseException) -> dict[str, Any]:
    """One line for a failed link: ``{share_url, error: {type, message, exit_code}}``."""
    from ..errors import SoraBrowserError

    if isinstance(exc, SoraBrowserError):
        record = failure_json(share_url, type(exc).__name__, exc.message, exc.exit_code)
        return {**record, **exc.json_fields()}
    return failure_json(share_url, type(exc).__name__, str(exc) or repr(exc), 1)


def failure_json(share_url: str, type_name: str, message: str, exit_code: int) -> dict[str, Any]:
    """The failure shape from its parts (a Temporal result carries them as plain data)."""
    return {
        "share_url": share_url,
        "error": {"type": type_name, "message": message, "exit_code": exit_code},
    }
