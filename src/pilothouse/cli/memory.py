"""glibc malloc tuning for the long-running processes (``server`` and ``agent``).

CPython allocates objects of 512 bytes or less from its own pools and asks malloc for the
rest: the bodies of large lists, decoded objects, TLS buffers. After a burst (a LIST of
10,000 pods, a thousand new watch connections) glibc keeps what was freed inside its heaps
instead of returning it, so the resident size stays at its peak. Two settings keep it near
what is actually live. Neither does anything where libc is not glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging

log = logging.getLogger(__name__)

TRIM_INTERVAL = 60.0  # seconds; a trim of a few hundred MB heap takes under 10 ms


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (as MALLOC_ARENA_MAX=2 would); call before threads start.

    Every thread that allocates (SQLite readers, the writer, executors) otherwise gets its
    own arena, and each keeps the memory it freed."""
    libc = _glibc()
    if libc is not None:
        m_arena_max = -8
        libc.mallopt(m_arena_max, arenas)


async def trim_periodically(interval: float = TRIM_INTERVAL) -> None:
    """Hands the free memory at the top and in the middle of malloc's heaps back to the
    kernel every ``interval`` seconds (``malloc_trim(0)``), until cancelled."""
    libc = _glibc()
    if libc is None:
        return
    while True:
        await asyncio.sleep(interval)
        libc.malloc_trim(0)
