"""Cleaning up after a crash: what a runtime process finds when it opens its root again.

Running containers need nothing: their monitors kept them going, and their state is read
from disk. What needs cleaning is what a crash left half-made or orphaned:

- sandboxes and containers whose creator died before finishing (their record still names
  the creator), with everything already made for them;
- containers whose monitor died while they kept running: they are killed (nothing would
  collect their output or exit code) and reported as exited with an unknown exit code;
- directories without a record, OCI runtime state without a sandbox or container, overlay
  snapshots without a container, and cgroups under the pilothouse parent that belong to no
  sandbox or container (their processes are killed).

Records still being made by a live process are left alone, so several processes can share
a root while one of them recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path

from ..interface import ContainerState
from .containers import Containers, container_state
from .context import MONITOR_CGROUP, RuntimeContext
from .sandboxes import Sandboxes, release_directory
from .state import ContainerRecord


@dataclass
class RecoveryReport:
    removed_sandboxes: list[str] = field(default_factory=list)
    removed_containers: list[str] = field(default_factory=list)
    killed_orphans: list[str] = field(default_factory=list)
    removed_leftovers: list[str] = field(default_factory=list)  # paths, OCI ids, cgroups


async def recover(context: RuntimeContext, sandboxes: Sandboxes, containers: Containers) -> RecoveryReport:
    report = RecoveryReport()
    await _half_made(context, sandboxes, containers, report)
    await _orphans(context, containers, report)
    await _stray_directories(context, report)
    await _stray_oci_state(context, report)
    await _stray_snapshots(context, report)
    await asyncio.to_thread(_stray_cgroups, context, report)
    return report


async def _half_made(
    context: RuntimeContext, sandboxes: Sandboxes, containers: Containers, report: RecoveryReport
) -> None:
    for record in context.state.list_containers():
        if record.creator is not None and not record.creator.alive():
            await containers.destroy(record)
            report.removed_containers.append(record.id)
    for sandbox in context.state.list_sandboxes():
        if sandbox.creator is not None and not sandbox.creator.alive():
            await sandboxes.destroy(sandbox)
            report.removed_sandboxes.append(sandbox.id)


async def _orphans(context: RuntimeContext, containers: Containers, report: RecoveryReport) -> None:
    for record in context.state.list_containers():
        if record.creator is not None:
            continue
        record = containers.refreshed(record)
        if _runs_unmonitored(record):
            await context.oci.kill(record.id, signal.SIGKILL, all_processes=True)
            report.killed_orphans.append(record.id)


def _runs_unmonitored(record: ContainerRecord) -> bool:
    monitor_gone = record.monitor is None or not record.monitor.alive()
    process_alive = record.process is not None and record.process.alive()
    return monitor_gone and process_alive and container_state(record) == ContainerState.EXITED


async def _stray_directories(context: RuntimeContext, report: RecoveryReport) -> None:
    for entry in os.scandir(context.state.containers):
        if not (Path(entry.path) / "container.json").exists():
            shutil.rmtree(entry.path, ignore_errors=True)
            report.removed_leftovers.append(entry.path)
    for entry in os.scandir(context.state.sandboxes):
        directory = Path(entry.path)
        if not (directory / "sandbox.json").exists():
            await asyncio.to_thread(release_directory, directory)
            shutil.rmtree(directory, ignore_errors=True)
            report.removed_leftovers.append(entry.path)


async def _stray_oci_state(context: RuntimeContext, report: RecoveryReport) -> None:
    known = _known_ids(context)
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(context.oci.state_root):
            if entry.is_dir() and entry.name not in known:
                await context.oci.delete(entry.name)
                report.removed_leftovers.append(f"{context.oci.name}:{entry.name}")


async def _stray_snapshots(context: RuntimeContext, report: RecoveryReport) -> None:
    snapshot_keys = {record.snapshot_key for record in context.state.list_containers()}
    for key in context.snapshots.list():
        if key not in snapshot_keys:
            await asyncio.to_thread(context.snapshots.remove, key)
            report.removed_leftovers.append(f"snapshot:{key}")


def _stray_cgroups(context: RuntimeContext, report: RecoveryReport) -> None:
    parent = context.settings.cgroup_parent.rstrip("/")
    sandboxes = context.state.list_sandboxes()
    in_use = {MONITOR_CGROUP} | {s.cgroup_path[len(parent) + 1 :].split("/")[0] for s in sandboxes}
    for name in context.cgroups.children(parent):
        if name not in in_use:
            context.cgroups.remove(f"{parent}/{name}")
            report.removed_leftovers.append(f"cgroup:{parent}/{name}")
    known = _known_ids(context)
    for sandbox in sandboxes:
        for name in context.cgroups.children(sandbox.cgroup_path):
            if name not in known:
                context.cgroups.remove(f"{sandbox.cgroup_path}/{name}")
                report.removed_leftovers.append(f"cgroup:{sandbox.cgroup_path}/{name}")


def _known_ids(context: RuntimeContext) -> set[str]:
    ids = {record.id for record in context.state.list_containers()}
    return ids | {record.id for record in context.state.list_sandboxes()}
