"""The CRI labels and annotations the kubelet puts on sandboxes and containers.

Labels identify, and the runtime filters on them: ``io.kubernetes.pod.name``,
``io.kubernetes.pod.namespace``, ``io.kubernetes.pod.uid`` on sandboxes and containers, and
``io.kubernetes.container.name`` on containers (the streaming server finds containers by
them). Annotations carry what a kubelet needs to know about a container it did not create
itself, after a restart: the container's hash, its restart count, the termination message
path and policy, the pod's grace periods and the preStop handler, as
pkg/kubelet/kuberuntime/labels.go does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from . import podutil

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"

CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy"
POD_DELETION_GRACE = "io.kubernetes.pod.deletionGracePeriod"
POD_TERMINATION_GRACE = "io.kubernetes.pod.terminationGracePeriod"
PRESTOP_HANDLER = "io.kubernetes.container.preStopHandler"
CONTAINER_PORTS = "io.kubernetes.container.ports"


def pod_labels(pod: dict[str, Any]) -> dict[str, str]:
    """The labels that identify the pod (on its sandbox and every container)."""
    return {
        POD_NAME: podutil.name(pod),
        POD_NAMESPACE: podutil.namespace(pod),
        POD_UID: podutil.uid(pod),
    }


def sandbox_labels(pod: dict[str, Any]) -> dict[str, str]:
    """The pod's own labels, then the identifying ones (which win)."""
    return {**podutil.labels_of(pod), **pod_labels(pod)}


def container_labels(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    return {**pod_labels(pod), CONTAINER_NAME: container["name"]}


def container_annotations(
    pod: dict[str, Any], container: dict[str, Any], restart_count: int
) -> dict[str, str]:
    annotations = {
        CONTAINER_HASH: container_hash(container),
        RESTART_COUNT: str(restart_count),
        TERMINATION_MESSAGE_PATH: container.get("terminationMessagePath") or "",
        TERMINATION_MESSAGE_POLICY: container.get("terminationMessagePolicy") or "File",
        POD_TERMINATION_GRACE: str(podutil.grace_period({"spec": podutil.spec(pod)})),
    }
    deletion_grace = podutil.meta(pod).get("deletionGracePeriodSeconds")
    if deletion_grace is not None:
        annotations[POD_DELETION_GRACE] = str(deletion_grace)
    pre_stop = (container.get("lifecycle") or {}).get("preStop")
    if pre_stop:
        annotations[PRESTOP_HANDLER] = orjson.dumps(pre_stop).decode()
    if container.get("ports"):
        annotations[CONTAINER_PORTS] = orjson.dumps(container["ports"]).decode()
    return annotations


def container_hash(container: dict[str, Any]) -> str:
    """What changes of a running container force a restart: its name and image (the only
    container fields a pod update may change), hashed stably across kubelet restarts."""
    digest = hashlib.sha256(orjson.dumps([container.get("name"), container.get("image")]))
    return digest.hexdigest()[:8]


@dataclass(frozen=True)
class ContainerInfo:
    """What the annotations of a container say (defaults when they are missing)."""

    hash: str
    restart_count: int
    termination_message_path: str
    termination_message_policy: str
    pre_stop: dict[str, Any] | None
    termination_grace: int | None


def read_annotations(annotations: dict[str, str]) -> ContainerInfo:
    pre_stop = annotations.get(PRESTOP_HANDLER)
    grace = annotations.get(POD_DELETION_GRACE) or annotations.get(POD_TERMINATION_GRACE)
    return ContainerInfo(
        hash=annotations.get(CONTAINER_HASH, ""),
        restart_count=_int(annotations.get(RESTART_COUNT)) or 0,
        termination_message_path=annotations.get(TERMINATION_MESSAGE_PATH, ""),
        termination_message_policy=annotations.get(TERMINATION_MESSAGE_POLICY, "File"),
        pre_stop=orjson.loads(pre_stop) if pre_stop else None,
        termination_grace=_int(grace),
    )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
