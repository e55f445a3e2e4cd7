"""Stopping containers and pods gracefully (upstream's killContainer and killPodWithSyncResult).

A container is stopped within its grace period: the deletion's grace if the pod is being
deleted, else terminationGracePeriodSeconds (or the failed probe's own grace period for a
liveness or startup kill). Its preStop hook runs first, within that time (a failing hook is
a FailedPreStopHook event, not a reason to keep the container); the runtime then sends the
stop signal and SIGKILL when the rest of the grace period is over, never sooner than 2
seconds. A Killing event says why.

A pod is stopped with its app and regular init containers first, all at once, then its
sidecars, then its sandboxes (which releases the pod's network). For containers of pods
the kubelet no longer knows (after a restart), the preStop hook and grace period are read
back from the container's annotations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pilothouse.runtime.errors import NotFound
from pilothouse.runtime.interface import ContainerState, RuntimeService

from . import labels, podutil
from .actions import KillReason
from .events import NORMAL, WARNING, EventSink
from .lifecycle import HookRunner
from .podstate import PodRuntimeStatus, RuntimeContainer

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MIN_GRACE_SECONDS = 2
LIVE_STATES = (ContainerState.RUNNING, ContainerState.CREATED, ContainerState.UNKNOWN)


class ContainerKiller:
    def __init__(self, runtime: RuntimeService, *, hooks: HookRunner, events: EventSink):
        self.runtime = runtime
        self.hooks = hooks
        self.events = events

    async def kill_container(
        self,
        pod: Obj,
        current: RuntimeContainer,
        *,
        reason: KillReason = KillReason.UNKNOWN,
        message: str = "",
        grace_override: int | None = None,
        pod_ip: str = "",
    ) -> None:
        spec = podutil.container_spec(pod, current.name)
        pre_stop, grace = await self._plan(pod, spec, current, reason)
        if grace_override is not None:
            grace = grace_override
        self.events.record(
            pod, NORMAL, "Killing", message or f"Stopping container {current.name}", container=current.name
        )
        if pre_stop and grace > 0:
            grace -= await self._pre_stop(pod, spec or {"name": current.name}, pre_stop, current, grace, pod_ip)
        try:
            await self.runtime.stop_container(current.id, max(grace, MIN_GRACE_SECONDS))
        except NotFound:
            pass

    async def kill_pod(
        self, pod: Obj, status: PodRuntimeStatus, *, grace_override: int | None = None, pod_ip: str = ""
    ) -> None:
        live = [c for c in status.containers if c.state in LIVE_STATES]
        sidecars = {
            c["name"] for c in podutil.init_containers(pod) if podutil.is_restartable_init_container(c)
        }
        for group in ([c for c in live if c.name not in sidecars], [c for c in live if c.name in sidecars]):
            await asyncio.gather(
                *(self.kill_container(pod, c, grace_override=grace_override, pod_ip=pod_ip) for c in group)
            )
        for sandbox in status.sandboxes:
            try:
                await self.runtime.stop_pod_sandbox(sandbox.id)
            except NotFound:
                pass

    async def _plan(
        self, pod: Obj, spec: Obj | None, current: RuntimeContainer, reason: KillReason
    ) -> tuple[Obj | None, int]:
        """The preStop hook and the grace period of a container."""
        if spec is not None:
            return (spec.get("lifecycle") or {}).get("preStop"), termination_grace(pod, spec, reason)
        try:
            info = labels.read_annotations((await self.runtime.container_status(current.id)).annotations)
        except NotFound:
            return None, MIN_GRACE_SECONDS
        grace = info.termination_grace if info.termination_grace is not None else MIN_GRACE_SECONDS
        return info.pre_stop, grace

    async def _pre_stop(
        self, pod: Obj, spec: Obj, hook: Obj, current: RuntimeContainer, grace: int, pod_ip: str
    ) -> int:
        """Runs the hook for at most ``grace`` seconds; returns the whole seconds it took."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(grace):
                failure = await self.hooks.run(hook, pod=pod, container=spec, container_id=current.id, pod_ip=pod_ip)
            if failure:
                log.info("%s", failure)
                self.events.record(pod, WARNING, "FailedPreStopHook", "PreStopHook failed", container=current.name)
        except TimeoutError:
            log.info("preStop hook of %s in %s did not finish in %ss", current.name, podutil.describe(pod), grace)
        return int(time.monotonic() - started)


def termination_grace(pod: Obj, spec: Obj, reason: KillReason) -> int:
    meta = podutil.meta(pod)
    if meta.get("deletionGracePeriodSeconds") is not None:
        return int(meta["deletionGracePeriodSeconds"])
    pod_grace = podutil.spec(pod).get("terminationGracePeriodSeconds")
    if pod_grace is None:
        return MIN_GRACE_SECONDS
    probe = {
        KillReason.LIVENESS_PROBE: spec.get("livenessProbe"),
        KillReason.STARTUP_PROBE: spec.get("startupProbe"),
    }.get(reason) or {}
    if probe.get("terminationGracePeriodSeconds") is not None:
        return int(probe["terminationGracePeriodSeconds"])
    return int(pod_grace)
