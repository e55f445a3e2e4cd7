"""Size-based rotation of container logs, as the kubelet's container log manager does it.

When a running container's log reaches ``max_size`` bytes, it is renamed to
``<log>.<UTC time>`` and the runtime is asked to reopen the log at its usual path, so the
monitor continues in a new file; rotated files beyond ``max_files - 1`` are deleted, oldest
first. Works with any :class:`RuntimeService` (the kubelet runs :meth:`run` in the
background; tests call :meth:`rotate_once`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from .errors import ContainerRuntimeError
from .interface import ContainerFilter, ContainerState, RuntimeService

log = logging.getLogger(__name__)
TIME_FORMAT = "%Y%m%d-%H%M%S.%f"


class ContainerLogManager:
    def __init__(self, runtime: RuntimeService, *, max_size: int = 10 << 20, max_files: int = 5):
        if max_files < 2:
            raise ValueError("max_files must be at least 2 (the live log and one rotated file)")
        self.runtime = runtime
        self.max_size = max_size
        self.max_files = max_files

    async def run(self, interval: float = 10.0) -> None:
        while True:
            try:
                await self.rotate_once()
            except ContainerRuntimeError as error:
                log.warning("log rotation failed: %s", error)
            await asyncio.sleep(interval)

    async def rotate_once(self) -> list[str]:
        """Rotates every running container's log that is too big; returns their ids."""
        rotated = []
        for container in await self.runtime.list_containers(ContainerFilter(state=ContainerState.RUNNING)):
            status = await self.runtime.container_status(container.id)
            if status.log_path and _size(Path(status.log_path)) >= self.max_size:
                await self._rotate(container.id, Path(status.log_path))
                rotated.append(container.id)
        return rotated

    async def _rotate(self, container_id: str, path: Path) -> None:
        target = path.with_name(f"{path.name}.{datetime.now(UTC).strftime(TIME_FORMAT)}")
        os.rename(path, target)
        try:
            await self.runtime.reopen_container_log(container_id)
        except ContainerRuntimeError:
            os.rename(target, path)  # keep writing where readers look
            raise
        for old in rotated_logs(path)[: -(self.max_files - 1)]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


def rotated_logs(path: Path) -> list[Path]:
    """The rotated files of log ``path``, oldest first."""
    prefix = f"{path.name}."
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(prefix) and not p.name.endswith(".tmp"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
