"""Containers outside pods, as ``pilothouse run`` makes them: Docker's model on the CRI runtime.

Each such container gets a sandbox of its own, whose hostname is the container's short id
and whose network namespace has only loopback (a port given with ``-p`` is proxied into it,
see :mod:`.portproxy`). Both carry the container's name as a label; names are unique among
these containers. Containers of pods (the kubelet's) are listed and can be addressed too,
by id or as ``<container>_<pod>_<namespace>``.

Images are taken from the local store, created (busybox) or pulled when missing, as
``docker run`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AlreadyExists, InvalidArgument, NotFound
from .images.errors import ImageNotFound
from .images.locking import file_lock
from .interface import (
    ContainerConfig,
    ContainerMetadata,
    ContainerState,
    ImageSpec,
    KeyValue,
    LinuxContainerConfig,
    LinuxContainerResources,
    LinuxContainerSecurityContext,
    Mount,
    PodSandboxConfig,
    PodSandboxMetadata,
    PortMapping,
)
from .oci.containers import container_state
from .oci.state import ContainerRecord

if TYPE_CHECKING:
    from .images.image import Image
    from .images.progress import ProgressSink
    from .images.store import ImageStore
    from .oci.runtime import LocalRuntime

NAME_LABEL = "io.pilothouse.name"
STANDALONE_LABEL = "io.pilothouse.standalone"
CPU_PERIOD = 100_000
NAME_WORDS = (
    "amber", "brisk", "calm", "dusty", "eager", "fancy", "gentle", "hazy", "icy", "jolly",
    "keen", "lucid", "merry", "nimble", "olive", "proud", "quiet", "rapid", "sunny", "tidy",
)  # fmt: skip


@dataclass
class RunRequest:
    image: str
    args: list[str] | None = None  # None: the image's CMD
    entrypoint: list[str] | None = None  # None: the image's ENTRYPOINT
    name: str = ""
    env: list[str] = field(default_factory=list)  # KEY=value
    mounts: list[Mount] = field(default_factory=list)
    ports: list[PortMapping] = field(default_factory=list)
    memory: int = 0  # bytes
    cpus: float = 0.0
    pids_limit: int = 0
    user: str = ""  # uid, name, uid:gid or name:gid
    workdir: str = ""
    tty: bool = False
    stdin: bool = False


@dataclass(frozen=True)
class ContainerView:
    """What ``ps`` shows of a container."""

    id: str
    name: str
    image: str
    argv: list[str]
    state: ContainerState
    created_at: int
    started_at: int
    finished_at: int
    exit_code: int
    sandbox_id: str
    standalone: bool
    ports: list[PortMapping]


class StandaloneContainers:
    def __init__(self, runtime: LocalRuntime, images: ImageStore):
        self.runtime = runtime
        self.images = images
        self.names_lock = runtime.ctx.settings.root / "names.lock"

    async def ensure_image(self, reference: str, *, progress: ProgressSink | None = None) -> Image:
        try:
            return self.images.resolve(reference)
        except ImageNotFound:
            pass
        # Imported here, off the start-up of every ``pilothouse run`` whose image is present.
        from .images.busybox import BUSYBOX_TAG, ensure_busybox_image
        from .images.reference import parse_reference

        if str(parse_reference(reference)) == BUSYBOX_TAG:
            return await asyncio.to_thread(ensure_busybox_image, self.images)
        return await self.images.pull(reference, progress=progress)

    async def create(
        self, request: RunRequest, *, exit_command: Callable[[str], list[str]] | None = None
    ) -> str:
        """Creates the container (and its sandbox); returns its id. The image must exist."""
        container_id = secrets.token_hex(32)
        with file_lock(self.names_lock):
            name = request.name or self._new_name()
            if any(view.name == name for view in self.list()):
                raise AlreadyExists(f'the container name "{name}" is already in use')
            sandbox_config = _sandbox_config(container_id, name, request)
            sandbox_id = await self.runtime.run_pod_sandbox(sandbox_config)
            try:
                await self.runtime.create_container(
                    sandbox_id,
                    _container_config(name, request),
                    sandbox_config,
                    exit_command=exit_command(container_id) if exit_command else None,
                    container_id=container_id,
                )
                if request.ports:
                    await self._publish(sandbox_id, container_id, request.ports)
            except BaseException:
                await self.runtime.remove_pod_sandbox(sandbox_id)
                raise
        return container_id

    async def _publish(self, sandbox_id: str, container_id: str, ports: list[PortMapping]) -> None:
        """Starts the port proxy; it lives as long as the container's monitor."""
        from .portproxy import start_port_proxy  # only for published ports

        sandbox = self.runtime.sandboxes.load(sandbox_id)
        monitor = self.runtime.containers.load(container_id).monitor
        assert monitor is not None
        pid = await start_port_proxy(Path(sandbox.netns_path), monitor, ports)
        self.runtime.ctx.conmon.place_monitor(pid)

    def _new_name(self) -> str:
        return f"{secrets.choice(NAME_WORDS)}_{secrets.token_hex(3)}"

    # -- finding and listing -------------------------------------------------------------------

    def list(self) -> list[ContainerView]:
        sandboxes = {s.id: s for s in self.runtime.sandboxes.list()}
        views = []
        for record in self.runtime.containers.list():
            sandbox = sandboxes.get(record.sandbox_id)
            views.append(_view(record, sandbox.config if sandbox else None))
        return sorted(views, key=lambda v: v.created_at, reverse=True)

    def find(self, reference: str) -> ContainerView:
        """By full id, name or unique id prefix, in that order, as Docker resolves them."""
        by_id = self._by_id(reference)
        if by_id is not None:
            return by_id
        views = self.list()
        for view in views:
            if view.name == reference:
                return view
        matches = [v for v in views if v.id.startswith(reference)] if reference else []
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InvalidArgument(f"multiple containers match the id prefix {reference!r}")
        raise NotFound(f"No such container: {reference}")

    def _by_id(self, container_id: str) -> ContainerView | None:
        """The container with this full id, read alone: no listing of the whole root."""
        try:
            record = self.runtime.containers.load(container_id)
        except NotFound:
            return None
        if record.creator is not None:
            return None  # still being made, as list() leaves it out
        try:
            sandbox = self.runtime.sandboxes.load(record.sandbox_id)
        except NotFound:
            return _view(record, None)
        return _view(record, sandbox.config if sandbox.creator is None else None)

    # -- stop and remove -----------------------------------------------------------------------

    async def stop(self, view: ContainerView, timeout: int) -> None:  # noqa: ASYNC109 (grace period)
        await self.runtime.stop_container(view.id, timeout)
        if view.standalone:
            await self.runtime.stop_pod_sandbox(view.sandbox_id)

    async def remove(self, view: ContainerView, *, force: bool) -> None:
        if view.state == ContainerState.RUNNING and not force:
            raise InvalidArgument(
                f"cannot remove running container {view.id[:12]}: stop the container before removing or force remove"
            )
        await self.runtime.remove_container(view.id)
        if view.standalone:
            with contextlib.suppress(NotFound):
                await self.runtime.remove_pod_sandbox(view.sandbox_id)


def _sandbox_config(container_id: str, name: str, request: RunRequest) -> PodSandboxConfig:
    labels = {STANDALONE_LABEL: "true", NAME_LABEL: name}
    return PodSandboxConfig(
        metadata=PodSandboxMetadata(name=name, uid=container_id, namespace="standalone"),
        hostname=container_id[:12],
        port_mappings=list(request.ports),
        labels=labels,
    )


def _container_config(name: str, request: RunRequest) -> ContainerConfig:
    # As Docker: --entrypoint replaces the image's ENTRYPOINT and CMD; arguments replace CMD.
    command = list(request.entrypoint or [])
    if request.entrypoint is not None and not command:
        raise InvalidArgument("the entrypoint is empty")
    args = list(request.args or [])
    resources = LinuxContainerResources(memory_limit_in_bytes=request.memory, pids_limit=request.pids_limit)
    if request.cpus:
        resources.cpu_period = CPU_PERIOD
        resources.cpu_quota = int(request.cpus * CPU_PERIOD)
    return ContainerConfig(
        metadata=ContainerMetadata(name=name),
        image=ImageSpec(image=request.image, user_specified_image=request.image),
        command=command,
        args=args,
        working_dir=request.workdir,
        envs=[KeyValue(*entry.split("=", 1)) if "=" in entry else KeyValue(entry, "") for entry in request.env],
        mounts=list(request.mounts),
        labels={STANDALONE_LABEL: "true", NAME_LABEL: name},
        stdin=request.stdin,
        stdin_once=request.stdin,
        tty=request.tty,
        linux=LinuxContainerConfig(resources=resources, security_context=security_context_for(request.user)),
    )


def security_context_for(user: str) -> LinuxContainerSecurityContext:
    security = LinuxContainerSecurityContext()
    if not user:
        return security
    name, _, group = user.partition(":")
    if name.isdigit():
        security.run_as_user = int(name)
    else:
        security.run_as_username = name
    if group:
        if not group.isdigit():
            raise InvalidArgument(f"group {group!r}: give the group as a number (gid)")
        security.run_as_group = int(group)
    return security


def _view(record: ContainerRecord, sandbox: PodSandboxConfig | None) -> ContainerView:
    labels = record.config.labels
    standalone = labels.get(STANDALONE_LABEL) == "true"
    if NAME_LABEL in labels:
        name = labels[NAME_LABEL]
    elif sandbox is not None:
        name = f"{record.config.metadata.name}_{sandbox.metadata.name}_{sandbox.metadata.namespace}"
    else:
        name = record.config.metadata.name
    return ContainerView(
        id=record.id,
        name=name,
        image=record.image_ref,
        argv=record.argv,
        state=container_state(record),
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        exit_code=record.exit_code,
        sandbox_id=record.sandbox_id,
        standalone=standalone,
        ports=list(sandbox.port_mappings) if sandbox else [],
    )


def parse_volume(text: str) -> Mount:
    """``HOST:CONTAINER[:ro|rw]``; a missing host directory is created, as Docker does."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
        raise InvalidArgument(f"invalid volume {text!r}: expected HOST:CONTAINER[:ro]")
    if len(parts) == 3 and parts[2] not in ("ro", "rw"):
        raise InvalidArgument(f"invalid volume mode {parts[2]!r}: expected ro or rw")
    host = Path(parts[0]).absolute()
    host.mkdir(parents=True, exist_ok=True)
    return Mount(container_path=parts[1], host_path=str(host), readonly=len(parts) == 3 and parts[2] == "ro")


def parse_port(text: str) -> PortMapping:
    """``[IP:]HOST:CONTAINER[/tcp]``: the host address is 127.0.0.1 or another loopback one,
    so that published ports are reachable from this machine only."""
    spec, _, protocol = text.partition("/")
    if protocol not in ("", "tcp"):
        raise InvalidArgument(f"invalid port {text!r}: only tcp is supported")
    parts = spec.rsplit(":", 2)
    if len(parts) == 2:
        parts.insert(0, "127.0.0.1")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise InvalidArgument(f"invalid port {text!r}: expected [IP:]HOST:CONTAINER")
    host_ip, host_port, container_port = parts[0] or "127.0.0.1", int(parts[1]), int(parts[2])
    if not (0 < host_port < 65536 and 0 < container_port < 65536):
        raise InvalidArgument(f"invalid port {text!r}: ports are 1 to 65535")
    try:
        loopback = ipaddress.ip_address(host_ip).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InvalidArgument(f"invalid port {text!r}: ports are published on loopback addresses only")
    return PortMapping(container_port=container_port, host_port=host_port, host_ip=host_ip)
