"""The malloc tuning of the long-running processes: freed heap memory goes back to the kernel."""

from __future__ import annotations

import asyncio

from pilothouse.cli.memory import trim_periodically


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


async def test_a_trim_returns_freed_heap_memory():
    # 200 MB in 2 KB blocks: too large for Python's own pools, too small for mmap, so they
    # come from malloc's heap, which keeps them after they are freed.
    blocks = [bytearray(2048) for _ in range(100_000)]
    peak = _rss_kib()
    del blocks[:-1]  # the last one pins the top of the heap: only a trim can release the rest
    kept = _rss_kib()

    trimming = asyncio.ensure_future(trim_periodically(interval=0.01))
    try:
        for _ in range(200):
            await asyncio.sleep(0.01)
            if _rss_kib() < kept - 100_000:
                break
    finally:
        trimming.cancel()
    assert kept > peak - 50_000  # without a trim, glibc kept the freed blocks
    assert _rss_kib() < kept - 100_000
