"""Removing what a pod no longer needs from the runtime (upstream's container GC, per pod).

- Of the exited containers of each container name, only the newest is kept (for
  ``lastState`` and ``kubectl logs --previous``); older ones go with their log files.
- Sandboxes that were replaced (not the newest, not ready) go once no container uses them.
- When a pod gets a new sandbox its init containers are purged, so initialization reruns.
- :meth:`ContainerGC.remove_pod` removes everything of a pod: sandboxes, containers, logs.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from pilothouse.runtime.errors import NotFound
from pilothouse.runtime.interface import ContainerState, RuntimeService

from . import podutil
from .podstate import PodRuntimeStatus, RuntimeContainer, SandboxState
from .runtimeindex import RuntimeIndex

Obj = dict[str, Any]
DEAD_TO_KEEP = 1


def dead_containers_to_remove(status: PodRuntimeStatus) -> list[RuntimeContainer]:
    """Exited containers beyond the newest one of each name."""
    seen: dict[str, int] = {}
    removable = []
    for container in status.containers:  # newest first
        if container.state != ContainerState.EXITED:
            continue
        seen[container.name] = seen.get(container.name, 0) + 1
        if seen[container.name] > DEAD_TO_KEEP:
            removable.append(container)
    return removable


def sandboxes_to_remove(status: PodRuntimeStatus, remaining: list[RuntimeContainer]) -> list[SandboxState]:
    used = {c.sandbox_id for c in remaining}
    return [s for s in status.sandboxes[1:] if not s.ready and s.id not in used]


class ContainerGC:
    def __init__(self, runtime: RuntimeService, *, index: RuntimeIndex):
        self.runtime = runtime
        self.index = index

    async def prune(self, status: PodRuntimeStatus) -> None:
        removed = dead_containers_to_remove(status)
        for container in removed:
            await self.remove_container(status.uid, container)
        gone = {c.id for c in removed}
        remaining = [c for c in status.containers if c.id not in gone]
        for sandbox in sandboxes_to_remove(status, remaining):
            await self._remove_sandbox(status.uid, sandbox.id)

    async def purge_init_containers(self, pod: Obj, status: PodRuntimeStatus) -> None:
        names = {c["name"] for c in podutil.init_containers(pod)}
        for container in status.containers:
            if container.name in names:
                await self.remove_container(status.uid, container)

    async def prune_init_containers(self, pod: Obj, status: PodRuntimeStatus) -> None:
        """Keeps only the newest exited run of each init container."""
        names = {c["name"] for c in podutil.init_containers(pod)}
        seen: set[str] = set()
        for container in status.containers:
            if container.name not in names or container.state not in (ContainerState.EXITED, ContainerState.UNKNOWN):
                continue
            if container.name in seen:
                await self.remove_container(status.uid, container)
            seen.add(container.name)

    async def remove_container(self, uid: str, container: RuntimeContainer) -> None:
        try:
            await self.runtime.remove_container(container.id)
        except NotFound:
            pass
        self.index.discard(uid, container.id)
        if container.log_path:
            await asyncio.to_thread(_unlink, Path(container.log_path))

    async def remove_pod(self, uid: str, log_directory: Path) -> None:
        """Removes every sandbox (with its containers) and container of the pod, and its logs."""
        for sandbox_id in self.index.sandboxes(uid):
            await self._remove_sandbox(uid, sandbox_id)
        for container_id in self.index.containers(uid):
            try:
                await self.runtime.remove_container(container_id)
            except NotFound:
                pass
        self.index.forget(uid)
        await asyncio.to_thread(shutil.rmtree, log_directory, True)

    async def _remove_sandbox(self, uid: str, sandbox_id: str) -> None:
        try:
            await self.runtime.stop_pod_sandbox(sandbox_id)
            await self.runtime.remove_pod_sandbox(sandbox_id)
        except NotFound:
            pass
        self.index.discard(uid, sandbox_id)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
