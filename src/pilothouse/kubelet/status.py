"""The pod status the kubelet reports, computed as upstream's generateAPIPodStatus does.

:func:`generate_pod_status` is pure: from the pod, the runtime's view of it, the status last
reported, probe results and start failures, it returns the whole ``status`` object:

- ``phase`` by getPhase's counting of init, sidecar and app containers; a terminal phase is
  never left once reported (by us or in the API), and only given while the pod is terminal
  (its containers stopped for good);
- ``conditions``: those the kubelet does not own are kept; PodReadyToStartContainers,
  Initialized, Ready, ContainersReady (with reasons ContainersNotInitialized,
  ContainersNotReady, ReadinessGatesNotReady, PodCompleted, PodFailed and upstream's
  messages) and PodScheduled are set, each keeping its lastTransitionTime unless its status
  changed;
- ``containerStatuses``/``initContainerStatuses`` (see :mod:`.containerstatus`), hostIP(s),
  podIP(s) (the node's for host-network pods), ``startTime`` (set once), ``qosClass``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pilothouse.api.kinds.pod import pod_qos_class

from . import podutil
from .actions import ProbeResult, sandbox_changed
from .containerstatus import STATUS_UNKNOWN, ContainerStatusInputs, StartFailure, container_statuses
from .podstate import PodRuntimeStatus

Obj = dict[str, Any]

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
KUBELET_OWNED = frozenset(KUBELET_CONDITIONS)


@dataclass(frozen=True)
class StatusInputs:
    pod: Obj
    runtime: PodRuntimeStatus
    previous: Obj  # the status last reported for the pod ({} for none)
    readiness: Mapping[str, ProbeResult]
    startup: Mapping[str, ProbeResult]
    failures: Mapping[str, StartFailure]
    host_ips: tuple[str, ...]
    runtime_name: str
    now: str
    terminal: bool = False  # the pod is done: its containers will not run again


def generate_pod_status(inputs: StatusInputs) -> Obj:
    pod = inputs.pod
    api_status = pod.get("status") or {}
    previous = inputs.previous or api_status
    containers_input = ContainerStatusInputs(
        pod=pod,
        runtime=inputs.runtime,
        previous=previous,
        readiness=inputs.readiness,
        startup=inputs.startup,
        failures=inputs.failures,
        runtime_name=inputs.runtime_name,
    )
    init_statuses = container_statuses(containers_input, init=True)
    app_statuses = container_statuses(containers_input, init=False)
    phase = _merged_phase(pod, get_phase(pod, app_statuses + init_statuses, inputs.terminal), previous)
    status: Obj = {"phase": phase}
    if phase == previous.get("phase"):
        for key in ("reason", "message"):
            if previous.get(key) or api_status.get(key):
                status[key] = previous.get(key) or api_status.get(key)
    status["conditions"] = _conditions(pod, inputs.runtime, init_statuses + app_statuses, phase, previous, inputs.now)
    status.update(_addresses(pod, inputs.runtime, inputs.host_ips))
    status["startTime"] = previous.get("startTime") or api_status.get("startTime") or inputs.now
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = app_statuses
    status["qosClass"] = api_status.get("qosClass") or pod_qos_class(podutil.spec(pod))
    return status


def _merged_phase(pod: Obj, phase: str, previous: Obj) -> str:
    """A terminal phase, once reported by us or seen in the API, stays."""
    api_phase = podutil.phase(pod)
    if podutil.is_terminal_phase(api_phase):
        return api_phase
    if not podutil.is_terminal_phase(phase) and podutil.is_terminal_phase(previous.get("phase", "")):
        return str(previous["phase"])
    return phase


def get_phase(pod: Obj, statuses: list[Obj], terminal: bool) -> str:
    by_name = {s["name"]: s for s in statuses}
    pending_init = failed_init = 0
    unknown = running = waiting = stopped = succeeded = 0
    for container in podutil.init_containers(pod):
        status = by_name.get(container["name"])
        state = (status or {}).get("state") or {}
        last = ((status or {}).get("lastState") or {}).get("terminated")
        if podutil.is_restartable_init_container(container):
            if status is None:
                unknown += 1
            elif state.get("running"):
                if not status.get("started"):
                    pending_init += 1
                running += 1
            elif state.get("terminated"):
                pass
            elif state.get("waiting") is not None and not last:
                pending_init += 1
                waiting += 1
            elif state.get("waiting") is None:
                pending_init += 1
                unknown += 1
            continue
        if status is None or state.get("running"):
            pending_init += 1
        elif state.get("terminated"):
            failed_init += state["terminated"].get("exitCode", 0) != 0
        elif state.get("waiting") is not None and last:
            failed_init += last.get("exitCode", 0) != 0
        else:
            pending_init += 1
    for container in podutil.containers(pod):
        status = by_name.get(container["name"])
        state = (status or {}).get("state") or {}
        if status is None:
            unknown += 1
        elif state.get("running"):
            running += 1
        elif state.get("terminated"):
            stopped += 1
            succeeded += state["terminated"].get("exitCode", 0) == 0
        elif state.get("waiting") is not None:
            if (status.get("lastState") or {}).get("terminated"):
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    policy = podutil.restart_policy(pod)
    if failed_init and policy == "Never":
        return "Failed"
    if (pending_init and not _any_regular_container_started(pod, by_name)) or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if terminal and not podutil.is_static(pod):
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _any_regular_container_started(pod: Obj, by_name: dict[str, Obj]) -> bool:
    for container in podutil.containers(pod):
        status = by_name.get(container["name"])
        if status is None:
            continue
        state = status.get("state") or {}
        if state.get("running") or state.get("terminated"):
            return True
        if (status.get("lastState") or {}).get("terminated"):
            return True
    return False


# -- conditions ------------------------------------------------------------------------------


def _conditions(
    pod: Obj, runtime: PodRuntimeStatus, statuses: list[Obj], phase: str, previous: Obj, now: str
) -> list[Obj]:
    api_conditions = (pod.get("status") or {}).get("conditions") or []
    kept = [c for c in api_conditions if c.get("type") not in KUBELET_OWNED]
    ready_to_start = _condition("PodReadyToStartContainers", not sandbox_changed(pod, runtime)[0])
    initialized = initialized_condition(pod, statuses, phase)
    containers_ready = containers_ready_condition(pod, statuses, phase)
    ready = ready_condition(pod, kept, containers_ready)
    generated = [ready_to_start, initialized, ready, containers_ready, _condition("PodScheduled", True)]
    old = {c.get("type"): c for c in (previous.get("conditions") or [])}
    for condition in generated:
        before = old.get(condition["type"])
        if before is not None and before.get("status") == condition["status"] and before.get("lastTransitionTime"):
            condition["lastTransitionTime"] = before["lastTransitionTime"]
        else:
            condition["lastTransitionTime"] = now
    return kept + generated


def _condition(kind: str, true: bool, reason: str = "", message: str = "") -> Obj:
    condition: Obj = {"type": kind, "status": "True" if true else "False", "lastProbeTime": None}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _go_list(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def containers_ready_condition(pod: Obj, statuses: list[Obj], phase: str) -> Obj:
    by_name = {s["name"]: s for s in statuses}
    unknown: list[str] = []
    unready: list[str] = []
    watched = [c for c in podutil.init_containers(pod) if podutil.is_restartable_init_container(c)]
    for container in watched + podutil.containers(pod):
        status = by_name.get(container["name"])
        if status is None:
            unknown.append(container["name"])
        elif not status.get("ready"):
            unready.append(container["name"])
    if (phase == "Succeeded" and not unknown) or phase == "Failed":
        return _condition("ContainersReady", False, "PodCompleted" if phase == "Succeeded" else "PodFailed")
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {_go_list(unknown)}")
    if unready:
        messages.append(f"containers with unready status: {_go_list(unready)}")
    if messages:
        return _condition("ContainersReady", False, "ContainersNotReady", ", ".join(messages))
    return _condition("ContainersReady", True)


def ready_condition(pod: Obj, conditions: list[Obj], containers_ready: Obj) -> Obj:
    if containers_ready["status"] != "True":
        return _condition(
            "Ready", False, containers_ready.get("reason", ""), containers_ready.get("message", "")
        )
    by_type = {c.get("type"): c for c in conditions}
    messages = []
    for gate in podutil.spec(pod).get("readinessGates") or []:
        kind = gate.get("conditionType", "")
        condition = by_type.get(kind)
        if condition is None:
            messages.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif condition.get("status") != "True":
            messages.append(
                f'the status of pod readiness gate "{kind}" is not "True", but {condition.get("status")}'
            )
    if messages:
        return _condition("Ready", False, "ReadinessGatesNotReady", ", ".join(messages))
    return _condition("Ready", True)


def initialized_condition(pod: Obj, statuses: list[Obj], phase: str) -> Obj:
    by_name = {s["name"]: s for s in statuses}
    unknown: list[str] = []
    incomplete: list[str] = []
    for container in podutil.init_containers(pod):
        status = by_name.get(container["name"])
        if status is None:
            unknown.append(container["name"])
            continue
        key = "started" if podutil.is_restartable_init_container(container) else "ready"
        if not status.get(key):
            incomplete.append(container["name"])
    if phase == "Succeeded" and not unknown:
        return _condition("Initialized", True, "PodCompleted")
    if _any_regular_container_started(pod, by_name):
        return _condition("Initialized", True)
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {_go_list(unknown)}")
    if incomplete:
        messages.append(f"containers with incomplete status: {_go_list(incomplete)}")
    if messages:
        return _condition("Initialized", False, "ContainersNotInitialized", ", ".join(messages))
    return _condition("Initialized", True)


# -- addresses -------------------------------------------------------------------------------


def _addresses(pod: Obj, runtime: PodRuntimeStatus, host_ips: tuple[str, ...]) -> Obj:
    addresses: Obj = {}
    if host_ips:
        addresses["hostIP"] = host_ips[0]
        addresses["hostIPs"] = [{"ip": ip} for ip in host_ips]
    pod_ips = list(host_ips[:1]) if podutil.host_network(pod) else list(runtime.ips)
    if not pod_ips:
        previous_ips = (pod.get("status") or {}).get("podIPs") or []
        pod_ips = [entry["ip"] for entry in previous_ips if entry.get("ip")]
    if pod_ips:
        addresses["podIP"] = pod_ips[0]
        addresses["podIPs"] = [{"ip": ip} for ip in pod_ips]
    return addresses


# -- after termination -----------------------------------------------------------------------


def terminated_status(pod: Obj, status: Obj) -> Obj:
    """The status of a pod whose containers are all stopped for good (upstream's
    TerminatePod): containers with no terminated state are reported terminated with an
    unknown outcome (init containers only up to the last one that started), and a pod
    that was not yet in a terminal phase is Failed (static pods keep theirs)."""
    final = copy.deepcopy(status)
    for entry in final.get("containerStatuses") or []:
        _mark_unknown(entry)
    inits = final.get("initContainerStatuses") or []
    started = [i for i, entry in enumerate(inits) if _ever_started(entry)]
    for entry in inits[: started[-1] + 1] if started else []:
        _mark_unknown(entry)
    if not podutil.is_static(pod) and final.get("phase") in ("Pending", "Running"):
        final["phase"] = "Failed"
    return final


def _ever_started(entry: Obj) -> bool:
    state = entry.get("state") or {}
    return bool(state.get("running") or state.get("terminated") or (entry.get("lastState") or {}).get("terminated"))


def _mark_unknown(entry: Obj) -> None:
    state = entry.get("state") or {}
    if state.get("terminated"):
        return
    entry["state"] = {
        "terminated": {
            "exitCode": 137,
            "reason": STATUS_UNKNOWN,
            "message": "The container could not be located when the pod was terminated",
            "startedAt": None,
            "finishedAt": None,
        }
    }
    entry["ready"] = False
    entry["started"] = False
