"""Give the worker's own threads their Python names in the kernel too.

Python does not set a thread's Linux name, so `top -H`, `ps -L` and the bench's per-thread CPU
show every thread as "python". The two threads the worker starts (the call store's writer and the
log writer) call :func:`name_os_thread` first, so an operator can tell which one is busy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading

_PR_SET_NAME = 15  # <linux/prctl.h>
_LIMIT = 15  # the kernel keeps 15 bytes and a NUL


def name_os_thread() -> None:
    """Set the calling thread's kernel name to its Python name (cut to 15 bytes). Best effort:
    a name is a convenience, never a reason to fail."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        name = threading.current_thread().name.encode("ascii", "replace")[:_LIMIT]
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
    except (OSError, AttributeError):
        return
