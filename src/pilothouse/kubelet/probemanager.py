"""Probe workers: one task per pod, container and probe kind, as the kubelet's prober manager.

Guarantees:

- A worker probes a running container every periodSeconds, starting initialDelaySeconds
  after the container started, each try limited to timeoutSeconds. Its result changes only
  after successThreshold successes or failureThreshold failures in a row; each change
  wakes the pod's worker (``on_change``), which restarts containers and updates status.
- Readiness starts as failure, liveness as success, startup as unknown; readiness and
  liveness are not run until the startup probe has succeeded, and startup probes stop once
  they have. After a liveness or startup failure a worker holds until the container is
  replaced. A kubelet that restarts keeps the readiness and started state the API last
  showed for a container it finds running, so adopted pods do not turn unready.
- Every failed try records an Unhealthy event (``Liveness probe failed: ...``; a probe that
  cannot run records ``... probe errored and resulted in unknown state: ...``), a warning
  a ProbeWarning event.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import podutil
from .actions import ProbeResult, ProbeVerdicts
from .events import WARNING, EventSink
from .podstate import PodRuntimeStatus, RuntimeContainer
from .prober import ActionRunner, Outcome, ProbeOutput

Obj = dict[str, Any]
MAX_RETRIES_ON_ERROR = 3


class ProbeKind(enum.Enum):
    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"

    @property
    def field(self) -> str:
        return f"{self.value.lower()}Probe"


@dataclass
class _Worker:
    container_id: str
    task: asyncio.Task[None]


class ProbeManager:
    def __init__(self, runner: ActionRunner, *, events: EventSink, on_change: Callable[[str], None]):
        self.runner = runner
        self.events = events
        self.on_change = on_change
        self._workers: dict[tuple[str, str, ProbeKind], _Worker] = {}
        self._results: dict[ProbeKind, dict[str, ProbeResult]] = {kind: {} for kind in ProbeKind}

    # -- what the pod sync reads -------------------------------------------------------------

    def verdicts(self) -> ProbeVerdicts:
        return ProbeVerdicts(
            liveness=self._results[ProbeKind.LIVENESS], startup=self._results[ProbeKind.STARTUP]
        )

    @property
    def readiness(self) -> Mapping[str, ProbeResult]:
        return self._results[ProbeKind.READINESS]

    @property
    def startup(self) -> Mapping[str, ProbeResult]:
        return self._results[ProbeKind.STARTUP]

    # -- keeping workers in line with the containers -----------------------------------------

    def update(self, pod: Obj, runtime: PodRuntimeStatus, pod_ip: str) -> None:
        """Starts workers for the running containers' probes, stops the others."""
        uid = podutil.uid(pod)
        wanted: set[tuple[str, str, ProbeKind]] = set()
        for container in _probed_containers(pod):
            current = runtime.find(container["name"])
            if current is None or not current.running:
                continue
            for kind in ProbeKind:
                if not container.get(kind.field):
                    continue
                key = (uid, container["name"], kind)
                wanted.add(key)
                worker = self._workers.get(key)
                if worker is not None and worker.container_id == current.id:
                    continue
                if worker is not None:
                    worker.task.cancel()
                self._start(key, pod, container, current, pod_ip)
        for key in [k for k in self._workers if k[0] == uid and k not in wanted]:
            self._workers.pop(key).task.cancel()
        self._forget_results(runtime, uid)

    def remove_pod(self, uid: str) -> None:
        for key in [k for k in self._workers if k[0] == uid]:
            worker = self._workers.pop(key)
            worker.task.cancel()
            for results in self._results.values():
                results.pop(worker.container_id, None)

    async def stop(self) -> None:
        tasks = [w.task for w in self._workers.values()]
        self._workers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget_results(self, runtime: PodRuntimeStatus, uid: str) -> None:
        live = {w.container_id for k, w in self._workers.items() if k[0] == uid}
        known = {c.id for c in runtime.containers}
        for results in self._results.values():
            for container_id in [c for c in results if c in known and c not in live]:
                del results[container_id]

    def _start(
        self, key: tuple[str, str, ProbeKind], pod: Obj, container: Obj, current: RuntimeContainer, pod_ip: str
    ) -> None:
        kind = key[2]
        initial = _initial_result(kind, pod, current.id)
        if initial is not None:
            self._results[kind][current.id] = initial
        task = asyncio.create_task(
            self._work(pod, container, kind, current, pod_ip), name=f"probe {kind.value} {key[1]}"
        )
        self._workers[key] = _Worker(current.id, task)

    # -- one worker ------------------------------------------------------------------------------

    async def _work(self, pod: Obj, container: Obj, kind: ProbeKind, current: RuntimeContainer, pod_ip: str) -> None:
        probe = container[kind.field]
        period = probe.get("periodSeconds") or 10
        delay = probe.get("initialDelaySeconds") or 0
        started = current.started_at / 1e9
        wait = started + delay - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        last: ProbeResult | None = None
        run = 0
        while True:
            if self._may_run(kind, container, current.id):
                result = await self._probe(pod, container, kind, current.id, pod_ip, probe)
                run = run + 1 if result == last else 1
                last = result
                threshold = probe.get("failureThreshold") or 3
                if result == ProbeResult.SUCCESS:
                    threshold = probe.get("successThreshold") or 1
                if run >= threshold:
                    self._set(pod, kind, current.id, result)
                    if kind != ProbeKind.READINESS and result == ProbeResult.FAILURE:
                        return  # hold until the container is replaced
                    if kind == ProbeKind.STARTUP and result == ProbeResult.SUCCESS:
                        return  # startup probes stop once they succeed
            await asyncio.sleep(period)

    def _may_run(self, kind: ProbeKind, container: Obj, container_id: str) -> bool:
        if kind == ProbeKind.STARTUP:
            return self._results[kind].get(container_id) != ProbeResult.SUCCESS
        if container.get("startupProbe"):
            return self._results[ProbeKind.STARTUP].get(container_id) == ProbeResult.SUCCESS
        return True

    def _set(self, pod: Obj, kind: ProbeKind, container_id: str, result: ProbeResult) -> None:
        if self._results[kind].get(container_id) == result:
            return
        self._results[kind][container_id] = result
        self.on_change(podutil.uid(pod))

    async def _probe(
        self, pod: Obj, container: Obj, kind: ProbeKind, container_id: str, pod_ip: str, probe: Obj
    ) -> ProbeResult:
        timeout = probe.get("timeoutSeconds") or 1
        output = ProbeOutput(Outcome.UNKNOWN)
        for _ in range(MAX_RETRIES_ON_ERROR):
            output = await self.runner.run(
                probe, container=container, container_id=container_id, pod_ip=pod_ip, timeout=timeout
            )
            if not output.error:
                break
        name = container["name"]
        if output.error:
            message = f"{kind.value} probe errored and resulted in unknown state: {output.error}"
            self.events.record(pod, WARNING, "Unhealthy", message, container=name)
            return ProbeResult.FAILURE
        if output.outcome == Outcome.WARNING:
            message = f"{kind.value} probe warning: {output.output}"
            self.events.record(pod, WARNING, "ProbeWarning", message, container=name)
            return ProbeResult.SUCCESS
        if output.outcome == Outcome.SUCCESS:
            return ProbeResult.SUCCESS
        message = f"{kind.value} probe failed: {output.output}"
        self.events.record(pod, WARNING, "Unhealthy", message, container=name)
        return ProbeResult.FAILURE


def _probed_containers(pod: Obj) -> list[Obj]:
    """App containers and sidecars: regular init containers are not probed."""
    sidecars = [c for c in podutil.init_containers(pod) if podutil.is_restartable_init_container(c)]
    return sidecars + podutil.containers(pod)


def _initial_result(kind: ProbeKind, pod: Obj, container_id: str) -> ProbeResult | None:
    shown = _api_container_status(pod, container_id)
    if kind == ProbeKind.LIVENESS:
        return ProbeResult.SUCCESS
    if kind == ProbeKind.READINESS:
        return ProbeResult.SUCCESS if shown.get("ready") else ProbeResult.FAILURE
    return ProbeResult.SUCCESS if shown.get("started") else None


def _api_container_status(pod: Obj, container_id: str) -> Obj:
    """The status the API shows for this very container (after a kubelet restart)."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("containerID", "").partition("://")[2] == container_id:
            return entry
    return {}
