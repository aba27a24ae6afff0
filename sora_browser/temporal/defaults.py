"""Defaults the worker and the client share, in a module of constants only: the CLI builds
its options from them on every start (``--help`` included), before any command runs."""

DEFAULT_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "sora-browser"

MAX_BATCH_SIZE = 1000
"""Links ``submit`` puts in one batch workflow. Its result holds about 1.1 KB per link
(measured with a long title and a full signed URL) and must fit in one Temporal payload,
2 MB by default."""
