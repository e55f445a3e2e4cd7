"""Finding what a streaming request is about — a pod's sandbox, a container, its logs —
through the runtime alone, by the CRI labels the kubelet puts on what it creates
(``io.kubernetes.pod.namespace``, ``io.kubernetes.pod.name``, ``io.kubernetes.pod.uid``,
``io.kubernetes.container.name``).

A pod recreated under the same name has a new uid: the newest sandbox's uid is the pod.
Instances of a container are ordered by restart count (then creation): the newest is the
current one, the one before it the ``previous`` one.

Failures carry the HTTP status and message the kubelet answers with.
"""

from __future__ import annotations

from dataclasses import dataclass

from pilothouse.kubelet import labels
from pilothouse.runtime.interface import (
    Container,
    ContainerFilter,
    ContainerState,
    ContainerStatus,
    PodSandbox,
    PodSandboxFilter,
    PodSandboxState,
    RuntimeService,
)


class TargetError(Exception):
    """The request names nothing that can serve it."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    uid: str = ""  # "" : whichever pod of that name is newest

    @property
    def full_name(self) -> str:
        """``name_namespace``, as the kubelet names pods in messages."""
        return f"{self.name}_{self.namespace}"

    def selector(self) -> dict[str, str]:
        selector = {labels.POD_NAMESPACE: self.namespace, labels.POD_NAME: self.name}
        if self.uid:
            selector[labels.POD_UID] = self.uid
        return selector


class Targets:
    def __init__(self, runtime: RuntimeService):
        self.runtime = runtime

    async def sandbox(self, pod: PodRef) -> PodSandbox:
        """The pod's newest sandbox; 404 if the pod has none, 500 if it is not ready (the
        kubelet's GetPortForward)."""
        sandboxes = await self.runtime.list_pod_sandbox(PodSandboxFilter(label_selector=pod.selector()))
        if not sandboxes:
            raise TargetError(404, "pod does not exist")
        newest = max(sandboxes, key=lambda s: s.created_at)
        if newest.state != PodSandboxState.READY:
            raise TargetError(500, f'pod not found ("{pod.full_name}")')
        return newest

    async def running_container(self, pod: PodRef, container: str) -> Container:
        """The container's running instance (exec, attach); 404 if the pod has no sandbox,
        500 ``container not found`` if the container is not running."""
        pod = await self._current(pod)
        running = await self.runtime.list_containers(
            ContainerFilter(state=ContainerState.RUNNING, label_selector=_container_selector(pod, container))
        )
        if not running:
            raise TargetError(500, f'container not found ("{container}")')
        return max(running, key=lambda c: c.created_at)

    async def log_source(self, pod: PodRef, container: str, *, previous: bool) -> ContainerStatus:
        """The status (with its log path) of the container instance whose log is wanted."""
        pod = await self._current(pod)
        instances = await self.runtime.list_containers(
            ContainerFilter(label_selector=_container_selector(pod, container))
        )
        instances.sort(key=lambda c: (_restart_count(c), c.created_at), reverse=True)
        if previous:
            if len(instances) < 2:
                raise TargetError(
                    400, f'previous terminated container "{container}" in pod "{pod.name}" not found'
                )
            return await self.runtime.container_status(instances[1].id)
        if not instances:
            raise TargetError(400, f'container "{container}" in pod "{pod.name}" is waiting to start: ContainerCreating')
        return await self.runtime.container_status(instances[0].id)

    async def _current(self, pod: PodRef) -> PodRef:
        """``pod`` with the uid of its newest sandbox; 404 if it has none."""
        sandboxes = await self.runtime.list_pod_sandbox(PodSandboxFilter(label_selector=pod.selector()))
        if not sandboxes:
            raise TargetError(404, "pod not found" if pod.uid else "pod does not exist")
        if pod.uid:
            return pod
        newest = max(sandboxes, key=lambda s: s.created_at)
        return PodRef(pod.namespace, pod.name, newest.labels.get(labels.POD_UID, newest.metadata.uid))


def _container_selector(pod: PodRef, container: str) -> dict[str, str]:
    return {**pod.selector(), labels.CONTAINER_NAME: container}


def _restart_count(container: Container) -> int:
    text = container.annotations.get(labels.RESTART_COUNT, "")
    return int(text) if text.isdigit() else container.metadata.attempt
