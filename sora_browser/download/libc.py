"""Linux system calls the ``os`` module lacks, loaded from the C library once.

Each is optional: where it is missing (another system, an old libc) the caller does without
(``sync_file_range``: the final fsync does all the work; ``fallocate`` with flags: the file is
not reserved ahead).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from typing import Any


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None


def function(name: str, *argtypes: Any) -> Any:
    """The C library's ``name`` taking ``argtypes`` and returning an ``int``, or None."""
    libc = _libc()
    found = getattr(libc, name, None) if libc is not None else None
    if found is None:
        return None
    found.argtypes = list(argtypes)
    found.restype = ctypes.c_int
    return found


def checked(result: int) -> None:
    """Raise the ``OSError`` a failed call (``-1``) left in ``errno``."""
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
