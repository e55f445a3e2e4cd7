"""Pod sandboxes: the namespaces, files and cgroup a pod's containers share.

``run`` makes, in order (each undone if a later step fails): the record, the sandbox's files
(hostname, hosts, resolv.conf, a /dev/shm tmpfs), the pod's network, IPC and UTS namespaces
pinned to files (each unless the pod uses the host's; the network one with loopback up, the
UTS one with the hostname), the pod cgroup (with pod-level limits), and, only when the pod
shares one PID namespace, an infra process (``catatonit -P``, under its own monitor) to be
its PID 1; then the pod network plugs into the network namespace.

Pinning namespaces instead of keeping them in an infra process (CRI-O's ``drop_infra_ctr``)
saves a monitor and an OCI runtime call per pod, and the namespaces cannot die with a
process. A sandbox is READY while it is not stopped, its namespaces are pinned and its infra
process (if any) runs.

``stop`` kills the containers and the infra process, unplugs the network and unpins the
namespaces; ``remove`` also removes the containers, the pod cgroup (bottom-up), the /dev/shm
mount and the directory. Both are idempotent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

from ..errors import FailedPrecondition, InvalidArgument, NotFound
from ..interface import (
    NamespaceMode,
    NamespaceOption,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxState,
    matches_labels,
)
from . import namespaces
from .conmon import MonitorOptions
from .containers import Containers
from .context import RuntimeContext, new_id, now_ns
from .processes import ProcessRef
from .sandboxfiles import release_sandbox_files, write_sandbox_files
from .spec import SandboxNamespaces, infra_namespaces, infra_spec
from .state import SandboxRecord
from .users import ProcessUser

PIN_FILES = {"net": "netns", "ipc": "ipcns", "uts": "utsns"}
INFRA_OOM_SCORE_ADJ = -998  # containerd's, so that the OOM killer picks the pod's work first
INFRA_ROOTFS = "infra-rootfs"
INFRA_PATH = "/pause"
RUNTIME_HANDLERS = ("", "runc", "crun")


class Sandboxes:
    def __init__(self, context: RuntimeContext, containers: Containers):
        self.ctx = context
        self.containers = containers

    async def run(self, config: PodSandboxConfig, runtime_handler: str = "") -> str:
        if runtime_handler not in RUNTIME_HANDLERS:
            raise InvalidArgument(f"unknown runtime handler {runtime_handler!r}")
        sandbox_id = new_id()
        record = SandboxRecord(
            id=sandbox_id,
            config=config,
            created_at=now_ns(),
            cgroup_path=self.ctx.pod_cgroup(config.linux.cgroup_parent or f"pod-{sandbox_id}"),
            runtime_handler=runtime_handler,
            creator=ProcessRef.current(),
        )
        with self.ctx.state.lock():
            self.ctx.state.save_sandbox(record)
        try:
            await self._make(record)
        except BaseException:
            await self.destroy(record)
            raise
        record.creator = None
        self.ctx.state.save_sandbox(record)
        return sandbox_id

    async def _make(self, record: SandboxRecord) -> None:
        config = record.config
        options = config.linux.security_context.namespace_options
        directory = self.ctx.state.sandbox_dir(record.id)
        write_sandbox_files(directory, config)
        record.pinned = {kind: str(directory / PIN_FILES[kind]) for kind in _own_namespaces(options)}
        self.ctx.state.save_sandbox(record)
        pins = {kind: Path(path) for kind, path in record.pinned.items()}
        await asyncio.to_thread(namespaces.pin, pins, hostname=config.hostname)
        await asyncio.to_thread(self.ctx.cgroups.create, record.cgroup_path, config.linux.resources)
        if options.pid == NamespaceMode.POD:
            await self._start_infra(record)
        if self.ctx.network is not None and record.netns_path:
            record.network = await self.ctx.network.setup(record.id, Path(record.netns_path), config)

    async def _start_infra(self, record: SandboxRecord) -> None:
        config = record.config
        security = config.linux.security_context
        files = self.ctx.state.infra_files(record.id)
        files.write_config(
            infra_spec(
                rootfs=self._infra_rootfs(),
                args=[INFRA_PATH, "-P"],
                hostname=config.hostname,
                namespaces=infra_namespaces(security.namespace_options, _pinned(record)),
                cgroups_path=f"{record.cgroup_path}/{record.id}",
                sysctls=config.linux.sysctls,
                user=ProcessUser(uid=security.run_as_user or 0, gid=security.run_as_group or 0),
                oom_score_adj=max(INFRA_OOM_SCORE_ADJ, self.ctx.min_oom_score_adj),
            )
        )
        launched = await self.ctx.conmon.launch(record.id, files, MonitorOptions(log_path=None))
        record.infra, record.monitor = launched.process, launched.monitor
        self.ctx.state.save_sandbox(record)
        await self.ctx.oci.start(record.id)

    def _infra_rootfs(self) -> Path:
        """A read-only root holding only the infra binary, shared by every sandbox."""
        rootfs = self.ctx.settings.root / INFRA_ROOTFS
        binary = shutil.which(self.ctx.settings.infra_binary)
        if binary is None:
            raise FailedPrecondition(f"{self.ctx.settings.infra_binary} not found: install catatonit")
        target = rootfs / INFRA_PATH.lstrip("/")
        if not target.exists() or target.stat().st_size != Path(binary).stat().st_size:
            for name in ("proc", "dev"):
                (rootfs / name).mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".pause.{os.getpid()}")
            shutil.copy2(binary, temp)
            temp.rename(target)
        return rootfs

    # -- stop and remove ---------------------------------------------------------------------

    async def stop(self, sandbox_id: str) -> None:
        record = self.ctx.state.load_sandbox(sandbox_id)
        for container in self.containers.list():
            if container.sandbox_id == sandbox_id:
                await self.containers.stop(container.id, 0)
        await self._stop_infra(record)
        if not record.stopped:
            await self._release_namespaces(record)
            record.stopped = True
            self.ctx.state.save_sandbox(record)

    async def _stop_infra(self, record: SandboxRecord) -> None:
        if record.monitor is not None and record.monitor.alive():
            await self.ctx.oci.kill(record.id, signal.SIGKILL, all_processes=True)
            await record.monitor.wait()

    async def _release_namespaces(self, record: SandboxRecord) -> None:
        if self.ctx.network is not None and record.netns_path:
            await self.ctx.network.teardown(record.id, Path(record.netns_path), record.config)
        for path in record.pinned.values():
            await asyncio.to_thread(namespaces.unpin, Path(path))

    async def remove(self, sandbox_id: str) -> None:
        try:
            record = self.ctx.state.load_sandbox(sandbox_id)
        except NotFound:
            return
        await self.stop(sandbox_id)
        for container in self.ctx.state.list_containers():
            if container.sandbox_id == sandbox_id:
                await self.containers.remove(container.id)
        await self.destroy(record)

    async def destroy(self, record: SandboxRecord) -> None:
        """Removes whatever exists of the sandbox; safe on a half-made one."""
        await self._stop_infra(record)
        if not record.stopped:
            await self._release_namespaces(record)
        if record.infra is not None:
            await self.ctx.oci.delete(record.id)
        await asyncio.to_thread(self.ctx.cgroups.remove, record.cgroup_path)
        await asyncio.to_thread(release_directory, self.ctx.state.sandbox_dir(record.id))
        self.ctx.state.delete_sandbox(record.id)

    # -- state -------------------------------------------------------------------------------

    def load(self, sandbox_id: str) -> SandboxRecord:
        return self.ctx.state.load_sandbox(sandbox_id)

    def list(self, filter: PodSandboxFilter | None = None) -> list[SandboxRecord]:
        filter = filter or PodSandboxFilter()
        records = []
        for record in self.ctx.state.list_sandboxes():
            if record.creator is not None:
                continue
            if filter.id and not record.id.startswith(filter.id):
                continue
            if filter.state is not None and sandbox_state(record) != filter.state:
                continue
            if matches_labels(record.config.labels, filter.label_selector):
                records.append(record)
        return records

    def namespaces(self, record: SandboxRecord) -> SandboxNamespaces:
        """The paths by which a container joins the sandbox's namespaces."""
        if sandbox_state(record) != PodSandboxState.READY:
            raise FailedPrecondition(f"pod sandbox {record.id} is not ready")
        return _pinned(record)


def sandbox_state(record: SandboxRecord) -> PodSandboxState:
    if record.stopped or not all(namespaces.is_pinned(Path(p)) for p in record.pinned.values()):
        return PodSandboxState.NOTREADY
    if record.infra is not None and not record.infra.alive():
        return PodSandboxState.NOTREADY
    return PodSandboxState.READY


def release_directory(directory: Path) -> None:
    """Unmounts what a sandbox mounted in its directory (the caller deletes the files)."""
    release_sandbox_files(directory)
    for name in PIN_FILES.values():
        namespaces.unpin(directory / name)


def _own_namespaces(options: NamespaceOption) -> list[str]:
    """The namespaces a sandbox makes: those it does not take from the host."""
    kinds = []
    if options.network != NamespaceMode.NODE:
        kinds += ["net", "uts"]
    if options.ipc != NamespaceMode.NODE:
        kinds.append("ipc")
    return kinds


def _pinned(record: SandboxRecord) -> SandboxNamespaces:
    return SandboxNamespaces(
        network=record.pinned.get("net", ""),
        ipc=record.pinned.get("ipc", ""),
        uts=record.pinned.get("uts", ""),
        pid=f"/proc/{record.infra.pid}/ns/pid" if record.infra is not None else "",
    )
