"""Lifecycle of real sandboxes and containers: states, stop grace period, recovery, cleanup."""

# ruff: noqa: ASYNC240 (tests read small files on the event loop; nothing else runs on it)

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from conftest import open_runtime
from runtime_helpers import container, logged, pod, start

from pilothouse.runtime.errors import AlreadyExists, CommandNotFound, NotFound
from pilothouse.runtime.images.store import ImageStore
from pilothouse.runtime.interface import (
    ContainerFilter,
    ContainerMetadata,
    ContainerState,
    PodSandboxFilter,
    PodSandboxState,
)
from pilothouse.runtime.oci.processes import ProcessRef
from pilothouse.runtime.oci.runtime import LocalRuntime


async def test_a_container_goes_from_created_to_running_to_exited(runtime: LocalRuntime) -> None:
    sandbox = pod()
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    container_id = await runtime.create_container(sandbox_id, container("sh", "-c", "echo out; exit 3"), sandbox)
    created = await runtime.container_status(container_id)

    await runtime.start_container(container_id)
    exit_code = await runtime.wait_container(container_id)
    exited = await runtime.container_status(container_id)

    assert created.state == ContainerState.CREATED and created.started_at == 0
    assert exit_code == 3
    assert (exited.state, exited.exit_code, exited.reason) == (ContainerState.EXITED, 3, "Error")
    assert created.created_at <= exited.started_at <= exited.finished_at
    assert await logged(runtime, container_id) == "out\n"
    assert [c.id for c in await runtime.list_containers(ContainerFilter(state=ContainerState.EXITED))] == [container_id]
    assert (await runtime.pod_sandbox_status(sandbox_id)).state == PodSandboxState.READY


@pytest.mark.parametrize("oci_runtime", ["crun", "runc"])
async def test_both_oci_runtimes_run_exec_and_stop_containers(
    oci_runtime: str, tmp_path: Path, image_store: ImageStore, cgroup_parent: str
) -> None:
    local = open_runtime(tmp_path / oci_runtime, image_store, cgroup_parent, oci_runtime=oci_runtime)
    try:
        _, container_id = await start(local, container("sleep", "300"))
        session = await local.exec(container_id, ["sh"], tty=True, stdin=True, terminal_size=(40, 9))
        await session.resize(width=41, height=10)
        # A resize reaches the container's terminal asynchronously (runc relays it).
        await session.write_stdin(b'until [ "$(stty size)" = "10 41" ]; do sleep 0.01; done; exit 3\n')
        assert session.stdout is not None
        await session.stdout.read()
        code = await session.wait()
        await local.stop_container(container_id, 0)

        assert local.ctx.oci.name == oci_runtime
        assert code == 3
        assert (await local.container_status(container_id)).exit_code == 137
    finally:
        await local.remove_all()


async def test_stop_sends_the_stop_signal_and_waits_for_the_grace_period(runtime: LocalRuntime) -> None:
    script = "trap 'echo terminated; exit 7' TERM; while true; do sleep 0.05; done"
    _, container_id = await start(runtime, container("sh", "-c", script))
    await _until_logged(runtime, container_id, "")  # the trap is set once sh runs the loop

    await runtime.stop_container(container_id, 30)
    status = await runtime.container_status(container_id)

    assert (status.exit_code, status.reason) == (7, "Error")
    assert "terminated" in await logged(runtime, container_id)


async def test_stop_kills_a_container_that_ignores_its_stop_signal(runtime: LocalRuntime) -> None:
    # busybox sh as PID 1 has no handler for SIGTERM, so the kernel ignores it.
    _, container_id = await start(runtime, container("sh", "-c", "while true; do sleep 0.05; done"))

    await runtime.stop_container(container_id, 1)
    status = await runtime.container_status(container_id)

    assert (status.state, status.exit_code) == (ContainerState.EXITED, 137)
    await runtime.stop_container(container_id, 1)  # idempotent


async def test_bad_configurations_are_refused_and_leave_nothing(runtime: LocalRuntime) -> None:
    sandbox = pod()
    sandbox_id = await runtime.run_pod_sandbox(sandbox)

    with pytest.raises(CommandNotFound):
        await runtime.create_container(sandbox_id, container("no-such-command"), sandbox)
    with pytest.raises(NotFound):
        await runtime.create_container(sandbox_id, container("true", image="no-such-image"), sandbox)
    await runtime.create_container(sandbox_id, container("true", name="twice"), sandbox)
    with pytest.raises(AlreadyExists):
        await runtime.create_container(sandbox_id, container("true", name="twice"), sandbox)

    assert [c.metadata for c in await runtime.list_containers()] == [ContainerMetadata(name="twice")]
    assert runtime.ctx.snapshots.list() == [c.id for c in await runtime.list_containers()]


async def test_stopping_and_removing_a_sandbox_removes_its_containers(runtime: LocalRuntime) -> None:
    sandbox_id, container_id = await start(runtime, container("sleep", "300"))
    netns_path = Path((await runtime.pod_sandbox_status(sandbox_id)).network_namespace_path)
    pid = (await runtime.container_status(container_id)).pid

    await runtime.stop_pod_sandbox(sandbox_id)
    stopped = await runtime.pod_sandbox_status(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)  # idempotent

    assert stopped.state == PodSandboxState.NOTREADY
    assert not netns_path.exists()
    assert not Path(f"/proc/{pid}").exists()
    assert await runtime.list_pod_sandbox() == [] and await runtime.list_containers() == []
    with pytest.raises(NotFound):
        await runtime.container_status(container_id)


async def test_a_new_runtime_finds_running_containers_and_their_later_exit(
    runtime: LocalRuntime, image_store: ImageStore
) -> None:
    sandbox_id, container_id = await start(runtime, container("sh", "-c", "read line; exit 5", stdin=True))
    session = await runtime.attach(container_id, stdin=True)

    restarted = open_runtime(runtime.ctx.settings.root, image_store, runtime.ctx.settings.cgroup_parent)
    await restarted.recover()
    found = await restarted.list_containers(ContainerFilter(state=ContainerState.RUNNING))
    await session.write_stdin(b"go\n")
    exit_code = await restarted.wait_container(container_id)

    assert [c.id for c in found] == [container_id]
    assert [s.id for s in await restarted.list_pod_sandbox(PodSandboxFilter(state=PodSandboxState.READY))] == [sandbox_id]
    assert exit_code == 5 and (await restarted.container_status(container_id)).reason == "Error"
    await session.close()


async def test_recovery_cleans_up_after_a_crash(runtime: LocalRuntime) -> None:
    _, orphan = await start(runtime, container("sleep", "300", name="orphan"))
    sandbox = pod()
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    half_made = await runtime.create_container(sandbox_id, container("sleep", "300", name="half"), sandbox)
    record = runtime.containers.load(half_made)
    # As if its creator had crashed: a process with a live pid but another start time.
    record.creator = ProcessRef(pid=os.getpid(), start_time=0)
    runtime.ctx.state.save_container(record)
    monitor = runtime.containers.load(orphan).monitor
    assert monitor is not None
    os.kill(monitor.pid, signal.SIGKILL)  # its monitor dies; the container runs on
    await monitor.wait()
    orphan_pid = runtime.containers.load(orphan).process

    report = await runtime.recover()
    status = await runtime.container_status(orphan)

    assert report.removed_containers == [half_made]
    assert report.killed_orphans == [orphan]
    assert (status.state, status.exit_code, status.reason) == (ContainerState.EXITED, 255, "Unknown")
    assert orphan_pid is not None and not orphan_pid.alive()
    assert half_made not in runtime.ctx.snapshots.list()


async def _until_logged(runtime: LocalRuntime, container_id: str, text: str) -> None:
    """Waits (bounded) until the container has run long enough to have logged ``text``."""
    for _ in range(400):
        state = await runtime.container_status(container_id)
        if state.state == ContainerState.RUNNING and text in await logged(runtime, container_id):
            await runtime.exec_sync(container_id, ["true"], timeout=10)
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the container never logged {text!r}")
