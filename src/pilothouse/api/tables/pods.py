"""The pod table: NAME READY STATUS RESTARTS AGE, and wide IP NODE NOMINATED NODE READINESS
GATES, computed as kube-apiserver's ``printPod`` computes them.

STATUS is the pod's phase or ``status.reason``, overridden, in this order, by: a
``SchedulingGated`` PodScheduled condition; the first init container that has not finished
(``Init:<reason>``, ``Init:ExitCode:N``, ``Init:Signal:N`` or ``Init:i/n``); once initialized,
the last container reporting a waiting or terminated reason (``CrashLoopBackOff``,
``Completed``, ``ExitCode:N``...), with ``Completed`` turned back into ``Running``/``NotReady``
while some container still runs; finally ``Terminating`` (or ``Unknown`` for pods on a lost
node) once deletion has begun. Sidecars (init containers with ``restartPolicy: Always``)
count towards READY and, once the pod is initialized, towards RESTARTS. RESTARTS adds
"(5m ago)" after the most recent container restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pilothouse.api.tables.cells import Obj, human_duration, parse_time, since
from pilothouse.api.tables.printer import AGE, NAME, Cells, Printer, column

_SUCCEEDED_CONDITIONS = [
    {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    }
]
_FAILED_CONDITIONS = [
    {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
]
_TERMINAL_PHASES = ("Succeeded", "Failed")
# node.NodeUnreachablePodReason: the node controller's reason for pods on a lost node.
_NODE_LOST = "NodeLost"

COLUMNS = (
    NAME,
    column("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
    column("Status", description="The aggregate status of the containers in this pod."),
    column(
        "Restarts",
        description="The number of times the containers in this pod have been restarted and "
        "when the last container in this pod has restarted.",
    ),
    AGE,
    column("IP", "PodStatus.podIP", wide=True),
    column("Node", "PodSpec.nodeName", wide=True),
    column("Nominated Node", "PodStatus.nominatedNodeName", wide=True),
    column("Readiness Gates", "PodSpec.readinessGates", wide=True),
)


class _Restarts:
    """A running total of restarts and the time of the latest one."""

    __slots__ = ("count", "latest")

    def __init__(self) -> None:
        self.count = 0
        self.latest: datetime | None = None

    def add(self, container_status: Obj) -> None:
        self.count += container_status.get("restartCount") or 0
        terminated = (container_status.get("lastState") or {}).get("terminated")
        if terminated is not None:
            finished = parse_time(terminated.get("finishedAt"))
            if finished is not None and (self.latest is None or finished > self.latest):
                self.latest = finished

    def cell(self, now: datetime) -> str:
        if self.count and self.latest is not None:
            return f"{self.count} ({human_duration((now - self.latest).total_seconds())} ago)"
        return str(self.count)


def _is_sidecar(container: Obj | None) -> bool:
    """``IsRestartableInitContainer``: an init container with restartPolicy Always."""
    return container is not None and container.get("restartPolicy") == "Always"


def _is_initialized(status: Obj) -> bool:
    """Whether the (first) Initialized condition is True."""
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Initialized":
            return condition.get("status") == "True"
    return False


def _is_ready(status: Obj) -> bool:
    """Whether some Ready condition is True."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or ()
    )


def _terminated_reason(terminated: Obj, prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode') or 0}"


class _PodState:
    """The values printPod accumulates while walking the container statuses."""

    def __init__(self, pod: Obj):
        self.spec: Obj = pod.get("spec") or {}
        self.status: Obj = pod.get("status") or {}
        self.init_containers = self.spec.get("initContainers") or []
        self.sidecars = {c.get("name"): c for c in self.init_containers if _is_sidecar(c)}
        self.total = len(self.spec.get("containers") or ()) + len(self.sidecars)
        self.ready = 0
        self.reason = self.status.get("reason") or self.status.get("phase") or ""
        for condition in self.status.get("conditions") or ():
            if condition.get("type") == "PodScheduled" and condition.get("reason") == (
                "SchedulingGated"
            ):
                self.reason = "SchedulingGated"
        self.restarts = _Restarts()
        self.sidecar_restarts = _Restarts()

    def walk_init_containers(self) -> bool:
        """Account for init containers; True while initialization is still going on."""
        for index, container_status in enumerate(self.status.get("initContainerStatuses") or ()):
            self.restarts.add(container_status)
            sidecar = container_status.get("name") in self.sidecars
            if sidecar:
                self.sidecar_restarts.add(container_status)
            state = container_status.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if terminated is not None and not terminated.get("exitCode"):
                continue
            if sidecar and container_status.get("started"):
                if container_status.get("ready"):
                    self.ready += 1
                continue
            if terminated is not None:
                self.reason = _terminated_reason(terminated, "Init:")
            elif waiting is not None and waiting.get("reason") not in (None, "", "PodInitializing"):
                self.reason = "Init:" + waiting["reason"]
            else:
                self.reason = f"Init:{index}/{len(self.init_containers)}"
            return True
        return False

    def walk_containers(self) -> None:
        """Account for app containers; the first one listed has the last word on STATUS."""
        # Only sidecar restarts count once the pod is initialized.
        self.restarts = self.sidecar_restarts
        running = False
        for container_status in reversed(self.status.get("containerStatuses") or ()):
            self.restarts.add(container_status)
            state = container_status.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                self.reason = waiting["reason"]
            elif terminated is not None:
                self.reason = _terminated_reason(terminated, "")
            elif container_status.get("ready") and state.get("running") is not None:
                running = True
                self.ready += 1
        if self.reason == "Completed" and running:
            self.reason = "Running" if _is_ready(self.status) else "NotReady"


def pod_cells(pod: Obj, now: datetime) -> Cells:
    state = _PodState(pod)
    initializing = state.walk_init_containers()
    if not initializing or _is_initialized(state.status):
        state.walk_containers()
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        if state.status.get("reason") == _NODE_LOST:
            state.reason = "Unknown"
        elif state.status.get("phase") not in _TERMINAL_PHASES:
            state.reason = "Terminating"
    return [
        meta.get("name", ""),
        f"{state.ready}/{state.total}",
        state.reason,
        state.restarts.cell(now),
        since(meta.get("creationTimestamp"), now),
        *_wide_cells(state.spec, state.status),
    ]


def _wide_cells(spec: Obj, status: Obj) -> list[str]:
    ips = status.get("podIPs") or ()
    # Objects written before podIPs existed carry only podIP; conversion fills podIPs from it.
    ip = ips[0].get("ip") if ips else status.get("podIP")
    return [
        ip or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        _readiness_gates(spec, status),
    ]


def _readiness_gates(spec: Obj, status: Obj) -> str:
    gates = spec.get("readinessGates") or ()
    if not gates:
        return "<none>"
    conditions: dict[str, Any] = {}
    for condition in status.get("conditions") or ():
        conditions.setdefault(condition.get("type"), condition.get("status"))
    passing = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{passing}/{len(gates)}"


def pod_conditions(pod: Obj) -> list[dict[str, str]]:
    """Row conditions: a finished pod is marked Completed (clients may hide such rows)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return _SUCCEEDED_CONDITIONS
    if phase == "Failed":
        return _FAILED_CONDITIONS
    return []


PRINTERS = {("", "Pod"): Printer(COLUMNS, pod_cells, pod_conditions)}
