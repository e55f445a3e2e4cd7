"""Periodic compaction, as kube-apiserver does it for etcd.

Every ``interval`` the compactor notes the store's revision; it compacts to the newest
revision it noted at least ``retention`` ago, but always keeps the newest ``min_revisions``
revisions. With the defaults (5 minutes, 5 minutes) that is kube-apiserver's behaviour: each
compaction forgets what was older than the previous one. Between ticks it is asleep on a
timer, so an idle store costs no CPU. It works on any Store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .interface import Store, StoreClosed, StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompactionPolicy:
    interval: float = 300.0  # seconds between compactions; 0 turns periodic compaction off
    retention: float = 300.0  # seconds of history kept
    min_revisions: int = 1000  # revisions kept however old they are


class PeriodicCompactor:
    def __init__(
        self,
        store: Store,
        *,
        policy: CompactionPolicy,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._store = store
        self._policy = policy
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()  # (time, revision), oldest first
        self._compacted = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Note the current revision and compact every ``interval`` from now on."""
        await self.tick()
        if self._policy.interval > 0:
            self._task = asyncio.create_task(self._run(), name="store-compactor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def tick(self) -> int | None:
        """Note the current revision and compact if the policy says so.

        Returns the revision compacted to, or None when nothing was due.
        """
        now = self._clock()
        current = await self._store.current_revision()
        self._samples.append((now, current))
        target = self._due(now, current)
        if target is None:
            return None
        await self._store.compact(target)
        self._compacted = target
        return target

    def _due(self, now: float, current: int) -> int | None:
        old_enough = None
        while self._samples and self._samples[0][0] <= now - self._policy.retention:
            old_enough = self._samples.popleft()[1]
        if old_enough is None:
            return None
        target = min(old_enough, current - self._policy.min_revisions)
        return target if target > self._compacted else None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._policy.interval)
            try:
                await self.tick()
            except StoreClosed:
                return
            except StoreError:
                log.exception("periodic compaction failed; retrying at the next interval")
