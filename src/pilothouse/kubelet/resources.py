"""Requests and limits in cgroup terms, as the kubelet sets them.

- A container gets CPU shares from its CPU request (its limit when it has no request;
  2 shares when neither), a CFS quota over a 100 ms period from its CPU limit (none without
  one), its memory limit, and an OOM score by QoS class (Guaranteed -997, BestEffort 1000,
  Burstable scaled by its memory request's share of the node, between 3 and 999).
- A pod's cgroup gets the pod's effective requests as shares and, when every container has
  one, the sum of the limits (init containers count by the rules of the pod's requests:
  the largest init container, or the app and sidecar containers together, whichever is more).
- Pod cgroups are grouped by QoS class as the kubelet's cgroup manager does:
  ``kubepods/pod<uid>`` for Guaranteed, ``kubepods/burstable/pod<uid>`` and
  ``kubepods/besteffort/pod<uid>``.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.kinds.pod import pod_qos_class
from pilothouse.api.quantity import Quantity, QuantityError
from pilothouse.runtime.interface import LinuxContainerResources

from . import podutil

Obj = dict[str, Any]

MIN_SHARES = 2
MAX_SHARES = 262144
SHARES_PER_CPU = 1024
QUOTA_PERIOD = 100_000  # microseconds
MIN_QUOTA = 1000
GUARANTEED_OOM_SCORE = -997
BEST_EFFORT_OOM_SCORE = 1000
CRITICAL_PRIORITY = 2_000_000_000


def qos_class(pod: Obj) -> str:
    return (pod.get("status") or {}).get("qosClass") or pod_qos_class(podutil.spec(pod))


def cgroup_parent(pod: Obj) -> str:
    leaf = f"pod{podutil.uid(pod)}"
    qos = qos_class(pod)
    if qos == "Guaranteed":
        return f"kubepods/{leaf}"
    return f"kubepods/{qos.lower()}/{leaf}"


def milli_cpu_to_shares(milli_cpu: int) -> int:
    if milli_cpu == 0:
        return MIN_SHARES
    return min(max(milli_cpu * SHARES_PER_CPU // 1000, MIN_SHARES), MAX_SHARES)


def milli_cpu_to_quota(milli_cpu: int, period: int = QUOTA_PERIOD) -> int:
    if milli_cpu == 0:
        return 0
    return max(milli_cpu * period // 1000, MIN_QUOTA)


def container_resources(pod: Obj, container: Obj, *, memory_capacity: int) -> LinuxContainerResources:
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    cpu_request = _milli(requests.get("cpu"))
    cpu_limit = _milli(limits.get("cpu"))
    shares_from = cpu_limit if "cpu" not in requests and "cpu" in limits else cpu_request
    return LinuxContainerResources(
        cpu_shares=milli_cpu_to_shares(shares_from),
        cpu_quota=milli_cpu_to_quota(cpu_limit),
        cpu_period=QUOTA_PERIOD,
        memory_limit_in_bytes=_bytes(limits.get("memory")),
        oom_score_adj=oom_score_adj(pod, container, memory_capacity),
    )


def oom_score_adj(pod: Obj, container: Obj, memory_capacity: int) -> int:
    if (podutil.spec(pod).get("priority") or 0) >= CRITICAL_PRIORITY:
        return GUARANTEED_OOM_SCORE
    qos = qos_class(pod)
    if qos == "Guaranteed":
        return GUARANTEED_OOM_SCORE
    if qos == "BestEffort":
        return BEST_EFFORT_OOM_SCORE
    request = _bytes(((container.get("resources") or {}).get("requests") or {}).get("memory"))
    score = 1000 - (1000 * request) // max(memory_capacity, 1)
    if score < 1000 + GUARANTEED_OOM_SCORE:
        return 1000 + GUARANTEED_OOM_SCORE
    if score == BEST_EFFORT_OOM_SCORE:
        return score - 1
    return score


def pod_resources(pod: Obj) -> LinuxContainerResources:
    """The limits of the pod's own cgroup."""
    qos = qos_class(pod)
    if qos == "BestEffort":
        return LinuxContainerResources(cpu_shares=MIN_SHARES)
    cpu_request = _pod_total(pod, "requests", "cpu", _milli)
    cpu_limit = _pod_total(pod, "limits", "cpu", _milli)
    memory_limit = _pod_total(pod, "limits", "memory", _bytes)
    cpu_limited = qos == "Guaranteed" or _all_limited(pod, "cpu")
    memory_limited = qos == "Guaranteed" or _all_limited(pod, "memory")
    return LinuxContainerResources(
        cpu_shares=milli_cpu_to_shares(cpu_request),
        cpu_quota=milli_cpu_to_quota(cpu_limit) if cpu_limited else 0,
        cpu_period=QUOTA_PERIOD if cpu_limited else 0,
        memory_limit_in_bytes=memory_limit if memory_limited else 0,
    )


def _all_limited(pod: Obj, resource: str) -> bool:
    return all(
        resource in ((c.get("resources") or {}).get("limits") or {})
        for _, c in podutil.all_containers(pod)
    )


def _pod_total(pod: Obj, kind: str, resource: str, parse: Any) -> int:
    """The pod's effective amount: app containers and sidecars together, or the largest
    init container (with the sidecars started before it), whichever is more."""

    def amount(container: Obj) -> int:
        return int(parse(((container.get("resources") or {}).get(kind) or {}).get(resource)))

    apps = sum(amount(c) for c in podutil.containers(pod))
    sidecars = 0
    largest_init = 0
    for container in podutil.init_containers(pod):
        if podutil.is_restartable_init_container(container):
            sidecars += amount(container)
            largest_init = max(largest_init, sidecars)
        else:
            largest_init = max(largest_init, amount(container) + sidecars)
    return max(apps + sidecars, largest_init)


def _milli(value: Any) -> int:
    quantity = _parse(value)
    return quantity.milli_value() if quantity is not None else 0


def _bytes(value: Any) -> int:
    quantity = _parse(value)
    return quantity.value() if quantity is not None else 0


def _parse(value: Any) -> Quantity | None:
    if value is None:
        return None
    try:
        return Quantity.from_json(value)
    except QuantityError:
        return None
