"""What the runtime holds of one pod: its sandboxes and containers, newest first.

:class:`PodRuntimeStatus` is the kubelet's input from the runtime (upstream's
kubecontainer.PodStatus): read through the RuntimeService by the pod UID label, with each
exited container's termination message resolved (the file the container wrote at its
terminationMessagePath, or the tail of its log for FallbackToLogsOnError after a failure).
Everything in it is immutable, so the pure functions that decide (actions, status) can be
tested on hand-made values.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from pilothouse.runtime.errors import NotFound
from pilothouse.runtime.interface import (
    ContainerState,
    ContainerStatus,
    NamespaceMode,
    PodSandboxState,
    RuntimeService,
)
from pilothouse.runtime.logs import LogOptions, read_logs

from . import labels
from .runtimeindex import RuntimeIndex

MAX_TERMINATION_MESSAGE = 4096
MAX_TERMINATION_LOG_LINES = 80
MAX_TERMINATION_LOG_BYTES = 2048


@dataclass(frozen=True)
class SandboxState:
    id: str
    attempt: int
    ready: bool
    created_at: int
    ips: tuple[str, ...] = ()
    host_network: bool = False


@dataclass(frozen=True)
class RuntimeContainer:
    """One container of the pod as the runtime reports it; times in ns (0: not yet)."""

    id: str
    name: str
    state: ContainerState
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    restart_count: int = 0
    hash: str = ""
    image: str = ""
    image_ref: str = ""
    sandbox_id: str = ""
    log_path: str = ""

    @property
    def running(self) -> bool:
        return self.state == ContainerState.RUNNING

    @property
    def exited(self) -> bool:
        return self.state == ContainerState.EXITED


@dataclass(frozen=True)
class PodRuntimeStatus:
    uid: str
    name: str = ""
    namespace: str = ""
    sandboxes: tuple[SandboxState, ...] = ()  # newest first
    containers: tuple[RuntimeContainer, ...] = ()  # newest first

    def find(self, container_name: str) -> RuntimeContainer | None:
        """The newest container of that name."""
        for container in self.containers:
            if container.name == container_name:
                return container
        return None

    def all_named(self, container_name: str) -> list[RuntimeContainer]:
        return [c for c in self.containers if c.name == container_name]

    @property
    def ips(self) -> tuple[str, ...]:
        """The pod's IPs: those of its newest sandbox, if it is ready."""
        if self.sandboxes and self.sandboxes[0].ready:
            return self.sandboxes[0].ips
        return ()


@dataclass
class RuntimeStateReader:
    """Reads :class:`PodRuntimeStatus` values from the runtime, by the ids the index knows."""

    runtime: RuntimeService
    index: RuntimeIndex
    _messages: dict[str, str] = field(default_factory=dict)  # exited container id -> message

    async def pod_status(self, uid: str, *, name: str = "", namespace: str = "") -> PodRuntimeStatus:
        sandboxes = await self._sandboxes(uid)
        containers = []
        for container_id, sandbox_id in self.index.containers(uid).items():
            try:
                status = await self.runtime.container_status(container_id)
            except NotFound:
                self.index.discard(uid, container_id)
                self._messages.pop(container_id, None)
                continue
            containers.append(await self._container(status, sandbox_id))
        containers.sort(key=lambda c: c.created_at, reverse=True)
        return PodRuntimeStatus(uid, name, namespace, tuple(sandboxes), tuple(containers))

    async def _sandboxes(self, uid: str) -> list[SandboxState]:
        result = []
        for sandbox_id in self.index.sandboxes(uid):
            try:
                status = await self.runtime.pod_sandbox_status(sandbox_id)
            except NotFound:
                self.index.discard(uid, sandbox_id)
                continue
            ips = (status.network.ip, *status.network.additional_ips) if status.network.ip else ()
            result.append(
                SandboxState(
                    id=status.id,
                    attempt=status.metadata.attempt,
                    ready=status.state == PodSandboxState.READY,
                    created_at=status.created_at,
                    ips=ips,
                    host_network=status.namespace_options.network == NamespaceMode.NODE,
                )
            )
        result.sort(key=lambda s: s.created_at, reverse=True)
        return result

    async def _container(self, status: ContainerStatus, sandbox_id: str) -> RuntimeContainer:
        info = labels.read_annotations(status.annotations)
        message = status.message
        if status.state == ContainerState.EXITED:
            message = await self._exit_message(status, info)
        return RuntimeContainer(
            id=status.id,
            name=status.labels.get(labels.CONTAINER_NAME) or status.metadata.name,
            state=status.state,
            created_at=status.created_at,
            started_at=status.started_at if status.state != ContainerState.CREATED else 0,
            finished_at=status.finished_at if status.state == ContainerState.EXITED else 0,
            exit_code=status.exit_code if status.state == ContainerState.EXITED else 0,
            reason=status.reason if status.state == ContainerState.EXITED else "",
            message=message if status.state == ContainerState.EXITED else "",
            restart_count=info.restart_count,
            hash=info.hash,
            image=status.image.user_specified_image or status.image.image,
            image_ref=status.image_ref or status.image_id,
            sandbox_id=sandbox_id,
            log_path=status.log_path,
        )

    async def _exit_message(self, status: ContainerStatus, info: labels.ContainerInfo) -> str:
        if status.id in self._messages:
            return self._messages[status.id]
        fallback = (
            info.termination_message_policy == "FallbackToLogsOnError"
            and status.exit_code != 0
            and status.reason != "ContainerCannotRun"
        )
        written, check_logs = await asyncio.to_thread(
            _termination_file, status, info.termination_message_path, fallback
        )
        if check_logs and status.log_path:
            written = await _log_tail(Path(status.log_path))
        message = status.message
        if written:
            message = f"{message}: {written}" if message else written
        self._messages[status.id] = message
        return message


def _termination_file(status: ContainerStatus, path: str, fallback: bool) -> tuple[str, bool]:
    """The message the container wrote, and whether its log should be read instead."""
    if not path:
        return "", fallback
    for mount in status.mounts:
        if mount.container_path != path:
            continue
        try:
            with open(mount.host_path, "rb") as handle:
                data = handle.read(MAX_TERMINATION_MESSAGE)
        except FileNotFoundError:
            return "", fallback
        except OSError as error:
            return f"Error on reading termination log {mount.host_path}: {error}", False
        return data.decode(errors="replace"), fallback and not data
    return "", fallback


async def _log_tail(path: Path) -> str:
    chunks = []
    try:
        async for _, line in read_logs(path, LogOptions(tail_lines=MAX_TERMINATION_LOG_LINES)):
            chunks.append(line)
    except OSError as error:
        return f"Error on reading termination message from logs: {error}"
    return b"".join(chunks)[-MAX_TERMINATION_LOG_BYTES:].decode(errors="replace")
