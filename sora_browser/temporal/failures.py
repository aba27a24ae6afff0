"""What went wrong, as the CLI reports it: a failure's type, message and exit code.

Used inside workflows (an activity's final failure) and by ``submit`` (a workflow's failure),
so it imports nothing but temporalio's exception types.
"""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError, FailureError, TimeoutError

from .data import SoraErrorInfo

# The CLI's "download failed" code: a link that ran out of time or attempts is one of those.
EXIT_DOWNLOAD_FAILED = 4


def describe_failure(cause: BaseException | None) -> SoraErrorInfo:
    """A failure's type, message and CLI exit code (also used by ``submit`` on the client)."""
    if isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        code = details.get("exit_code", 1) if isinstance(details, dict) else 1
        kind = cause.type or "ApplicationError"
        return SoraErrorInfo(type=kind, message=cause.message, exit_code=int(code))
    if isinstance(cause, TimeoutError):
        what = cause.type.name.lower() if cause.type else "timeout"
        message = f"Timed out ({what}) after the retry policy's attempts"
        return SoraErrorInfo(type="TimeoutError", message=message, exit_code=EXIT_DOWNLOAD_FAILED)
    if isinstance(cause, FailureError):
        return SoraErrorInfo(type=type(cause).__name__, message=cause.message, exit_code=1)
    return SoraErrorInfo(type=type(cause).__name__, message=str(cause), exit_code=1)
