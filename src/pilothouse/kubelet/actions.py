"""What to do to bring a pod's containers to its spec: a pure function of the pod and the
runtime's view of it (upstream kuberuntime's computePodActions).

Guarantees of :func:`compute_pod_actions`:

- A pod gets a new sandbox when it has none, when its newest sandbox is not ready or lost its
  IP, when several are ready, or when its network mode (host or pod) changed; everything is
  then killed and started afresh from the first init container, unless the pod will not run
  again (restartPolicy Never or OnFailure with every container done).
- Init containers run one at a time, in order, each to success (a failure restarts it, or
  ends the pod under restartPolicy Never); sidecars (init containers with restartPolicy
  Always) are started in their turn and kept running, restarted when they exit or fail a
  liveness or startup probe, and the next init container starts once a sidecar has started.
- App containers start once initialization is done; a running container is killed when its
  definition (image) changed, or when it failed a liveness or startup probe, and restarted
  if the restart policy says so; an exited one is restarted as the restart policy says.
- When nothing runs and nothing is to be started, the pod is killed (its sandbox stopped).

Back-off is not decided here: the caller holds starts back (CrashLoopBackOff).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pilothouse.runtime.interface import ContainerState

from . import labels, podutil
from .podstate import PodRuntimeStatus, RuntimeContainer

Obj = dict[str, Any]


class ProbeResult(enum.Enum):
    UNKNOWN = "unknown"
    SUCCESS = "success"
    FAILURE = "failure"


class KillReason(enum.Enum):
    UNKNOWN = ""
    LIVENESS_PROBE = "LivenessProbe"
    STARTUP_PROBE = "StartupProbe"
    DEFINITION_CHANGED = "DefinitionChanged"
    FAILED_POST_START_HOOK = "FailedPostStartHook"


@dataclass(frozen=True)
class ProbeVerdicts:
    """Liveness and startup results of running containers, by container ID."""

    liveness: Mapping[str, ProbeResult] = field(default_factory=dict)
    startup: Mapping[str, ProbeResult] = field(default_factory=dict)


NO_VERDICTS = ProbeVerdicts()


@dataclass(frozen=True)
class ContainerToKill:
    container_id: str
    name: str
    reason: KillReason
    message: str  # "" for the default "Stopping container <name>"


@dataclass
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""  # the sandbox to use, or the one being replaced
    attempt: int = 0  # of the sandbox to create
    init_containers_to_start: list[int] = field(default_factory=list)  # spec indexes, in order
    containers_to_start: list[int] = field(default_factory=list)
    containers_to_kill: dict[str, ContainerToKill] = field(default_factory=dict)

    def kill(self, container: RuntimeContainer, reason: KillReason, message: str) -> None:
        self.containers_to_kill[container.id] = ContainerToKill(
            container.id, container.name, reason, message
        )


def compute_pod_actions(
    pod: Obj, status: PodRuntimeStatus, probes: ProbeVerdicts = NO_VERDICTS
) -> PodActions:
    create, attempt, sandbox_id = sandbox_changed(pod, status)
    actions = PodActions(kill_pod=create, create_sandbox=create, sandbox_id=sandbox_id, attempt=attempt)
    if create:
        return _fresh_sandbox_actions(pod, status, actions)
    if not _compute_init_container_actions(pod, status, probes, actions) or actions.kill_pod:
        return actions
    keep = 0
    for index, container in enumerate(podutil.containers(pod)):
        current = status.find(container["name"])
        if current is None or current.state != ContainerState.RUNNING:
            if should_container_be_restarted(container, pod, status):
                actions.containers_to_start.append(index)
                if current is not None and current.state == ContainerState.UNKNOWN:
                    actions.kill(current, KillReason.UNKNOWN, _unknown_message("Container", current))
            continue
        verdict = _kill_verdict(container, current, pod, probes)
        if verdict is None:
            keep += 1
            continue
        reason, message, restart = verdict
        if restart:
            message = f"{message}, will be restarted"
            actions.containers_to_start.append(index)
        actions.kill(current, reason, message)
    if keep == 0 and not actions.containers_to_start:
        actions.kill_pod = True
        actions.init_containers_to_start = []  # sidecars must not keep the pod alive
    return actions


def _fresh_sandbox_actions(pod: Obj, status: PodRuntimeStatus, actions: PodActions) -> PodActions:
    """A new sandbox: start over from the first init container, if the pod runs again."""
    if not podutil.should_restart_on_failure(pod) and actions.attempt != 0 and status.containers:
        actions.create_sandbox = False  # a pod that will not restart only gets cleaned up
        return actions
    to_start = [
        index
        for index, container in enumerate(podutil.containers(pod))
        if not (podutil.restart_policy(pod) == "OnFailure" and _succeeded(container, status))
    ]
    if not to_start and _any_regular_container_created(pod, status):
        actions.create_sandbox = False
        return actions
    if podutil.init_containers(pod):
        actions.init_containers_to_start = [0]
    else:
        actions.containers_to_start = to_start
    return actions


def _kill_verdict(
    container: Obj, current: RuntimeContainer, pod: Obj, probes: ProbeVerdicts
) -> tuple[KillReason, str, bool] | None:
    """Why a running container must go (reason, message, restart it?), or None to keep it."""
    name = container["name"]
    restart = podutil.should_restart_on_failure(pod)
    if current.hash != labels.container_hash(container):
        return KillReason.DEFINITION_CHANGED, f"Container {name} definition changed", True
    if probes.liveness.get(current.id) == ProbeResult.FAILURE:
        return KillReason.LIVENESS_PROBE, f"Container {name} failed liveness probe", restart
    if probes.startup.get(current.id) == ProbeResult.FAILURE:
        return KillReason.STARTUP_PROBE, f"Container {name} failed startup probe", restart
    return None


def _compute_init_container_actions(
    pod: Obj, status: PodRuntimeStatus, probes: ProbeVerdicts, actions: PodActions
) -> bool:
    """Fills in the init container actions; True once the pod is initialized.

    Init containers are looked at from the last one back, because finished ones may have
    been removed: the last one known tells how far initialization got.
    """
    inits = podutil.init_containers(pod)
    if not inits:
        return True
    initialized = any(
        (current := status.find(c["name"])) is not None
        and current.state in (ContainerState.CREATED, ContainerState.RUNNING)
        for c in podutil.containers(pod)
    )
    previously_initialized = initialized
    restart_on_failure = podutil.should_restart_on_failure(pod)
    to_start: list[int] = []
    for index in range(len(inits) - 1, -1, -1):
        container = inits[index]
        sidecar = podutil.is_restartable_init_container(container)
        current = status.find(container["name"])
        if current is None:
            if previously_initialized and sidecar:
                to_start.append(index)
            continue
        if previously_initialized and not sidecar:
            continue  # after initialization only sidecars are kept running
        is_last = index == len(inits) - 1
        if current.state == ContainerState.CREATED:
            to_start.append(index)
        elif current.state == ContainerState.RUNNING:
            if sidecar:
                done = _running_sidecar_actions(
                    index, container, current, is_last, previously_initialized, probes, actions, to_start
                )
                initialized = initialized or done
        elif current.state == ContainerState.EXITED:
            if sidecar:
                to_start.append(index)
            elif is_init_container_failed(current):
                if not restart_on_failure:
                    actions.kill_pod = True
                    actions.init_containers_to_start = []
                    return False
                to_start.append(index)
            elif is_last:
                initialized = True
            else:
                to_start.append(index + 1)
        else:  # unknown: kill it before starting it again
            if not sidecar and not restart_on_failure:
                actions.kill_pod = True
                actions.init_containers_to_start = []
                return False
            actions.kill(current, KillReason.UNKNOWN, _unknown_message("Init container", current))
            to_start.append(index)
        previously_initialized = True
    if not previously_initialized:
        to_start.append(0)
    actions.init_containers_to_start = list(reversed(to_start))
    return initialized


def _running_sidecar_actions(
    index: int,
    container: Obj,
    current: RuntimeContainer,
    is_last: bool,
    previously_initialized: bool,
    probes: ProbeVerdicts,
    actions: PodActions,
    to_start: list[int],
) -> bool:
    """A running sidecar: wait for its startup probe, then let the next init container go;
    restart it when its definition changed or its probes failed. True if it completes
    initialization (it is the last init container and has started)."""
    name = container["name"]
    if container.get("startupProbe"):
        startup = probes.startup.get(current.id)
        if startup is None or startup == ProbeResult.UNKNOWN:
            return False  # not started yet: wait for the probe
        if startup == ProbeResult.FAILURE:
            actions.kill(current, KillReason.STARTUP_PROBE, f"Init container {name} failed startup probe")
            to_start.append(index)
            return False
    done = is_last
    if not is_last and not previously_initialized:
        to_start.append(index + 1)
    if current.hash != labels.container_hash(container):
        actions.kill(current, KillReason.DEFINITION_CHANGED, f"Init container {name} definition changed")
        to_start.append(index)
    elif probes.liveness.get(current.id) == ProbeResult.FAILURE:
        actions.kill(current, KillReason.LIVENESS_PROBE, f"Init container {name} failed liveness probe")
        to_start.append(index)
    return done


def sandbox_changed(pod: Obj, status: PodRuntimeStatus) -> tuple[bool, int, str]:
    """Whether the pod needs a new sandbox, the attempt number it would get, and the id of
    the sandbox in use (or being replaced)."""
    if not status.sandboxes:
        return True, 0, ""
    newest = status.sandboxes[0]
    ready_count = sum(1 for s in status.sandboxes if s.ready)
    if ready_count > 1 or not newest.ready:
        return True, newest.attempt + 1, newest.id
    if newest.host_network != podutil.host_network(pod):
        return True, newest.attempt + 1, ""
    if not podutil.host_network(pod) and not newest.ips:
        return True, newest.attempt + 1, newest.id
    return False, newest.attempt, newest.id


def should_container_be_restarted(container: Obj, pod: Obj, status: PodRuntimeStatus) -> bool:
    if podutil.is_deleted(pod):
        return False
    current = status.find(container["name"])
    if current is None:
        return True
    if current.state == ContainerState.RUNNING:
        return False
    if current.state in (ContainerState.UNKNOWN, ContainerState.CREATED):
        return True
    policy = podutil.restart_policy(pod)
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and current.exit_code == 0)


def is_init_container_failed(current: RuntimeContainer) -> bool:
    if current.reason == "OOMKilled":
        return True
    if current.state == ContainerState.EXITED and current.exit_code != 0:
        return True
    return current.state == ContainerState.UNKNOWN


def _succeeded(container: Obj, status: PodRuntimeStatus) -> bool:
    current = status.find(container["name"])
    return current is not None and current.state == ContainerState.EXITED and current.exit_code == 0


def _any_regular_container_created(pod: Obj, status: PodRuntimeStatus) -> bool:
    return any(
        (current := status.find(c["name"])) is not None
        and current.state in (ContainerState.CREATED, ContainerState.RUNNING, ContainerState.EXITED)
        for c in podutil.containers(pod)
    )


def _unknown_message(kind: str, current: RuntimeContainer) -> str:
    return f'{kind} is in "{current.state.name.lower()}" state, try killing it before restart'
