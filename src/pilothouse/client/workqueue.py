"""A work queue for level-triggered controllers, as client-go's ``util/workqueue``.

Guarantees:
- a key is handed to at most one worker at a time;
- adding a key that is already waiting does nothing (repeated events collapse into one sync);
- adding a key that is being processed makes it wait until ``done`` and then run again;
- ``add_rate_limited`` re-adds a failed key after a per-key exponential back-off that
  ``forget`` resets.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)  # a queue's keys: "namespace/name" strings, tuples...


class ShutDown(Exception):
    """The queue was shut down: workers should stop."""


class WorkQueue(Generic[K]):
    def __init__(self, *, base_delay: float = 0.005, max_delay: float = 300.0, name: str = ""):
        self.name = name
        self._queue: collections.deque[K] = collections.deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._failures: dict[K, int] = {}
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._available = asyncio.Event()
        self._timers: set[asyncio.TimerHandle] = set()
        self._shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._available.set()

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self.add(key)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def add_rate_limited(self, key: K) -> None:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        self.add_after(key, min(self._base_delay * (2**failures), self._max_delay))

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> K:
        while not self._queue:
            if self._shutting_down:
                raise ShutDown
            self._available.clear()
            await self._available.wait()
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._available.set()

    def shutdown(self) -> None:
        self._shutting_down = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._available.set()


async def run_workers(
    queue: WorkQueue[K], sync: Callable[[K], Awaitable[None]], *, workers: int = 1
) -> None:
    """Process keys until the queue shuts down: ``sync(key)``; on an exception the key is
    retried with back-off, on success its back-off is forgotten."""

    async def worker() -> None:
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            try:
                await sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("%s: sync of %s failed (retry %d): %s", queue.name or "queue", key,
                            queue.failures(key) + 1, e, exc_info=log.isEnabledFor(logging.DEBUG))
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
            finally:
                queue.done(key)

    await asyncio.gather(*(worker() for _ in range(workers)))
