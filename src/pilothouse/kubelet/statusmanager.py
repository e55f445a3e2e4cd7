"""The status manager: pod statuses the kubelet computed, written to the API when they change.

Guarantees:

- :meth:`StatusManager.set` never blocks: it keeps the status as the pod's latest (what the
  next status computation starts from, so transition times and terminal states persist)
  and queues a write. Writes run in the background, a few pods at a time, one write per
  pod at a time, repeated sets of one pod collapsing into one write.
- A write sends the whole kubelet-owned status as a merge patch of ``pods/status``, with the
  pod's UID in the patch so that a pod re-created under the same name is never given
  another pod's status; keys the kubelet no longer reports are removed (null). Nothing is
  sent when the API already shows that status. Failed writes are retried with back-off; a
  pod that no longer exists is forgotten.
- A static pod's status is written to its mirror pod; until the mirror pod exists the write
  waits (:meth:`mark_dirty` re-queues it once it does).
- :meth:`flush` writes a pod's status now (before the kubelet deletes the pod object); at
  most ``WRITERS`` writes are in flight at any time, flushes included.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from pilothouse.api import errors
from pilothouse.client import APIClient, WorkQueue, run_workers

from . import podutil

log = logging.getLogger(__name__)

Obj = dict[str, Any]
WRITERS = 4
OWNED_KEYS = (
    "phase", "conditions", "message", "reason", "hostIP", "hostIPs", "podIP", "podIPs",
    "startTime", "initContainerStatuses", "containerStatuses", "qosClass",
)


class StatusTargetMissing(Exception):
    """The object to write to is not there yet (a static pod's mirror pod)."""


@dataclass
class _Entry:
    pod: Obj
    status: Obj


class StatusManager:
    def __init__(self, client: APIClient, *, target: Callable[[Obj], Obj | None]):
        """``target(pod)`` gives the API object whose status shows the pod's (the pod as the
        informer last saw it, or a static pod's mirror pod), None if there is none."""
        self.pods = client["pods"]
        self.target = target
        self._entries: dict[str, _Entry] = {}
        self._written: dict[str, Obj] = {}
        self._queue: WorkQueue[str] = WorkQueue(base_delay=0.2, max_delay=10.0, name="pod status")
        self._lock: dict[str, asyncio.Lock] = {}
        # Flushes share the writers' limit: a burst of deleted pods must not open a
        # connection to the API server each.
        self._writing = asyncio.Semaphore(WRITERS)

    def get(self, uid: str) -> Obj | None:
        entry = self._entries.get(uid)
        return entry.status if entry else None

    def set(self, pod: Obj, status: Obj) -> None:
        uid = podutil.uid(pod)
        self._entries[uid] = _Entry(pod, status)
        if self._written.get(uid) != status:
            self._queue.add(uid)

    def mark_dirty(self, uid: str) -> None:
        if uid in self._entries:
            self._written.pop(uid, None)
            self._queue.add(uid)

    def forget(self, uid: str) -> None:
        self._entries.pop(uid, None)
        self._written.pop(uid, None)
        self._lock.pop(uid, None)

    async def run(self) -> None:
        try:
            await run_workers(self._queue, self._sync, workers=WRITERS)
        finally:
            self._queue.shutdown()

    async def flush(self, uid: str) -> None:
        await self._sync(uid)

    async def _sync(self, uid: str) -> None:
        async with self._lock.setdefault(uid, asyncio.Lock()):
            entry = self._entries.get(uid)
            if entry is None or self._written.get(uid) == entry.status:
                return
            try:
                async with self._writing:
                    await self._write(entry)
            except StatusTargetMissing:
                return  # written once the mirror pod exists (mark_dirty)
            except errors.NotFound:
                return  # the pod is gone: nothing to report to
            except (errors.StatusError, aiohttp.ClientError, OSError, TimeoutError) as error:
                log.info("status of pod %s not written yet: %s", podutil.describe(entry.pod), error)
                raise
            self._written[uid] = entry.status

    async def _write(self, entry: _Entry) -> None:
        target = self.target(entry.pod)
        if target is None:
            if podutil.is_static(entry.pod):
                raise StatusTargetMissing(podutil.describe(entry.pod))
            raise errors.NotFound(f'pods "{podutil.name(entry.pod)}" not found')
        current = target.get("status") or {}
        if _same(current, entry.status):
            return
        patch: Obj = {key: entry.status.get(key) for key in OWNED_KEYS if key in entry.status or key in current}
        await self.pods.patch(
            podutil.name(target),
            {"metadata": {"uid": podutil.uid(target)}, "status": patch},
            namespace=podutil.namespace(target),
            subresource="status",
        )


def _same(current: Obj, wanted: Obj) -> bool:
    """Whether the API shows the status; a null is the same as an absent field (a merge
    patch drops nulls in lists, such as a condition's ``lastProbeTime: null``)."""
    return all(_without_nulls(current.get(key)) == _without_nulls(wanted.get(key)) for key in OWNED_KEYS)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
