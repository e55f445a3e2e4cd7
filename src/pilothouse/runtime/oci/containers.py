"""Container lifecycle: create, start, stop, remove, status; exit and OOM detection.

A container is created in three steps that each undo cleanly: its record is written with
``creator`` set (so recovery knows who is making it), its writable overlay snapshot is
prepared over the image's layers, and conmon runs the OCI runtime's ``create`` on a bundle
written from the CRI config. Only then is ``creator`` cleared. ``start`` releases the
process; ``stop`` sends the image's stop signal (SIGTERM by default), then SIGKILL to every
process of the container after the grace period; ``remove`` deletes the OCI container (and
its cgroup), the snapshot and the directory, and is idempotent.

The state is read from disk on every call: a container ended when its monitor wrote the exit
file, which is copied into the record (with the OOMKilled reason) when first seen.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ..images.errors import ImageNotFound
from ..interface import (
    ContainerConfig,
    ContainerFilter,
    ContainerState,
    LinuxContainerResources,
    Mount,
    NamespaceMode,
    matches_labels,
)
from .conmon import REOPEN_LOG_MESSAGE, MonitorOptions, send_control
from .context import RuntimeContext, new_id, now_ns
from .devices import config_devices, host_devices
from .exits import record_exit
from .processes import ProcessRef
from .sandboxfiles import shared_files
from .spec import SandboxNamespaces, container_namespaces, container_spec
from .state import ContainerRecord, SandboxRecord
from .users import resolve_user

if TYPE_CHECKING:
    from ..images.image import Image


class Containers:
    def __init__(self, context: RuntimeContext):
        self.ctx = context

    # -- create ------------------------------------------------------------------------------

    async def create(
        self,
        sandbox: SandboxRecord,
        namespaces: SandboxNamespaces,
        config: ContainerConfig,
        *,
        exit_command: list[str] | None = None,
        container_id: str = "",
    ) -> str:
        image = self._resolve_image(config.image.image)
        container_id = container_id or new_id()
        record = ContainerRecord(
            id=container_id,
            sandbox_id=sandbox.id,
            config=config,
            image_ref=config.image.image,
            image_id=image.id,
            repo_digest=(image.repo_digests or [image.id])[0],
            log_path=str(self._log_path(container_id, sandbox, config)),
            cgroup_path=f"{sandbox.cgroup_path}/{container_id}",
            snapshot_key=container_id,
            stop_signal=stop_signal(image.config.get("StopSignal")),
            created_at=now_ns(),
            resources=config.linux.resources,
            creator=ProcessRef.current(),
        )
        with self.ctx.state.lock():
            self._check_name_is_free(sandbox.id, config)
            if self.ctx.state.container_files(container_id).directory.exists():
                raise AlreadyExists(f"container id {container_id} is taken")
            self.ctx.state.save_container(record)
        try:
            await self._make(record, sandbox, namespaces, image, exit_command or [])
        except BaseException:
            await self.destroy(record)
            raise
        record.creator = None
        self.ctx.state.save_container(record)
        return container_id

    async def _make(
        self,
        record: ContainerRecord,
        sandbox: SandboxRecord,
        namespaces: SandboxNamespaces,
        image: Image,
        exit_command: list[str],
    ) -> None:
        config = record.config
        security = config.linux.security_context
        rootfs = await asyncio.to_thread(self.ctx.snapshots.prepare, record.snapshot_key, image)
        target_pid = ""
        if security.namespace_options.pid == NamespaceMode.TARGET:
            target_pid = self._target_pid_namespace(security.namespace_options.target_id)
        spec = container_spec(
            _with_resolved_mounts(config),
            image_config=image.config,
            rootfs=rootfs,
            user=resolve_user(rootfs, image.config.get("User") or "", security),
            hostname=sandbox.config.hostname,
            namespaces=container_namespaces(
                security.namespace_options,
                namespaces,
                target_pid=target_pid,
                cgroup_namespace=self.ctx.cgroups.layout.is_v2,
            ),
            sandbox_files=shared_files(self.ctx.state.sandbox_dir(sandbox.id), sandbox.config),
            cgroups_path=record.cgroup_path,
            devices=config_devices(config.devices) + (host_devices() if security.privileged else []),
            min_oom_score_adj=self.ctx.min_oom_score_adj,
        )
        record.argv = spec["process"]["args"]
        files = self.ctx.state.container_files(record.id)
        files.write_config(spec)
        Path(record.log_path).parent.mkdir(parents=True, exist_ok=True)
        options = MonitorOptions(
            log_path=Path(record.log_path),
            tty=config.tty,
            stdin=config.stdin,
            stdin_once=config.stdin_once,
            log_size_max=self.ctx.settings.log_size_max,
            exit_command=exit_command,
        )
        launched = await self.ctx.conmon.launch(record.id, files, options)
        record.process, record.monitor = launched.process, launched.monitor

    def _resolve_image(self, reference: str) -> Image:
        try:
            return self.ctx.images.resolve(reference)
        except ImageNotFound as error:
            raise NotFound(str(error)) from None

    def _check_name_is_free(self, sandbox_id: str, config: ContainerConfig) -> None:
        for other in self.ctx.state.list_containers():
            if (
                other.sandbox_id == sandbox_id
                and other.config.metadata.name == config.metadata.name
                and other.config.metadata.attempt == config.metadata.attempt
            ):
                raise AlreadyExists(
                    f"container {config.metadata.name!r} attempt {config.metadata.attempt} "
                    f"already exists in sandbox {sandbox_id} as {other.id}"
                )

    def _log_path(self, container_id: str, sandbox: SandboxRecord, config: ContainerConfig) -> Path:
        if sandbox.config.log_directory and config.log_path:
            return Path(sandbox.config.log_directory) / config.log_path
        return self.ctx.state.container_files(container_id).directory / "container.log"

    def _target_pid_namespace(self, target_id: str) -> str:
        target = self.load(target_id)
        if target.process is None or not target.process.alive():
            return ""
        return f"/proc/{target.process.pid}/ns/pid"

    # -- start, stop, remove -----------------------------------------------------------------

    async def start(self, container_id: str) -> None:
        record = self.load(container_id)
        state = container_state(record)
        if state != ContainerState.CREATED:
            raise FailedPrecondition(f"container {container_id} is {state.name.lower()}, not created")
        started_at = now_ns()  # before: a quick process can end before crun start returns
        await self.ctx.oci.start(container_id)
        record.started_at = started_at
        self.ctx.state.save_container(record)

    async def stop(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 (the CRI's grace period)
        record = self.load(container_id)
        if record.finished_at or record.monitor is None:
            return
        if timeout > 0 and record.started_at:
            await self.ctx.oci.kill(container_id, record.stop_signal)
            try:
                async with asyncio.timeout(timeout):
                    await record.monitor.wait()
                return
            except TimeoutError:
                pass
        await self.ctx.oci.kill(container_id, signal.SIGKILL, all_processes=True)
        await record.monitor.wait()

    async def remove(self, container_id: str) -> None:
        try:
            record = self.ctx.state.load_container(container_id)
        except NotFound:
            return
        if container_state(self.refreshed(record)) in (ContainerState.RUNNING, ContainerState.CREATED):
            await self.stop(container_id, 0)
        await self.destroy(record)

    async def destroy(self, record: ContainerRecord) -> None:
        """Removes whatever exists of the container; safe on a half-made one."""
        await self.ctx.oci.delete(record.id)
        await asyncio.to_thread(self.ctx.cgroups.remove, record.cgroup_path)
        await asyncio.to_thread(self.ctx.snapshots.remove, record.snapshot_key)
        self.ctx.state.delete_container(record.id)

    async def wait(self, container_id: str) -> int:
        """Waits for the container to end; returns its exit code."""
        record = self.load(container_id)
        if not record.finished_at and record.monitor is not None:
            await record.monitor.wait()
            record = self.load(container_id)
        return record.exit_code

    # -- state -------------------------------------------------------------------------------

    def load(self, container_id: str) -> ContainerRecord:
        return self.refreshed(self.ctx.state.load_container(container_id))

    def refreshed(self, record: ContainerRecord) -> ContainerRecord:
        """The record, with its exit copied in if the container has ended since."""
        if record.monitor is not None and record_exit(
            record,
            self.ctx.state.container_files(record.id),
            oom_kills=lambda: self.ctx.cgroups.oom_kills(record.cgroup_path),
        ):
            self.ctx.state.save_container(record)
        return record

    def list(self, filter: ContainerFilter | None = None) -> list[ContainerRecord]:
        filter = filter or ContainerFilter()
        records = []
        for record in self.ctx.state.list_containers():
            if record.creator is not None:
                continue  # still being made
            if filter.id and not record.id.startswith(filter.id):
                continue
            if filter.pod_sandbox_id and record.sandbox_id != filter.pod_sandbox_id:
                continue
            if not matches_labels(record.config.labels, filter.label_selector):
                continue
            record = self.refreshed(record)
            if filter.state is not None and container_state(record) != filter.state:
                continue
            records.append(record)
        return records

    def running(self, container_id: str) -> ContainerRecord:
        record = self.load(container_id)
        if container_state(record) != ContainerState.RUNNING:
            raise FailedPrecondition(f"container {container_id} is not running")
        return record

    # -- changes while running ---------------------------------------------------------------

    async def update(self, container_id: str, resources: LinuxContainerResources) -> None:
        record = self.running(container_id)
        await self.ctx.oci.update(container_id, resources)
        record.resources = resources
        self.ctx.state.save_container(record)

    def reopen_log(self, container_id: str) -> None:
        self.running(container_id)
        send_control(self.ctx.state.container_files(container_id), REOPEN_LOG_MESSAGE)


def container_state(record: ContainerRecord) -> ContainerState:
    if record.finished_at:
        return ContainerState.EXITED
    if record.started_at:
        return ContainerState.RUNNING
    return ContainerState.CREATED


def stop_signal(name: str | None) -> int:
    """The image's STOPSIGNAL (``SIGQUIT``, ``QUIT`` or ``3``), SIGTERM if unset."""
    if not name:
        return signal.SIGTERM
    text = name.strip().upper()
    if text.isdigit():
        return int(text)
    try:
        return signal.Signals[text if text.startswith("SIG") else f"SIG{text}"]
    except KeyError:
        raise InvalidArgument(f"invalid stop signal {name!r}") from None


def _with_resolved_mounts(config: ContainerConfig) -> ContainerConfig:
    """The config with each host path resolved (symbolic links followed) and checked."""
    mounts = []
    for mount in config.mounts:
        host_path = os.path.realpath(mount.host_path)
        if not os.path.exists(host_path):
            raise InvalidArgument(f"host path {mount.host_path!r} of mount {mount.container_path!r} does not exist")
        mounts.append(Mount(mount.container_path, host_path, mount.readonly, mount.propagation))
    return replace(config, mounts=mounts)
