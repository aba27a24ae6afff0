"""Downloading: a direct media URL becomes a verified file on disk.

``downloader`` (``VideoDownloader``: retries, resume, re-resolution, deadlines) drives the
network side; ``ranges`` is one ranged GET and what its answer says; ``pieces`` runs several
connections over pieces of one file; ``writer`` moves body bytes into the file; ``partfile``
owns the ``.part`` and its state from open to the final rename; ``ratelimit`` caps the speed.
"""

from .downloader import Refresh, VideoDownloader

__all__ = ["Refresh", "VideoDownloader"]
