"""FakeRuntime: the runtime and image services in memory, for the kubelet's unit tests.

It keeps sandboxes, containers and images in dictionaries, follows the same state rules as
the real runtime (a container is CREATED, RUNNING after start, EXITED after stop or
:meth:`FakeRuntime.exit_container`; removal is idempotent; a stopped sandbox is NOTREADY;
names are unique per sandbox and attempt), and records every call in :attr:`calls` as
``(method, arguments)`` so that tests can assert what was asked, in which order.

Test helpers: :meth:`add_image`, :meth:`exit_container` (with a code and a reason such as
``OOMKilled``), :meth:`fail_next` (make the next call of a method raise), :attr:`exec_handler`
(what exec and exec_sync answer), :meth:`emit` (container output for attach sessions),
:meth:`set_stats` and :attr:`port_handler` (what a port-forward connection talks to).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import AlreadyExists, ExecTimeout, FailedPrecondition, NotFound
from .interface import (
    AuthConfig,
    Container,
    ContainerAttributes,
    ContainerConfig,
    ContainerFilter,
    ContainerState,
    ContainerStats,
    ContainerStatsFilter,
    ContainerStatus,
    CpuUsage,
    ExecSyncResponse,
    FilesystemUsage,
    Image,
    ImageFilter,
    ImageService,
    ImageSpec,
    LinuxContainerResources,
    MemoryUsage,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxNetworkStatus,
    PodSandboxState,
    PodSandboxStats,
    PodSandboxStatus,
    ProcessUsage,
    RuntimeCondition,
    RuntimeService,
    RuntimeStatus,
    StreamingSession,
    VersionInfo,
    matches_labels,
)

ExecHandler = Callable[[str, list[str]], ExecSyncResponse | None]  # None: the command hangs
PortHandler = Callable[[str, int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class FakeSandbox:
    id: str
    config: PodSandboxConfig
    created_at: int
    runtime_handler: str = ""
    state: PodSandboxState = PodSandboxState.READY
    network: PodSandboxNetworkStatus = field(default_factory=PodSandboxNetworkStatus)


@dataclass
class FakeContainer:
    id: str
    sandbox_id: str
    config: ContainerConfig
    image: Image
    created_at: int
    state: ContainerState = ContainerState.CREATED
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    resources: LinuxContainerResources = field(default_factory=LinuxContainerResources)
    stats: tuple[int, int, int] = (0, 0, 0)  # cpu ns, memory working set, processes
    sessions: list[FakeSession] = field(default_factory=list)


class FakeSession(StreamingSession):
    """A session whose output the test feeds; what it receives is kept in ``stdin_data``."""

    def __init__(self, *, tty: bool, stdin: bool):
        super().__init__(
            tty=tty,
            stdin=stdin,
            stdout=asyncio.StreamReader(),
            stderr=None if tty else asyncio.StreamReader(),
        )
        self.stdin_data = bytearray()
        self.stdin_closed = False
        self.sizes: list[tuple[int, int]] = []
        self.exit_code: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    def finish(self, exit_code: int | None) -> None:
        for reader in (self.stdout, self.stderr):
            if reader is not None and not reader.at_eof():
                reader.feed_eof()
        if not self.exit_code.done():
            self.exit_code.set_result(exit_code)

    async def write_stdin(self, data: bytes) -> None:
        self.stdin_data += data

    async def close_stdin(self) -> None:
        self.stdin_closed = True

    async def resize(self, width: int, height: int) -> None:
        self.sizes.append((width, height))

    async def wait(self) -> int | None:
        return await self.exit_code

    async def close(self) -> None:
        self.finish(None)


class FakeRuntime(RuntimeService, ImageService):
    def __init__(self, *, clock: Callable[[], int] = time.time_ns):
        self.clock = clock
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sandboxes: dict[str, FakeSandbox] = {}
        self.containers: dict[str, FakeContainer] = {}
        self.images: dict[str, Image] = {}
        self.failures: dict[str, list[Exception]] = {}
        self.exec_handler: ExecHandler = lambda container_id, cmd: ExecSyncResponse(b"", b"", 0)
        self.port_handler: PortHandler | None = None
        self._ids = itertools.count(1)

    # -- test helpers ------------------------------------------------------------------------

    def add_image(self, reference: str, *, image_id: str = "", size: int = 1024, user: str = "") -> Image:
        image_id = image_id or f"sha256:{next(self._ids):064x}"
        existing = self.images.get(image_id)
        tags = (existing.repo_tags if existing else []) + [reference]
        uid = int(user) if user.isdigit() else None
        image = Image(id=image_id, repo_tags=tags, size=size, uid=uid, username="" if uid is not None else user)
        self.images[image_id] = image
        return image

    def exit_container(self, container_id: str, exit_code: int = 0, reason: str = "", message: str = "") -> None:
        container = self.containers[container_id]
        container.state = ContainerState.EXITED
        container.finished_at = self.clock()
        container.exit_code = exit_code
        container.reason = reason or ("Completed" if exit_code == 0 else "Error")
        container.message = message
        for session in container.sessions:
            session.finish(exit_code)

    def fail_next(self, method: str, error: Exception) -> None:
        self.failures.setdefault(method, []).append(error)

    def emit(self, container_id: str, data: bytes, *, stream: str = "stdout") -> None:
        """Container output, delivered to its attach sessions."""
        for session in self.containers[container_id].sessions:
            reader = session.stdout if stream == "stdout" or session.tty else session.stderr
            if reader is not None:
                reader.feed_data(data)

    def set_stats(self, container_id: str, *, cpu_ns: int = 0, memory: int = 0, processes: int = 0) -> None:
        self.containers[container_id].stats = (cpu_ns, memory, processes)

    def call_names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _record(self, method: str, **arguments: Any) -> None:
        self.calls.append((method, arguments))
        pending = self.failures.get(method)
        if pending:
            raise pending.pop(0)

    def _new_id(self) -> str:
        return f"{next(self._ids):064x}"

    # -- runtime ------------------------------------------------------------------------------

    async def version(self) -> VersionInfo:
        self._record("version")
        return VersionInfo("0.1.0", "fake", "0.1.0", "v1")

    async def status(self) -> RuntimeStatus:
        self._record("status")
        return RuntimeStatus([RuntimeCondition("RuntimeReady", True), RuntimeCondition("NetworkReady", True)])

    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str:
        self._record("run_pod_sandbox", config=config, runtime_handler=runtime_handler)
        sandbox = FakeSandbox(self._new_id(), config, self.clock(), runtime_handler)
        self.sandboxes[sandbox.id] = sandbox
        return sandbox.id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self._record("stop_pod_sandbox", sandbox_id=sandbox_id)
        sandbox = self._sandbox(sandbox_id)
        for container in self.containers.values():
            if container.sandbox_id == sandbox_id and container.state != ContainerState.EXITED:
                self.exit_container(container.id, 137)
        sandbox.state = PodSandboxState.NOTREADY

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self._record("remove_pod_sandbox", sandbox_id=sandbox_id)
        self.sandboxes.pop(sandbox_id, None)
        for container_id in [c.id for c in self.containers.values() if c.sandbox_id == sandbox_id]:
            del self.containers[container_id]

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        self._record("pod_sandbox_status", sandbox_id=sandbox_id)
        sandbox = self._sandbox(sandbox_id)
        return PodSandboxStatus(
            id=sandbox.id,
            metadata=sandbox.config.metadata,
            state=sandbox.state,
            created_at=sandbox.created_at,
            network=sandbox.network,
            namespace_options=sandbox.config.linux.security_context.namespace_options,
            network_namespace_path=f"/var/run/netns/fake-{sandbox.id[-8:]}",
            labels=sandbox.config.labels,
            annotations=sandbox.config.annotations,
            runtime_handler=sandbox.runtime_handler,
        )

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]:
        self._record("list_pod_sandbox", filter=filter)
        filter = filter or PodSandboxFilter()
        return [
            PodSandbox(s.id, s.config.metadata, s.state, s.created_at, s.config.labels, s.config.annotations, s.runtime_handler)
            for s in self.sandboxes.values()
            if (not filter.id or s.id.startswith(filter.id))
            and (filter.state is None or s.state == filter.state)
            and matches_labels(s.config.labels, filter.label_selector)
        ]

    async def create_container(self, sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig) -> str:
        self._record("create_container", sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config)
        sandbox = self._sandbox(sandbox_id)
        if sandbox.state != PodSandboxState.READY:
            raise FailedPrecondition(f"pod sandbox {sandbox_id} is not ready")
        for other in self.containers.values():
            if other.sandbox_id == sandbox_id and other.config.metadata == config.metadata:
                raise AlreadyExists(f"container {config.metadata.name!r} already exists")
        image = self._find_image(config.image.image)
        if image is None:
            raise NotFound(f"No such image: {config.image.image}")
        container = FakeContainer(self._new_id(), sandbox_id, config, image, self.clock())
        container.resources = config.linux.resources
        self.containers[container.id] = container
        return container.id

    async def start_container(self, container_id: str) -> None:
        self._record("start_container", container_id=container_id)
        container = self._container(container_id)
        if container.state != ContainerState.CREATED:
            raise FailedPrecondition(f"container {container_id} is not created")
        container.state = ContainerState.RUNNING
        container.started_at = self.clock()

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 (CRI grace period)
        self._record("stop_container", container_id=container_id, timeout=timeout)
        container = self._container(container_id)
        if container.state != ContainerState.EXITED:
            self.exit_container(container_id, 137 if timeout == 0 else 143)

    async def remove_container(self, container_id: str) -> None:
        self._record("remove_container", container_id=container_id)
        self.containers.pop(container_id, None)

    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]:
        self._record("list_containers", filter=filter)
        filter = filter or ContainerFilter()
        return [
            Container(
                c.id, c.sandbox_id, c.config.metadata, c.config.image, c.image.id, c.state, c.created_at,
                c.config.labels, c.config.annotations, c.image.id,
            )
            for c in self.containers.values()
            if (not filter.id or c.id.startswith(filter.id))
            and (not filter.pod_sandbox_id or c.sandbox_id == filter.pod_sandbox_id)
            and (filter.state is None or c.state == filter.state)
            and matches_labels(c.config.labels, filter.label_selector)
        ]

    async def container_status(self, container_id: str) -> ContainerStatus:
        self._record("container_status", container_id=container_id)
        c = self._container(container_id)
        return ContainerStatus(
            id=c.id,
            metadata=c.config.metadata,
            state=c.state,
            created_at=c.created_at,
            started_at=c.started_at,
            finished_at=c.finished_at,
            exit_code=c.exit_code,
            image=c.config.image,
            image_ref=c.image.id,
            image_id=c.image.id,
            reason=c.reason,
            message=c.message,
            labels=c.config.labels,
            annotations=c.config.annotations,
            mounts=c.config.mounts,
            log_path=c.config.log_path,
            resources=c.resources,
        )

    async def update_container_resources(self, container_id: str, resources: LinuxContainerResources) -> None:
        self._record("update_container_resources", container_id=container_id, resources=resources)
        self._container(container_id).resources = resources

    async def reopen_container_log(self, container_id: str) -> None:
        self._record("reopen_container_log", container_id=container_id)
        self._running(container_id)

    async def exec_sync(
        self,
        container_id: str,
        cmd: list[str],
        timeout: float = 0,  # noqa: ASYNC109 (the CRI's: the command is killed when it expires)
    ) -> ExecSyncResponse:
        self._record("exec_sync", container_id=container_id, cmd=cmd, timeout=timeout)
        self._running(container_id)
        response = self.exec_handler(container_id, cmd)
        if response is None:
            raise ExecTimeout(f"command {cmd!r} timed out after {timeout}s")
        return response

    async def exec(
        self,
        container_id: str,
        cmd: list[str],
        *,
        tty: bool = False,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
    ) -> StreamingSession:
        self._record("exec", container_id=container_id, cmd=cmd, tty=tty, stdin=stdin)
        self._running(container_id)
        response = self.exec_handler(container_id, cmd)
        session = FakeSession(tty=tty, stdin=stdin)
        if response is not None:
            assert session.stdout is not None
            session.stdout.feed_data(response.stdout + (response.stderr if tty else b""))
            if session.stderr is not None:
                session.stderr.feed_data(response.stderr)
            session.finish(response.exit_code)
        return session

    async def attach(
        self, container_id: str, *, stdin: bool = False, stdout: bool = True, stderr: bool = True
    ) -> StreamingSession:
        self._record("attach", container_id=container_id, stdin=stdin)
        container = self._running(container_id)
        session = FakeSession(tty=container.config.tty, stdin=stdin)
        container.sessions.append(session)
        return session

    async def port_forward(self, sandbox_id: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self._record("port_forward", sandbox_id=sandbox_id, port=port)
        self._sandbox(sandbox_id)
        if self.port_handler is None:
            raise ConnectionRefusedError(f"nothing listens on port {port}")
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=theirs)
        asyncio.ensure_future(self.port_handler(sandbox_id, port, reader, writer))
        return await asyncio.open_connection(sock=ours)

    async def container_stats(self, container_id: str) -> ContainerStats:
        self._record("container_stats", container_id=container_id)
        return self._stats(self._container(container_id))

    async def list_container_stats(self, filter: ContainerStatsFilter | None = None) -> list[ContainerStats]:
        self._record("list_container_stats", filter=filter)
        filter = filter or ContainerStatsFilter()
        return [
            self._stats(c)
            for c in self.containers.values()
            if c.state == ContainerState.RUNNING
            and (not filter.id or c.id.startswith(filter.id))
            and (not filter.pod_sandbox_id or c.sandbox_id == filter.pod_sandbox_id)
            and matches_labels(c.config.labels, filter.label_selector)
        ]

    async def pod_sandbox_stats(self, sandbox_id: str) -> PodSandboxStats:
        self._record("pod_sandbox_stats", sandbox_id=sandbox_id)
        sandbox = self._sandbox(sandbox_id)
        containers = [self._stats(c) for c in self.containers.values() if c.sandbox_id == sandbox_id]
        now = self.clock()
        cpu = sum(s.cpu.usage_core_nano_seconds for s in containers)
        memory = sum(s.memory.working_set_bytes for s in containers)
        processes = sum(s.process.process_count for s in containers)
        return PodSandboxStats(
            id=sandbox.id,
            metadata=sandbox.config.metadata,
            cpu=CpuUsage(now, cpu),
            memory=MemoryUsage(now, memory, memory, memory, 0, 0),
            process=ProcessUsage(now, processes),
            containers=containers,
            labels=sandbox.config.labels,
            annotations=sandbox.config.annotations,
        )

    # -- images ------------------------------------------------------------------------------

    async def list_images(self, filter: ImageFilter | None = None) -> list[Image]:
        self._record("list_images", filter=filter)
        if filter is not None and filter.image is not None:
            found = self._find_image(filter.image.image)
            return [found] if found else []
        return list(self.images.values())

    async def image_status(self, image: ImageSpec) -> Image | None:
        self._record("image_status", image=image)
        return self._find_image(image.image)

    async def pull_image(
        self, image: ImageSpec, auth: AuthConfig | None = None, sandbox_config: PodSandboxConfig | None = None
    ) -> str:
        self._record("pull_image", image=image, auth=auth)
        found = self._find_image(image.image) or self.add_image(image.image)
        return found.id

    async def remove_image(self, image: ImageSpec) -> None:
        self._record("remove_image", image=image)
        found = self._find_image(image.image)
        if found is not None:
            del self.images[found.id]

    async def image_fs_info(self) -> list[FilesystemUsage]:
        self._record("image_fs_info")
        return [FilesystemUsage(self.clock(), "/fake/images", sum(i.size for i in self.images.values()))]

    # -- lookups -----------------------------------------------------------------------------

    def _sandbox(self, sandbox_id: str) -> FakeSandbox:
        if sandbox_id not in self.sandboxes:
            raise NotFound(f"pod sandbox {sandbox_id!r} not found")
        return self.sandboxes[sandbox_id]

    def _container(self, container_id: str) -> FakeContainer:
        if container_id not in self.containers:
            raise NotFound(f"container {container_id!r} not found")
        return self.containers[container_id]

    def _running(self, container_id: str) -> FakeContainer:
        container = self._container(container_id)
        if container.state != ContainerState.RUNNING:
            raise FailedPrecondition(f"container {container_id} is not running")
        return container

    def _find_image(self, reference: str) -> Image | None:
        for image in self.images.values():
            if reference in (image.id, *image.repo_tags) or image.id.startswith(f"sha256:{reference}"):
                return replace(image, spec=ImageSpec(image=reference))
        return None

    def _stats(self, container: FakeContainer) -> ContainerStats:
        cpu_ns, memory, processes = container.stats
        now = self.clock()
        return ContainerStats(
            attributes=ContainerAttributes(
                container.id, container.config.metadata, container.config.labels, container.config.annotations
            ),
            cpu=CpuUsage(now, cpu_ns),
            memory=MemoryUsage(now, memory, memory, memory, 0, 0),
            process=ProcessUsage(now, processes),
            writable_layer=FilesystemUsage(now, f"/fake/containers/{container.id}", 0),
        )
