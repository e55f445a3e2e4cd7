"""Pod workers: one asyncio task per pod UID drives the pod through its life.

A pod is *syncing* (its containers brought to its spec, again at every wake-up), then
*terminating* (its containers stopped within their grace period), then *terminated* (its
volumes released; if it was deleted or removed from its source, its containers, sandbox
and API object go too, and the worker ends).

Guarantees (upstream's pod_workers.go, in asyncio):

- One operation per pod at a time; while one runs, updates only record the latest pod and
  a wish to run again, so any number of updates collapse into one next sync.
- A termination, once requested (deletion, removal, or the pod reaching a terminal phase),
  is never undone by a later update; a later deletion may only shorten the grace period.
- :meth:`PodWorkers.update` and :meth:`PodWorkers.wake` never block: the caller (informer
  handlers, the relist, probes) only dispatches.
- A sync runs again when woken, when the handler asks (a back-off ends), at the latest
  after ``resync_seconds``; a failing operation is retried with doubling delays.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from . import podutil

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ERROR_DELAY_START = 0.5
ERROR_DELAY_MAX = 10.0


@dataclass(frozen=True)
class SyncOutcome:
    terminal: bool = False  # the pod is done: terminate it
    retry_after: float | None = None  # sync again this soon (a back-off ends)


class PodSyncHandler(Protocol):
    async def sync_pod(self, pod: Obj) -> SyncOutcome: ...

    async def terminate_pod(self, pod: Obj) -> None: ...

    async def finish_pod(self, pod: Obj, *, remove: bool) -> None: ...


class State(enum.Enum):
    SYNCING = "syncing"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


class _Worker:
    def __init__(self, pod: Obj):
        self.pod = pod
        self.state = State.SYNCING
        self.termination_requested = False
        self.removed = False
        self.finished: bool | None = None  # after termination: None, then whether it was removed
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class PodWorkers:
    def __init__(self, handler: PodSyncHandler, *, resync_seconds: float):
        self.handler = handler
        self.resync_seconds = resync_seconds
        self._workers: dict[str, _Worker] = {}

    def update(self, pod: Obj, *, removed: bool = False) -> None:
        """A new version of ``pod`` (``removed``: it left its source)."""
        uid = podutil.uid(pod)
        worker = self._workers.get(uid)
        if worker is None:
            worker = self._workers[uid] = _Worker(pod)
            # A pod already in a terminal phase is not run again, only cleaned up.
            worker.termination_requested = podutil.is_terminal_phase(podutil.phase(pod))
            worker.task = asyncio.create_task(self._run(uid, worker), name=f"pod worker {podutil.describe(pod)}")
        worker.pod = _with_shortest_grace(worker.pod, pod)
        if removed:
            worker.removed = True
        if removed or podutil.is_deleted(pod):
            worker.termination_requested = True
        worker.wake.set()

    def refresh(self, pod: Obj) -> None:
        """Keeps a newer copy of ``pod`` (its status changed) without syncing it."""
        worker = self._workers.get(podutil.uid(pod))
        if worker is not None:
            worker.pod = _with_shortest_grace(worker.pod, pod)

    def wake(self, uid: str) -> None:
        """Sync the pod now (its containers changed, a probe result changed)."""
        worker = self._workers.get(uid)
        if worker is not None:
            worker.wake.set()

    def known(self) -> set[str]:
        return set(self._workers)

    def state(self, uid: str) -> State | None:
        worker = self._workers.get(uid)
        return worker.state if worker else None

    def pod(self, uid: str) -> Obj | None:
        worker = self._workers.get(uid)
        return worker.pod if worker else None

    async def stop(self) -> None:
        """Stops every worker where it is; containers are left running."""
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        self._workers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, uid: str, worker: _Worker) -> None:
        delay: float | None = 0.0
        failures = 0
        while True:
            if delay is None:
                await worker.wake.wait()
            else:
                try:
                    await asyncio.wait_for(worker.wake.wait(), delay)
                except TimeoutError:
                    pass
            worker.wake.clear()
            try:
                delay = await self._step(worker)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a worker must survive anything and retry
                delay = min(ERROR_DELAY_START * 2**failures, ERROR_DELAY_MAX)
                failures += 1
                log.warning(
                    "pod %s (%s) failed, retrying in %.1fs: %s",
                    podutil.describe(worker.pod), worker.state.value, delay, error,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                continue
            if worker.finished:
                if self._workers.get(uid) is worker:
                    del self._workers[uid]
                return

    async def _step(self, worker: _Worker) -> float | None:
        """Advances the pod; returns when to run again (None: when woken)."""
        if worker.state == State.SYNCING and not worker.termination_requested:
            outcome = await self.handler.sync_pod(worker.pod)
            if not outcome.terminal:
                if outcome.retry_after is None:
                    return self.resync_seconds
                return min(outcome.retry_after, self.resync_seconds)
            worker.termination_requested = True
        if worker.state == State.SYNCING:
            worker.state = State.TERMINATING
        if worker.state == State.TERMINATING:
            await self.handler.terminate_pod(worker.pod)
            worker.state = State.TERMINATED
        # Terminated: released now, and removed once deleted (a finished pod waits for that).
        remove = worker.removed or podutil.is_deleted(worker.pod)
        if worker.finished is None or (remove and not worker.finished):
            await self.handler.finish_pod(worker.pod, remove=remove)
            worker.finished = remove
        return None


def _with_shortest_grace(old: Obj, new: Obj) -> Obj:
    """The new pod, unless it would lengthen a deletion grace period already under way."""
    old_grace = podutil.meta(old).get("deletionGracePeriodSeconds")
    new_grace = podutil.meta(new).get("deletionGracePeriodSeconds")
    if old_grace is None or (new_grace is not None and new_grace <= old_grace):
        return new
    merged = dict(new)
    merged["metadata"] = {
        **podutil.meta(new),
        "deletionGracePeriodSeconds": old_grace,
        "deletionTimestamp": podutil.meta(old).get("deletionTimestamp"),
    }
    return merged
