"""Reading pod objects: the small questions every part of the kubelet asks about a pod.

Pods are plain dicts as the API serves them (defaulted by the API server, or by the static
pod source). Nothing here mutates a pod.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
CONFIG_SOURCE_ANNOTATION = "kubernetes.io/config.source"
CONFIG_HASH_ANNOTATION = "kubernetes.io/config.hash"
DEFAULT_GRACE_SECONDS = 30
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


def meta(pod: Obj) -> Obj:
    return pod.get("metadata") or {}


def spec(pod: Obj) -> Obj:
    return pod.get("spec") or {}


def uid(pod: Obj) -> str:
    return meta(pod).get("uid", "")


def name(pod: Obj) -> str:
    return meta(pod).get("name", "")


def namespace(pod: Obj) -> str:
    return meta(pod).get("namespace") or "default"


def annotations_of(pod: Obj) -> dict[str, str]:
    return meta(pod).get("annotations") or {}


def labels_of(pod: Obj) -> dict[str, str]:
    return meta(pod).get("labels") or {}


def full_name(pod: Obj) -> str:
    """``name_namespace``: how the kubelet names a pod independently of its UID."""
    return f"{name(pod)}_{namespace(pod)}"


def describe(pod: Obj) -> str:
    """``name_namespace(uid)``, upstream's format.Pod, used in messages."""
    return f"{full_name(pod)}({uid(pod)})"


def containers(pod: Obj) -> list[Obj]:
    return list(spec(pod).get("containers") or [])


def init_containers(pod: Obj) -> list[Obj]:
    return list(spec(pod).get("initContainers") or [])


def all_containers(pod: Obj) -> Iterator[tuple[str, Obj]]:
    """Every container with the spec list it is in ("initContainers" or "containers")."""
    for container in init_containers(pod):
        yield "initContainers", container
    for container in containers(pod):
        yield "containers", container


def container_spec(pod: Obj, container_name: str) -> Obj | None:
    for _, container in all_containers(pod):
        if container.get("name") == container_name:
            return container
    return None


def is_init_container(pod: Obj, container_name: str) -> bool:
    return any(c.get("name") == container_name for c in init_containers(pod))


def is_restartable_init_container(container: Obj) -> bool:
    """A sidecar: an init container with restartPolicy Always."""
    return container.get("restartPolicy") == "Always"


def field_path(pod: Obj, container_name: str) -> str:
    """The involvedObject.fieldPath of events about a container."""
    key = "initContainers" if is_init_container(pod, container_name) else "containers"
    return f"spec.{key}{{{container_name}}}"


def restart_policy(pod: Obj) -> str:
    return spec(pod).get("restartPolicy") or "Always"


def should_restart_on_failure(pod: Obj) -> bool:
    return restart_policy(pod) != "Never"


def host_network(pod: Obj) -> bool:
    return bool(spec(pod).get("hostNetwork"))


def is_deleted(pod: Obj) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def is_mirror(pod: Obj) -> bool:
    return MIRROR_ANNOTATION in annotations_of(pod)


def is_static(pod: Obj) -> bool:
    source = annotations_of(pod).get(CONFIG_SOURCE_ANNOTATION, "")
    return bool(source) and source != "api"


def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase", "")


def is_terminal_phase(value: str) -> bool:
    return value in TERMINAL_PHASES


def grace_period(pod: Obj) -> int:
    """Seconds the pod's containers get to stop: the deletion's grace, else the spec's."""
    deletion_grace = meta(pod).get("deletionGracePeriodSeconds")
    if deletion_grace is not None:
        return int(deletion_grace)
    configured = spec(pod).get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_SECONDS if configured is None else int(configured)


def container_ports(container: Obj) -> list[Obj]:
    return list(container.get("ports") or [])
