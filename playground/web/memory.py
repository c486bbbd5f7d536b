"""Keeping the server's memory flat under connection churn (glibc's allocator; elsewhere these do nothing).

Measured with bench/soak.py: each connect/train/disconnect cycle allocates and frees a session (tensors, buffers,
Engine.IO state) from two threads, and the freed memory stayed in glibc's heaps: about 47 KB per cycle, for good.
"""

from __future__ import annotations

import ctypes
import functools
import time

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024
_last_trim = 0.0
_trim_waiting = False  # a release asked for within the interval, done by the next `release_waiting`


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, or None under another C library (which has no malloc_trim)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def configure_allocator(arenas: int = 2) -> None:
    """Before the training and I/O threads start: cap malloc's arenas (one per thread left each fragmented by
    tensors another thread freed), and keep large blocks (a session's frame buffers are megabytes) in mmap, which
    returns them to the system when freed. glibc otherwise raises that threshold after the first large free, and
    later buffers land in the heap, where freeing them leaves holes."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_freed(min_interval: float = 1.0) -> None:
    """Give memory that sessions freed back to the system, at most once per `min_interval` seconds; asked for
    sooner, it waits for `release_waiting` (twenty clients that leave at once free their sessions one after another,
    and all but the first used to stay in the heap while anyone trained)."""
    global _last_trim, _trim_waiting
    now = time.monotonic()
    libc = _glibc()
    if libc is None:
        return
    if now - _last_trim < min_interval:
        _trim_waiting = True
        return
    _last_trim, _trim_waiting = now, False
    libc.malloc_trim(0)


def release_waiting(min_interval: float = 1.0) -> None:
    """Do a release that was asked for within the interval, once the interval has passed."""
    if _trim_waiting:
        release_freed(min_interval)
