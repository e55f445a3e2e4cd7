"""Blocking file system and mount work, off the event loop and never abandoned halfway.

``asyncio.to_thread`` alone lets a cancelled caller move on while its thread still runs, so
a cancelled setup could start cleaning up a volume that is still being mounted. ``blocking``
waits for the thread to finish and only then lets the cancellation through.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    task = asyncio.ensure_future(asyncio.to_thread(functools.partial(func, *args, **kwargs)))
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()
