"""What travels between workflows, activities and clients: plain dataclasses only.

Temporal stores these in workflow histories as JSON. A running workflow may be replayed by a
newer worker, so every field added after the first release must have a default, and no field
is ever renamed or removed. Paths and times are strings for the same reason: the JSON
converter round-trips them without custom hooks.

The results (``SoraResolvedVideo``, ``SoraExtractionOutput``) are the library's result records
(``models.ResolvedVideo.to_json`` and friends) with named fields for the names the original
design promised; ``from_record`` fills them from a record and keeps any field the library
added later in ``extra``, so a new result field reaches Temporal callers without an edit here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

# Defaults the worker and the client share, kept where the CLI reads them cheaply.
from .defaults import DEFAULT_ADDRESS as DEFAULT_ADDRESS
from .defaults import DEFAULT_NAMESPACE as DEFAULT_NAMESPACE
from .defaults import DEFAULT_TASK_QUEUE as DEFAULT_TASK_QUEUE
from .defaults import MAX_BATCH_SIZE as MAX_BATCH_SIZE

# Workflow type names, here so that clients can start workflows without importing them.
DOWNLOAD_WORKFLOW = "SoraDownloadWorkflow"
BATCH_WORKFLOW = "SoraBatchDownloadWorkflow"


@dataclass
class SoraExtractionInput:
    """One share link to download (the original design's activity input)."""

    share_url: str
    output_path: str | None = None
    """A file, or a folder for ``<share-id>.mp4``; relative paths sit under the worker's
    output folder, and absolute ones must be inside it."""
    mode: str = "auto"
    """``auto`` lets the worker decide (its ``--mode``); ``static``/``browser`` force one."""
    output_dir: str | None = None
    """A folder for ``<share-id>.mp4`` (relative to the worker's output folder)."""
    quality: str = "best"
    """``best``, ``source``, ``md`` or ``ld`` (``ResolveOptions.quality``)."""
    no_watermark: bool = False
    output_template: str | None = None
    """Name the file from the page's metadata inside ``output_dir`` (``OutputOptions.template``)."""
    write_info_json: bool = False
    force_overwrites: bool = False


@dataclass
class SoraResolvedVideo:
    """What ``resolve_sora_video`` found: enough to download without visiting the page again."""

    share_url: str
    share_id: str
    mp4_url: str
    resolver: str
    strategy: str = ""
    variant: str | None = None
    width: int | None = None
    height: int | None = None
    title: str | None = None
    expires_at: str | None = None
    """ISO 8601 expiry of the signed URL, when it has one."""
    cookies: list[list[str]] = field(default_factory=list)
    """``[name, value, domain, path]`` for each cookie the page set; the CDN may want them."""
    referer: str | None = None
    worker: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Result fields this release does not name (see ``from_record``)."""


@dataclass
class SoraDownloadInput:
    """Input of ``download_sora_video``: a resolved video and where it should go."""

    video: SoraResolvedVideo
    output_path: str | None = None
    mode: str = "auto"
    """Used only when the signed URL expires and the link must be resolved again."""
    output_dir: str | None = None
    quality: str = "best"
    no_watermark: bool = False
    output_template: str | None = None
    write_info_json: bool = False
    force_overwrites: bool = False


def download_input(link: SoraExtractionInput, video: SoraResolvedVideo) -> SoraDownloadInput:
    """The download half of ``link``, for ``video`` (every field the two inputs share)."""
    shared = {f.name for f in fields(SoraDownloadInput)} & {f.name for f in fields(link)}
    return SoraDownloadInput(video=video, **{name: getattr(link, name) for name in shared})


@dataclass
class SoraExtractionOutput:
    """A verified file on the worker's disk (the original design's activity output)."""

    share_url: str
    mp4_url: str
    local_path: str
    file_size_bytes: int
    sha256: str
    resolver: str
    worker: str
    share_id: str = ""
    strategy: str = ""
    variant: str | None = None
    width: int | None = None
    height: int | None = None
    title: str | None = None
    expires_at: str | None = None
    resumed_from: int = 0
    """Bytes already on disk (a ``.part`` left by an earlier attempt) when this one started."""
    connections: int = 1
    elapsed_seconds: float = 0.0
    activity_attempt: int = 1
    skipped: bool = False
    """The file was already there (``placement``): nothing was downloaded."""
    info_json: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Result fields this release does not name (see ``from_record``)."""


@dataclass
class ActivityPolicy:
    """Timeouts and retries the workflows use when they call the activities.

    Seconds, not ``timedelta``: they travel inside workflow inputs as JSON.
    """

    resolve_timeout_seconds: float = 300.0
    download_timeout_seconds: float = 3600.0
    heartbeat_timeout_seconds: float = 30.0
    """How fast a dead worker is noticed; its activity then retries elsewhere."""
    maximum_attempts: int = 5
    initial_interval_seconds: float = 1.0
    maximum_interval_seconds: float = 60.0
    backoff_coefficient: float = 2.0


@dataclass
class SoraDownloadRequest:
    """Input of ``SoraDownloadWorkflow``."""

    link: SoraExtractionInput
    policy: ActivityPolicy = field(default_factory=ActivityPolicy)


@dataclass
class SoraErrorInfo:
    """Why a link failed, in the shape of the CLI's ``error`` JSON object."""

    type: str
    message: str
    exit_code: int = 1


@dataclass
class SoraLinkResult:
    """One link's outcome in a batch: ``output`` or ``error``, never both."""

    share_url: str
    output: SoraExtractionOutput | None = None
    error: SoraErrorInfo | None = None


@dataclass
class SoraBatchRequest:
    """Input of ``SoraBatchDownloadWorkflow``."""

    links: list[SoraExtractionInput]
    max_concurrent: int = 4
    policy: ActivityPolicy = field(default_factory=ActivityPolicy)
    links_per_run: int = 250
    """Links one run handles before it continues as new. A link costs about a dozen history
    events and Temporal ends a workflow whose history passes 51,200, so long batches are
    split into runs of this many; the workflow id and its result stay the same."""
    results: list[SoraLinkResult] = field(default_factory=list)
    """Outcomes carried over from earlier runs: the next link to do is ``links[len(results)]``.
    Empty when a client starts the workflow."""


@dataclass
class SoraBatchOutput:
    results: list[SoraLinkResult]
    succeeded: int = 0
    failed: int = 0


Result = TypeVar("Result", SoraResolvedVideo, SoraExtractionOutput)


def from_record(cls: type[Result], record: Mapping[str, Any]) -> Result:
    """A result dataclass from a library record; fields it does not name go to ``extra``."""
    names = {f.name for f in fields(cls)} - {"extra"}
    known = {k: v for k, v in record.items() if k in names}
    return cls(**known, extra={k: v for k, v in record.items() if k not in names})


def to_record(result: SoraResolvedVideo | SoraExtractionOutput) -> dict[str, Any]:
    """The record again: named fields, then whatever ``extra`` carried."""
    record = asdict(result)
    record.update(record.pop("extra"))
    return record
