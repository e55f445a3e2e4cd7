"""containerStatuses and initContainerStatuses, from the runtime's view and the last status.

The rules of upstream's convertToAPIContainerStatuses and the prober's UpdatePodStatus:

- every container of the spec gets a status, ``waiting`` (ContainerCreating, or
  PodInitializing while the pod has init containers) until the runtime has it;
- the newest runtime container of a name gives ``state``, the one before it ``lastState``;
  a container that was running and has vanished from the runtime is reported terminated
  with reason ContainerStatusUnknown (exit code 137);
- a container the kubelet will start again shows why it is not running yet (the reason of
  its last failed start: CrashLoopBackOff, ErrImagePull, CreateContainerConfigError...),
  with its terminated state moved to ``lastState``;
- ``started`` is true for a running container whose startup probe succeeded (or that has
  none); ``ready`` for a started, running container whose readiness probe succeeded (or
  that has none), and for an init container that exited 0.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pilothouse.runtime.interface import ContainerState

from . import podutil
from .actions import ProbeResult, should_container_be_restarted
from .images import normalized_image_name
from .podstate import PodRuntimeStatus, RuntimeContainer
from .timestamps import rfc3339

Obj = dict[str, Any]

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
STATUS_UNKNOWN = "ContainerStatusUnknown"


@dataclass(frozen=True)
class StartFailure:
    """Why the last attempt to start a container failed (upstream's reason cache)."""

    reason: str  # CrashLoopBackOff, ErrImagePull, CreateContainerConfigError, ...
    message: str


@dataclass(frozen=True)
class ContainerStatusInputs:
    pod: Obj
    runtime: PodRuntimeStatus
    previous: Obj  # the pod status last reported
    readiness: Mapping[str, ProbeResult]  # by container id
    startup: Mapping[str, ProbeResult]  # by container id
    failures: Mapping[str, StartFailure]  # by container name
    runtime_name: str  # the scheme of containerID ("<runtime>://<id>")


def container_statuses(inputs: ContainerStatusInputs, *, init: bool) -> list[Obj]:
    pod = inputs.pod
    specs = podutil.init_containers(pod) if init else podutil.containers(pod)
    has_init = bool(podutil.init_containers(pod))
    key = "initContainerStatuses" if init else "containerStatuses"
    old = {s["name"]: s for s in inputs.previous.get(key) or []}
    statuses = {c["name"]: _default_status(c, old.get(c["name"]), has_init) for c in specs}
    _infer_vanished(pod, inputs.runtime, specs, old, statuses, has_init)
    seen: dict[str, int] = {}
    for current in inputs.runtime.containers:  # newest first
        if current.name not in statuses or seen.get(current.name, 0) >= 2:
            continue
        converted = _from_runtime(current, old.get(current.name), inputs.runtime_name)
        if seen.get(current.name, 0) == 0:
            statuses[current.name] = converted
        else:
            statuses[current.name]["lastState"] = converted["state"]
        seen[current.name] = seen.get(current.name, 0) + 1
    for container in specs:
        _apply_start_failure(container, inputs, statuses, init=init)
    result = []
    for container in specs:
        status = statuses[container["name"]]
        _set_probe_results(container, status, inputs, init=init)
        _set_volume_mounts(container, status)
        _set_resources(container, status)
        result.append(status)
    return result


def _default_status(container: Obj, old: Obj | None, has_init: bool) -> Obj:
    waiting = POD_INITIALIZING if has_init else CONTAINER_CREATING
    status: Obj = {
        "name": container["name"],
        "state": {"waiting": {"reason": waiting}},
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "image": container.get("image", ""),
        "imageID": "",
    }
    if old is not None:
        if (old.get("state") or {}).get("terminated"):
            return copy.deepcopy(old)
        status["restartCount"] = old.get("restartCount", 0)
        status["lastState"] = copy.deepcopy(old.get("lastState") or {})
    return status


def _infer_vanished(
    pod: Obj,
    runtime: PodRuntimeStatus,
    specs: list[Obj],
    old: dict[str, Obj],
    statuses: dict[str, Obj],
    has_init: bool,
) -> None:
    """A container that was running and is no longer known ran and ended, it did not
    merely never start: say so in lastState, so the pod does not look Pending again."""
    default_reason = POD_INITIALIZING if has_init else CONTAINER_CREATING
    for container in specs:
        name = container["name"]
        if runtime.find(name) is not None or name not in old:
            continue
        previous = old[name].get("state") or {}
        if previous.get("terminated") or not previous.get("running"):
            continue
        status = statuses[name]
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") != default_reason or (status.get("lastState") or {}).get("terminated"):
            continue
        status["lastState"] = {
            "terminated": {
                "exitCode": 137,
                "reason": STATUS_UNKNOWN,
                "message": "The container could not be located when the pod was deleted.  "
                "The container used to be Running",
                "startedAt": None,
                "finishedAt": None,
            }
        }
        if not podutil.is_deleted(pod):
            status["restartCount"] = status.get("restartCount", 0) + 1


def _from_runtime(current: RuntimeContainer, old: Obj | None, runtime_name: str) -> Obj:
    container_id = f"{runtime_name}://{current.id}"
    status: Obj = {
        "name": current.name,
        "state": {},
        "lastState": {},
        "ready": False,
        "restartCount": current.restart_count,
        "image": normalized_image_name(current.image),
        "imageID": current.image_ref,
        "containerID": container_id,
    }
    if current.state == ContainerState.RUNNING:
        status["state"] = {"running": {"startedAt": rfc3339(current.started_at)}}
    elif current.state == ContainerState.CREATED:
        status["state"] = {"waiting": {}}
    elif current.state == ContainerState.EXITED:
        terminated: Obj = {"exitCode": current.exit_code}
        if current.reason:
            terminated["reason"] = current.reason
        if current.message:
            terminated["message"] = current.message
        terminated["startedAt"] = rfc3339(current.started_at)
        terminated["finishedAt"] = rfc3339(current.finished_at)
        terminated["containerID"] = container_id
        status["state"] = {"terminated": terminated}
    elif old is not None and (old.get("state") or {}).get("running"):
        status["state"] = {
            "terminated": {
                "exitCode": 137,
                "reason": STATUS_UNKNOWN,
                "message": "The container could not be located when the pod was terminated",
                "startedAt": None,
                "finishedAt": None,
            }
        }
        status["restartCount"] = old.get("restartCount", 0) + 1
    else:
        status["state"] = {"waiting": {}}
    return status


def _apply_start_failure(
    container: Obj, inputs: ContainerStatusInputs, statuses: dict[str, Obj], *, init: bool
) -> None:
    """A container that will be started again shows why its last start failed."""
    current = inputs.runtime.find(container["name"])
    if init and current is not None and current.exited and current.exit_code == 0:
        return
    if not should_container_be_restarted(container, inputs.pod, inputs.runtime):
        return
    failure = inputs.failures.get(container["name"])
    if failure is None:
        return
    status = statuses[container["name"]]
    if (status.get("state") or {}).get("terminated"):
        status["lastState"] = status["state"]
    waiting: Obj = {"reason": failure.reason}
    if failure.message:
        waiting["message"] = failure.message
    status["state"] = {"waiting": waiting}


def _set_probe_results(container: Obj, status: Obj, inputs: ContainerStatusInputs, *, init: bool) -> None:
    container_id = status.get("containerID", "").partition("://")[2]
    running = bool((status.get("state") or {}).get("running"))
    started = running and _started(container, container_id, inputs)
    status["started"] = started
    if init and not podutil.is_restartable_init_container(container):
        terminated = (status.get("state") or {}).get("terminated") or {}
        status["ready"] = bool(terminated) and terminated.get("exitCode") == 0
        return
    if not started:
        status["ready"] = False
        return
    if container.get("readinessProbe"):
        status["ready"] = inputs.readiness.get(container_id) == ProbeResult.SUCCESS
    else:
        status["ready"] = True


def _started(container: Obj, container_id: str, inputs: ContainerStatusInputs) -> bool:
    result = inputs.startup.get(container_id)
    if result is not None:
        return result == ProbeResult.SUCCESS
    return not container.get("startupProbe")


def _set_volume_mounts(container: Obj, status: Obj) -> None:
    """Each mount as the container has it (RecursiveReadOnlyMounts reports them)."""
    mounts = []
    for mount in container.get("volumeMounts") or []:
        entry: Obj = {"name": mount.get("name", ""), "mountPath": mount.get("mountPath", "")}
        if mount.get("readOnly"):
            entry["readOnly"] = True
            entry["recursiveReadOnly"] = "Disabled"
        mounts.append(entry)
    if mounts:
        status["volumeMounts"] = mounts
    else:
        status.pop("volumeMounts", None)


def _set_resources(container: Obj, status: Obj) -> None:
    """The resources a running container was given (in-place resize reports them)."""
    status.pop("allocatedResources", None)
    status.pop("resources", None)
    if not (status.get("state") or {}).get("running"):
        return
    resources = container.get("resources") or {}
    wanted = ("cpu", "memory", "ephemeral-storage")
    requests = {k: v for k, v in (resources.get("requests") or {}).items() if k in wanted}
    limits = {k: v for k, v in (resources.get("limits") or {}).items() if k in wanted}
    if not (requests or limits):
        return
    if requests:
        status["allocatedResources"] = dict(requests)
    reported: Obj = {}
    if limits:
        reported["limits"] = limits
    if requests:
        reported["requests"] = requests
    status["resources"] = reported
