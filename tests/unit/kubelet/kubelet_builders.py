"""Small builders of pods and runtime states for the kubelet's unit tests."""

from __future__ import annotations

import itertools
from typing import Any

from pilothouse.kubelet import labels
from pilothouse.kubelet.podstate import PodRuntimeStatus, RuntimeContainer, SandboxState
from pilothouse.runtime.interface import ContainerState

_ids = itertools.count(1)

RUNNING = ContainerState.RUNNING
EXITED = ContainerState.EXITED
CREATED = ContainerState.CREATED
UNKNOWN = ContainerState.UNKNOWN


def container(name: str, image: str = "busybox", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        **fields,
    }


def sidecar(name: str, **fields: Any) -> dict[str, Any]:
    return container(name, restartPolicy="Always", **fields)


def pod(
    *containers: dict[str, Any],
    init: list[dict[str, Any]] | None = None,
    restart_policy: str = "Always",
    name: str = "web",
    namespace: str = "default",
    uid: str = "uid-1",
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "containers": list(containers) or [container("app")],
        "restartPolicy": restart_policy,
        "dnsPolicy": "ClusterFirst",
        "terminationGracePeriodSeconds": 30,
        "enableServiceLinks": True,
        "nodeName": "node-1",
        **spec,
    }
    if init:
        body["initContainers"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "resourceVersion": "1"},
        "spec": body,
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


def sandbox(
    *, ready: bool = True, attempt: int = 0, ips: tuple[str, ...] = ("10.244.0.5",), host_network: bool = False
) -> SandboxState:
    return SandboxState(
        id=f"sandbox-{next(_ids)}", attempt=attempt, ready=ready, created_at=next(_ids), ips=ips,
        host_network=host_network,
    )


def rc(
    name: str,
    state: ContainerState = RUNNING,
    *,
    exit_code: int = 0,
    reason: str = "",
    spec: dict[str, Any] | None = None,
    image: str = "busybox",
    restart_count: int = 0,
    created_at: int | None = None,
    started_at: int = 1_700_000_000_000_000_000,
    finished_at: int = 0,
    hash: str | None = None,
) -> RuntimeContainer:
    if hash is None:
        hash = labels.container_hash(spec or {"name": name, "image": image})
    if state == EXITED and not finished_at:
        finished_at = started_at + 1_000_000_000
    if state == EXITED and not reason:
        reason = "Completed" if exit_code == 0 else "Error"
    return RuntimeContainer(
        id=f"c-{name}-{next(_ids)}",
        name=name,
        state=state,
        created_at=created_at if created_at is not None else next(_ids),
        started_at=started_at if state != CREATED else 0,
        finished_at=finished_at,
        exit_code=exit_code,
        reason=reason,
        restart_count=restart_count,
        hash=hash,
        image=image,
        image_ref="sha256:" + "ab" * 32,
    )


def runtime_status(
    *containers: RuntimeContainer, sandboxes: tuple[SandboxState, ...] | None = None, uid: str = "uid-1"
) -> PodRuntimeStatus:
    if sandboxes is None:
        sandboxes = (sandbox(),)
    ordered = tuple(sorted(containers, key=lambda c: c.created_at, reverse=True))
    return PodRuntimeStatus(uid=uid, name="web", namespace="default", sandboxes=sandboxes, containers=ordered)
