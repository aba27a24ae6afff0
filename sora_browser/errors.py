"""One exception tree for sora-browser.

Every error knows whether a retry can help (``retryable``) and which CLI exit code it maps to
(``exit_code``), so callers never need an if-chain to classify failures::

    SoraBrowserError                      (Exception)
    ├── BadInput                          (+ ValueError)        exit 2
    │   ├── InvalidShareURL               malformed or unsupported link
    │   └── PolicyRefused                 host or address refused by the URL policy
    ├── NoVideoFound                      (+ ValueError)        exit 3
    │   ├── PageGone                      404/410, "no longer available"
    │   ├── PageTooLarge                  over the page size cap: never handed to a browser
    │   ├── MediaRefused                  every media URL the page names is refused by policy
    │   ├── LoginRequired                 login wall
    │   ├── ChallengeRequired             Cloudflare challenge (try --browser)
    │   ├── BrowserUnavailable            no Chromium to fall back to
    │   └── NotArchived                   the archive holds no capture of what was looked for
    │       └── ArchivedInPieces          ... only pieces that do not make up the whole file
    ├── FetchError                        (+ aiohttp.ClientError) exit 4
    │   ├── FileTooLarge                  claimed or received more than --max-filesize
    │   ├── NetworkError                  connection reset, DNS, timeout (retryable)
    │   │   └── ArchiveUnreachable        the archive did not answer, after retries
    │   ├── HTTPStatusError               non-2xx answer (5xx/408/429 retryable)
    │   │   ├── SignatureExpired          403 AuthenticationFailed / ``se`` in the past
    │   │   └── ArchiveRateLimited        the archive kept answering 429 (retryable, later)
    │   ├── IncompleteDownload            fewer bytes than announced (retryable)
    │   ├── NotAVideo                     HTML or text where an MP4 should be
    │   └── ArchiveAnswerError            an archive answer that is not CDX (an error page)
    └── LocalFileError                    (+ OSError)           exit 5
        └── DownloadLocked                another process owns the output path

The extra bases keep callers of the original design working: invalid links and "Could not find
MP4 URL in Sora share page" are ``ValueError``; HTTP failures are ``aiohttp.ClientError``;
file errors are ``OSError``.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

import aiohttp


class SoraBrowserError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: int = 1
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def json_fields(self) -> dict[str, object]:
        """Facts beyond the message that ``--json`` reports with the error (none by default)."""
        return {}

    def __str__(self) -> str:
        return self.message


class BadInput(SoraBrowserError, ValueError):
    """Something the caller gave cannot be used: a link, an option, a cookies file."""

    exit_code = 2


class InvalidShareURL(BadInput):
    """The share link is malformed or not a Sora share link."""


class PolicyRefused(BadInput):
    """A URL that the host/address policy refuses."""


class NoVideoFound(SoraBrowserError, ValueError):
    """The page was fetched but no usable MP4 URL could be found."""

    exit_code = 3


class PageGone(NoVideoFound):
    """The share page answered 404/410 or says the video is no longer available."""


class PostPrivate(NoVideoFound):
    """The post exists, but its JSON says the viewer may not see it (``permissions.can_read:
    false`` or ``output_blocked``); an archive's older capture may still hold it."""


class PageTooLarge(NoVideoFound):
    """The page is bigger than the size cap and named no video in what was read; a browser
    would only load all of it (a gzip bomb took Chromium to 4.3 GB)."""


class MediaRefused(NoVideoFound):
    """The page names its video, but at addresses the URL policy refuses: another resolver
    reading the same page would find the same ones, so none is started."""


class LoginRequired(NoVideoFound):
    """The share page shows a login wall instead of the video."""


class ChallengeRequired(NoVideoFound):
    """A bot challenge (Cloudflare "Just a moment...") blocked plain HTTP."""


class BrowserUnavailable(NoVideoFound):
    """The page needs a browser but no usable Chromium was found."""


class NotArchived(NoVideoFound):
    """The archive's index holds no capture matching the query (never archived, or filtered out)."""

    def __init__(
        self,
        *,
        url: str,
        archive: str,
        match_type: str = "exact",
        filters: tuple[str, ...] = (),
        message: str | None = None,
    ) -> None:
        details = [] if match_type == "exact" else [f"matchType={match_type}"]
        details += [f"filter {f}" for f in filters]
        suffix = f" ({', '.join(details)})" if details else ""
        super().__init__(message or f"{archive} holds no capture of {url}{suffix}")
        self.url = url
        self.archive = archive
        self.match_type = match_type
        self.filters = filters


class ArchivedInPieces(NotArchived):
    """The archive holds the video only in pieces that do not make up the whole file (gaps,
    or pieces that disagree); ``ranges_held`` says which bytes it does hold, inclusive."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        archive: str,
        ranges_held: tuple[tuple[int, int], ...],
        total: int,
    ) -> None:
        super().__init__(url=url, archive=archive, message=message)
        self.ranges_held = ranges_held
        self.total = total

    @property
    def share_held(self) -> float:
        held = sum(last - first + 1 for first, last in self.ranges_held)
        return round(held / self.total, 4) if self.total else 0.0

    def json_fields(self) -> dict[str, object]:
        return {"media_ranges_held": [list(r) for r in self.ranges_held]}


class FetchError(SoraBrowserError, aiohttp.ClientError):
    """An HTTP exchange failed (resolving the page or downloading the video)."""

    exit_code = 4

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class NetworkError(FetchError):
    """Connection refused/reset, DNS failure, timeout: worth another try."""

    retryable = True


class ArchiveUnreachable(NetworkError):
    """The archive (named in the message) could not be reached or kept failing, after retries.

    Still ``retryable``: the link is fine and the archive may be back later, so an outer layer
    (a Temporal retry policy, a later batch run) may try again.
    """

    def __init__(self, message: str, *, archive: str, url: str | None = None) -> None:
        super().__init__(message, url=url)
        self.archive = archive


class HTTPStatusError(FetchError):
    """The server answered with a status that is not success."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after
        self.retryable = status in (408, 429) or status >= 500


class SignatureExpired(HTTPStatusError):
    """The signed CDN URL expired (Azure SAS ``AuthenticationFailed`` or ``se`` in the past)."""

    def __init__(self, message: str, *, url: str | None = None, status: int = 403) -> None:
        super().__init__(message, status=status, url=url)
        self.retryable = False


class ArchiveRateLimited(HTTPStatusError):
    """The archive answered 429 Too Many Requests on every try, or asked for a longer pause
    than the caller accepts; ``retry_after`` is the pause it asked for, in seconds."""

    def __init__(
        self, message: str, *, archive: str, url: str | None = None, retry_after: float | None
    ) -> None:
        super().__init__(message, status=429, url=url, retry_after=retry_after)
        self.archive = archive


class IncompleteDownload(FetchError):
    """The connection ended before the announced number of bytes arrived."""

    retryable = True


class FileTooLarge(FetchError):
    """The server claimed, or sent, more than the size limit (``--max-filesize``)."""


class NotAVideo(FetchError):
    """The body is not an MP4 (an HTML error page, a JSON error, ...)."""


class ArchiveAnswerError(FetchError):
    """The archive answered, but not with CDX: an HTML error page, a JSON error, garbage."""


class LocalFileError(SoraBrowserError, OSError):
    """Writing the output failed: disk full, permission denied, read-only file system."""

    exit_code = 5

    def __init__(self, message: str, *, errno_: int | None = None, path: str | None = None) -> None:
        SoraBrowserError.__init__(self, message)
        self.errno = errno_
        self.filename = path

    @classmethod
    def from_oserror(cls, exc: OSError, what: str) -> LocalFileError:
        """Describe ``exc`` in one line, naming the common causes plainly."""
        reasons = {
            errno.ENOSPC: "no space left on device",
            errno.EDQUOT: "disk quota exceeded",
            errno.EACCES: "permission denied",
            errno.EPERM: "operation not permitted",
            errno.EROFS: "read-only file system",
            errno.ENOENT: "no such directory",
            errno.EISDIR: "is a directory",
            errno.ENAMETOOLONG: "file name too long",
        }
        reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
        path = exc.filename if isinstance(exc.filename, str) else None
        where = f": {path}" if path else ""
        return cls(f"Cannot {what} ({reason}){where}", errno_=exc.errno, path=path)


class DownloadLocked(LocalFileError):
    """Another process is downloading to the same output path."""


@contextlib.contextmanager
def local_errors(what: str) -> Iterator[None]:
    """Turn an ``OSError`` from the file system into a one-line ``LocalFileError``."""
    try:
        yield
    except LocalFileError:
        raise
    except OSError as exc:
        raise LocalFileError.from_oserror(exc, what) from exc
