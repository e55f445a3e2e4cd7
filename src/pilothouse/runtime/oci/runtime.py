"""LocalRuntime: the CRI runtime service with real containers on this machine.

Sandboxes and containers are run by crun (or runc) under conmon monitors, with state kept
under the runtime root (see :mod:`.state`), so that several processes (CLI invocations, a
kubelet) can share one root, and a restarted process finds its containers running. Call
:meth:`LocalRuntime.recover` when a long-lived owner (the kubelet) starts, to clean up what
a crash left behind.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NotFound
from ..interface import (
    Container,
    ContainerConfig,
    ContainerFilter,
    ContainerState,
    ContainerStats,
    ContainerStatsFilter,
    ContainerStatus,
    ExecSyncResponse,
    ImageSpec,
    LinuxContainerResources,
    NamespaceMode,
    PodNetwork,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxStats,
    PodSandboxStatus,
    RuntimeCondition,
    RuntimeService,
    RuntimeStatus,
    StreamingSession,
    VersionInfo,
    matches_labels,
)
from . import namespaces, streams
from .containers import Containers, container_state
from .context import RuntimeSettings, open_context
from .sandboxes import Sandboxes, sandbox_state
from .state import ContainerRecord, SandboxRecord
from .stats import StatsCollector

if TYPE_CHECKING:
    from ..images.snapshots import Snapshotter
    from ..images.store import ImageStore
    from .recovery import RecoveryReport

CRI_API_VERSION = "v1"
RUNTIME_VERSION = "0.1.0"


class LocalRuntime(RuntimeService):
    def __init__(
        self,
        settings: RuntimeSettings,
        *,
        images: ImageStore,
        snapshots: Snapshotter,
        network: PodNetwork | None = None,
    ):
        self.ctx = open_context(settings, images=images, snapshots=snapshots, network=network)
        self.containers = Containers(self.ctx)
        self.sandboxes = Sandboxes(self.ctx, self.containers)
        self.stats = StatsCollector(
            self.ctx.cgroups,
            layer_usage=snapshots.usage,
            layer_mountpoint=lambda key: str(snapshots.rootfs(key)),
        )

    async def recover(self) -> RecoveryReport:
        from .recovery import recover  # only long-lived owners recover

        return await recover(self.ctx, self.sandboxes, self.containers)

    async def remove_all(self) -> None:
        """Removes every sandbox and container of this root, then the pilothouse cgroups."""
        for record in self.ctx.state.list_containers():
            await self.containers.remove(record.id)
        for sandbox in self.ctx.state.list_sandboxes():
            await self.sandboxes.remove(sandbox.id)
        await self.recover()
        await asyncio.to_thread(self.ctx.cgroups.remove, self.ctx.settings.cgroup_parent)
        await asyncio.to_thread(self.ctx.cgroups.remove_empty_parents,
                                self.ctx.settings.cgroup_parent)

    async def version(self) -> VersionInfo:
        return VersionInfo(
            version="0.1.0",
            runtime_name="pilothouse",
            runtime_version=RUNTIME_VERSION,
            runtime_api_version=CRI_API_VERSION,
        )

    async def status(self) -> RuntimeStatus:
        return RuntimeStatus(
            conditions=[
                RuntimeCondition(type="RuntimeReady", status=True),
                RuntimeCondition(type="NetworkReady", status=True),
            ]
        )

    # -- sandboxes ---------------------------------------------------------------------------

    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str:
        return await self.sandboxes.run(config, runtime_handler)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self.sandboxes.stop(sandbox_id)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self.sandboxes.remove(sandbox_id)

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        record = self.sandboxes.load(sandbox_id)
        return PodSandboxStatus(
            id=record.id,
            metadata=record.config.metadata,
            state=sandbox_state(record),
            created_at=record.created_at,
            network=record.network,
            namespace_options=record.config.linux.security_context.namespace_options,
            network_namespace_path=record.netns_path if not record.stopped else "",
            labels=record.config.labels,
            annotations=record.config.annotations,
            runtime_handler=record.runtime_handler,
        )

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]:
        return [_sandbox(record) for record in self.sandboxes.list(filter)]

    # -- containers --------------------------------------------------------------------------

    async def create_container(
        self,
        sandbox_id: str,
        config: ContainerConfig,
        sandbox_config: PodSandboxConfig,
        *,
        exit_command: list[str] | None = None,
        container_id: str = "",
    ) -> str:
        """Also takes ``exit_command``, a command the monitor runs once the container has
        ended, and ``container_id``, to choose the id (a new random one by default)."""
        sandbox = self.sandboxes.load(sandbox_id)
        namespaces = self.sandboxes.namespaces(sandbox)
        return await self.containers.create(
            sandbox, namespaces, config, exit_command=exit_command, container_id=container_id
        )

    async def start_container(self, container_id: str) -> None:
        await self.containers.start(container_id)

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 (CRI grace period)
        await self.containers.stop(container_id, timeout)

    async def remove_container(self, container_id: str) -> None:
        await self.containers.remove(container_id)
        self.stats.forget(container_id)

    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]:
        return [_container(record) for record in self.containers.list(filter)]

    async def container_status(self, container_id: str) -> ContainerStatus:
        return _status(self.containers.load(container_id))

    async def update_container_resources(self, container_id: str, resources: LinuxContainerResources) -> None:
        await self.containers.update(container_id, resources)

    async def reopen_container_log(self, container_id: str) -> None:
        self.containers.reopen_log(container_id)

    async def wait_container(self, container_id: str) -> int:
        """Waits until the container ends; returns its exit code (not in the CRI)."""
        return await self.containers.wait(container_id)

    async def kill_container(self, container_id: str, signal: int) -> None:
        """Sends ``signal`` to the container's first process (not in the CRI)."""
        self.containers.running(container_id)
        await self.ctx.oci.kill(container_id, signal)

    # -- streaming ---------------------------------------------------------------------------

    async def exec_sync(
        self,
        container_id: str,
        cmd: list[str],
        timeout: float = 0,  # noqa: ASYNC109 (the CRI's: the command is killed when it expires)
    ) -> ExecSyncResponse:
        self.containers.running(container_id)
        files = self._exec_files(container_id, cmd, tty=False)
        return await streams.exec_sync(self.ctx.oci, container_id, timeout=timeout, files=files)

    async def exec(
        self,
        container_id: str,
        cmd: list[str],
        *,
        tty: bool = False,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        terminal_size: tuple[int, int] | None = None,
    ) -> StreamingSession:
        """Also takes ``terminal_size`` (width, height): the TTY's size from the start."""
        self.containers.running(container_id)
        return await streams.start_exec(
            self.ctx.oci,
            container_id,
            tty=tty,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr and not tty,
            files=self._exec_files(container_id, cmd, tty=tty, size=terminal_size),
            size=terminal_size,
        )

    async def attach(
        self, container_id: str, *, stdin: bool = False, stdout: bool = True, stderr: bool = True
    ) -> StreamingSession:
        record = self.containers.load(container_id)
        if record.finished_at:
            raise NotFound(f"container {container_id} has exited")
        return await streams.attach(
            self.ctx.state.container_files(container_id),
            record.monitor,
            tty=record.config.tty,
            stdin=stdin and record.config.stdin,
            stdout=stdout,
            stderr=stderr,
        )

    async def port_forward(self, sandbox_id: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        record = self.sandboxes.load(sandbox_id)
        self.sandboxes.namespaces(record)  # raises unless ready
        if record.config.linux.security_context.namespace_options.network == NamespaceMode.NODE:
            return await asyncio.open_connection("127.0.0.1", port)
        sock = await asyncio.to_thread(namespaces.connect_socket, Path(record.netns_path))
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        except OSError:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)

    def _exec_files(
        self, container_id: str, cmd: list[str], *, tty: bool, size: tuple[int, int] | None = None
    ) -> streams.ExecFiles:
        return streams.ExecFiles.prepare(self.ctx.state.container_files(container_id), cmd, tty=tty, size=size)

    # -- stats -------------------------------------------------------------------------------

    async def container_stats(self, container_id: str) -> ContainerStats:
        return await asyncio.to_thread(self.stats.container, self.containers.load(container_id))

    async def list_container_stats(self, filter: ContainerStatsFilter | None = None) -> list[ContainerStats]:
        filter = filter or ContainerStatsFilter()
        wanted = ContainerFilter(id=filter.id, pod_sandbox_id=filter.pod_sandbox_id)
        records = [
            r
            for r in self.containers.list(wanted)
            if container_state(r) == ContainerState.RUNNING and matches_labels(r.config.labels, filter.label_selector)
        ]
        return await asyncio.to_thread(lambda: [self.stats.container(r) for r in records])

    async def pod_sandbox_stats(self, sandbox_id: str) -> PodSandboxStats:
        record = self.sandboxes.load(sandbox_id)
        containers = await self.list_container_stats(ContainerStatsFilter(pod_sandbox_id=sandbox_id))
        return await asyncio.to_thread(self.stats.sandbox, record, containers)


def _sandbox(record: SandboxRecord) -> PodSandbox:
    return PodSandbox(
        id=record.id,
        metadata=record.config.metadata,
        state=sandbox_state(record),
        created_at=record.created_at,
        labels=record.config.labels,
        annotations=record.config.annotations,
        runtime_handler=record.runtime_handler,
    )


def _container(record: ContainerRecord) -> Container:
    return Container(
        id=record.id,
        pod_sandbox_id=record.sandbox_id,
        metadata=record.config.metadata,
        image=ImageSpec(image=record.image_ref),
        image_ref=record.repo_digest,
        state=container_state(record),
        created_at=record.created_at,
        labels=record.config.labels,
        annotations=record.config.annotations,
        image_id=record.image_id,
    )


def _status(record: ContainerRecord) -> ContainerStatus:
    state = container_state(record)
    return ContainerStatus(
        id=record.id,
        metadata=record.config.metadata,
        state=state,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        exit_code=record.exit_code,
        image=ImageSpec(image=record.image_ref),
        image_ref=record.repo_digest,
        image_id=record.image_id,
        reason=record.reason,
        message=record.message,
        labels=record.config.labels,
        annotations=record.config.annotations,
        mounts=record.config.mounts,
        log_path=record.log_path,
        resources=record.resources,
        pid=record.process.pid if record.process is not None and state == ContainerState.RUNNING else 0,
    )
