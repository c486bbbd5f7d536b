"""Keeping the server's memory flat under connection churn (glibc's allocator; elsewhere these do nothing).

Measured with bench/soak.py: each connect/train/disconnect cycle allocates and frees a session (tensors, buffers,
Engine.IO state) from two threads, and the freed memory stayed in glibc's heaps: about 47 KB per cycle, for good.
"""

from __future__ import annotations

import ctypes
import time

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024
_libc = None
_last_trim = 0.0


def _glibc():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
            _libc.malloc_trim  # noqa: B018 (glibc has it; other C libraries do not)
        except (OSError, AttributeError):
            _libc = False
    return _libc


def configure_allocator(arenas: int = 2) -> None:
    """Before the training and I/O threads start: cap malloc's arenas (one per thread left each fragmented by
    tensors another thread freed), and keep large blocks (a session's frame buffers are megabytes) in mmap, which
    returns them to the system when freed. glibc otherwise raises that threshold after the first large free, and
    later buffers land in the heap, where freeing them leaves holes."""
    if _glibc():
        _libc.mallopt(M_ARENA_MAX, arenas)
        _libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_freed(min_interval: float = 1.0) -> None:
    """Give memory that sessions freed back to the system (at most once per `min_interval` seconds)."""
    global _last_trim
    now = time.monotonic()
    if _glibc() and now - _last_trim >= min_interval:
        _last_trim = now
        _libc.malloc_trim(0)
