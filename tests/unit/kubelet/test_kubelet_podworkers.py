"""Pod workers: one operation per pod at a time, updates collapse, a termination is never
undone, grace periods only shrink, failures are retried, finished workers go away."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kubelet_builders import container, pod

from pilothouse.kubelet.podworkers import PodWorkers, State, SyncOutcome

Obj = dict[str, Any]


class Handler:
    """Records calls; ``gate`` holds sync_pod until the test releases it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.gate: asyncio.Event | None = None
        self.outcome = SyncOutcome()
        self.fail_syncs = 0
        self.running = 0
        self.max_running = 0

    async def sync_pod(self, p: Obj) -> SyncOutcome:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            self.calls.append(("sync", p["metadata"].get("resourceVersion")))
            if self.gate is not None:
                await self.gate.wait()
            if self.fail_syncs:
                self.fail_syncs -= 1
                raise RuntimeError("runtime down")
            return self.outcome
        finally:
            self.running -= 1

    async def terminate_pod(self, p: Obj) -> None:
        self.calls.append(("terminate", p["metadata"].get("deletionGracePeriodSeconds")))

    async def finish_pod(self, p: Obj, *, remove: bool) -> None:
        self.calls.append(("finish", remove))


async def until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met")


def version(p: Obj, rv: str, **meta: Any) -> Obj:
    changed = {**p, "metadata": {**p["metadata"], "resourceVersion": rv, **meta}}
    return changed


async def test_updates_during_a_sync_collapse_into_one_more_sync() -> None:
    handler = Handler()
    handler.gate = asyncio.Event()
    workers = PodWorkers(handler, resync_seconds=60)
    p = pod(container("app"))
    workers.update(version(p, "1"))
    await until(lambda: handler.calls == [("sync", "1")])
    for rv in ("2", "3", "4"):
        workers.update(version(p, rv))
    handler.gate.set()
    await until(lambda: len(handler.calls) == 2)
    await asyncio.sleep(0.02)
    assert handler.calls == [("sync", "1"), ("sync", "4")]
    assert handler.max_running == 1
    await workers.stop()


async def test_termination_is_never_overwritten() -> None:
    handler = Handler()
    handler.gate = asyncio.Event()
    workers = PodWorkers(handler, resync_seconds=60)
    p = pod(container("app"))
    workers.update(version(p, "1"))
    await until(lambda: len(handler.calls) == 1)
    workers.update(version(p, "2", deletionTimestamp="2024-01-01T00:00:00Z", deletionGracePeriodSeconds=30))
    workers.update(version(p, "3"))  # a later update without the deletion changes nothing
    workers.update(version(p, "4", deletionTimestamp="2024-01-01T00:00:00Z", deletionGracePeriodSeconds=60))
    handler.gate.set()
    await until(lambda: ("finish", True) in handler.calls)
    assert handler.calls == [("sync", "1"), ("terminate", 30), ("finish", True)]
    await until(lambda: workers.known() == set())
    await workers.stop()


async def test_a_shorter_grace_period_wins() -> None:
    handler = Handler()
    handler.gate = asyncio.Event()
    workers = PodWorkers(handler, resync_seconds=60)
    p = pod(container("app"))
    workers.update(version(p, "1"))
    await until(lambda: len(handler.calls) == 1)
    workers.update(version(p, "2", deletionTimestamp="2024-01-01T00:00:30Z", deletionGracePeriodSeconds=30))
    workers.update(version(p, "3", deletionTimestamp="2024-01-01T00:00:05Z", deletionGracePeriodSeconds=5))
    handler.gate.set()
    await until(lambda: ("finish", True) in handler.calls)
    assert ("terminate", 5) in handler.calls
    await workers.stop()


async def test_terminal_pod_is_terminated_and_kept_until_deleted() -> None:
    handler = Handler()
    handler.outcome = SyncOutcome(terminal=True)
    workers = PodWorkers(handler, resync_seconds=60)
    p = pod(container("app"), restart_policy="Never")
    workers.update(version(p, "1"))
    await until(lambda: ("finish", False) in handler.calls)
    assert workers.state("uid-1") == State.TERMINATED
    workers.update(version(p, "2"))
    await asyncio.sleep(0.02)
    assert handler.calls == [("sync", "1"), ("terminate", None), ("finish", False)]
    workers.update(version(p, "3"), removed=True)
    await until(lambda: ("finish", True) in handler.calls)
    await until(lambda: workers.known() == set())
    await workers.stop()


async def test_pod_already_finished_in_the_api_is_not_run_again() -> None:
    handler = Handler()
    workers = PodWorkers(handler, resync_seconds=60)
    p = pod(container("app"), restart_policy="Never")
    p["status"]["phase"] = "Succeeded"
    workers.update(p)
    await until(lambda: ("finish", False) in handler.calls)
    assert [c[0] for c in handler.calls] == ["terminate", "finish"]
    await workers.stop()


async def test_failed_syncs_are_retried() -> None:
    handler = Handler()
    handler.fail_syncs = 1
    workers = PodWorkers(handler, resync_seconds=60)
    workers.update(version(pod(container("app")), "1"))
    await until(lambda: len(handler.calls) == 2)
    await workers.stop()


async def test_the_handler_chooses_when_to_sync_again() -> None:
    handler = Handler()
    handler.outcome = SyncOutcome(retry_after=0.01)
    workers = PodWorkers(handler, resync_seconds=60)
    workers.update(version(pod(container("app")), "1"))
    await until(lambda: len(handler.calls) >= 3)
    await workers.stop()


async def test_wake_and_refresh() -> None:
    handler = Handler()
    workers = PodWorkers(handler, resync_seconds=60)
    p = pod(container("app"))
    workers.update(version(p, "1"))
    await until(lambda: len(handler.calls) == 1)
    workers.refresh(version(p, "2"))
    await asyncio.sleep(0.02)
    assert len(handler.calls) == 1  # a refresh does not sync
    workers.wake("uid-1")
    await until(lambda: handler.calls[-1] == ("sync", "2"))
    await workers.stop()
