"""Helpers of the kubelet end-to-end tests: pods, waiting on the API, reading containers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pilothouse.api import errors
from pilothouse.kubelet import labels
from pilothouse.runtime.interface import ContainerFilter, ContainerState

T = TypeVar("T")
Obj = dict[str, Any]
TIMEOUT = 60.0


async def wait_until(predicate: Callable[[], Awaitable[T]], *, timeout: float = TIMEOUT, interval: float = 0.1) -> T:
    """Polls ``predicate`` until it returns something truthy; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last value: {last!r})")


def container(name: str, *command: str, **fields: Any) -> Obj:
    body: Obj = {"name": name, "image": "busybox", "imagePullPolicy": "IfNotPresent", **fields}
    if command:
        body["command"] = list(command)
    return body


def pod_manifest(name: str, *containers: Obj, node: Any, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": node.namespace},
        "spec": {"nodeName": node.name, "terminationGracePeriodSeconds": 2, "containers": list(containers), **spec},
    }


async def create_pod(node: Any, name: str, *containers: Obj, **spec: Any) -> Obj:
    return await node.client["pods"].create(pod_manifest(name, *containers, node=node, **spec))


async def get_pod(node: Any, name: str) -> Obj | None:
    try:
        return await node.client["pods"].get(name, namespace=node.namespace)
    except errors.NotFound:
        return None


async def wait_pod(node: Any, name: str, check: Callable[[Obj], Any], *, timeout: float = TIMEOUT) -> Obj:
    """The pod once ``check(pod)`` holds (the last one seen is shown if it never does)."""
    seen: list[Obj | None] = [None]

    async def ready() -> Obj | None:
        seen[0] = pod = await get_pod(node, name)
        return pod if pod is not None and check(pod) else None

    try:
        return await wait_until(ready, timeout=timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}; last status: {(seen[0] or {}).get('status')}") from None


def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase", "")


def container_status(pod: Obj, name: str, *, init: bool = False) -> Obj:
    key = "initContainerStatuses" if init else "containerStatuses"
    for status in (pod.get("status") or {}).get(key) or []:
        if status["name"] == name:
            return status
    return {}


def state_of(pod: Obj, name: str, *, init: bool = False) -> Obj:
    return container_status(pod, name, init=init).get("state") or {}


def waiting_reason(pod: Obj, name: str) -> str:
    return (state_of(pod, name).get("waiting") or {}).get("reason", "")


def condition(pod: Obj, kind: str) -> Obj:
    for entry in (pod.get("status") or {}).get("conditions") or []:
        if entry["type"] == kind:
            return entry
    return {}


def running(pod: Obj) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return phase(pod) == "Running" and bool(statuses) and all("running" in s["state"] for s in statuses)


async def events(node: Any, pod_name: str) -> list[Obj]:
    listed = await node.client["events"].list(
        namespace=node.namespace, field_selector=f"involvedObject.name={pod_name}"
    )
    return listed.items


async def wait_event(node: Any, pod_name: str, reason: str, contains: str = "") -> Obj:
    async def found() -> Obj | None:
        for event in await events(node, pod_name):
            if event.get("reason") == reason and contains in event.get("message", ""):
                return event
        return None

    return await wait_until(found)


async def running_container_id(node: Any, pod: Obj, name: str) -> str:
    found = await node.runtime.list_containers(
        ContainerFilter(
            state=ContainerState.RUNNING,
            label_selector={labels.POD_UID: pod["metadata"]["uid"], labels.CONTAINER_NAME: name},
        )
    )
    assert found, f"no running container {name}"
    return found[0].id


async def exec_in(node: Any, pod: Obj, name: str, *command: str) -> str:
    container_id = await running_container_id(node, pod, name)
    response = await node.runtime.exec_sync(container_id, list(command), timeout=30)
    assert response.exit_code == 0, response
    return response.stdout.decode()


async def delete_and_wait_gone(node: Any, name: str, *, timeout: float = TIMEOUT) -> None:
    try:
        await node.client["pods"].delete(name, namespace=node.namespace)
    except errors.NotFound:
        return

    async def gone() -> bool:
        return await get_pod(node, name) is None

    await wait_until(gone, timeout=timeout)


async def delete_and_watch(node: Any, name: str, *, timeout: float = TIMEOUT) -> Obj:
    """Deletes the pod and returns it as it was when it went away (the kubelet's final status)."""
    pods = node.client["pods"]
    current = await pods.get(name, namespace=node.namespace)

    async def until_deleted() -> Obj:
        async for event in pods.watch(
            namespace=node.namespace, field_selector=f"metadata.name={name}",
            resource_version=current["metadata"]["resourceVersion"],
        ):
            if event.type == "DELETED":
                return event.object
        raise AssertionError("the watch ended before the pod was deleted")

    watch = asyncio.ensure_future(until_deleted())
    try:
        await pods.delete(name, namespace=node.namespace)
        return await asyncio.wait_for(asyncio.shield(watch), timeout)
    finally:
        watch.cancel()
