"""Reading and writing sysctls of the caller's network namespace (via /proc/sys)."""

from __future__ import annotations

import asyncio
from pathlib import Path

PROC_SYS = Path("/proc/sys")


def _path(name: str) -> Path:
    return PROC_SYS / name.replace(".", "/")


async def read(name: str) -> str:
    return (await asyncio.to_thread(_path(name).read_text)).strip()


async def ensure(name: str, value: str) -> bool:
    """Sets ``name`` to ``value`` unless it already is; returns whether it changed."""
    if await read(name) == value:
        return False
    await asyncio.to_thread(_path(name).write_text, value + "\n")
    return True
