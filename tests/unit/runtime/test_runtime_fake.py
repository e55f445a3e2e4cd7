"""FakeRuntime follows the runtime's rules and records calls; log rotation on top of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilothouse.runtime.errors import AlreadyExists, FailedPrecondition, NotFound
from pilothouse.runtime.fake import FakeRuntime
from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerFilter,
    ContainerMetadata,
    ContainerState,
    ExecSyncResponse,
    ImageSpec,
    PodSandboxConfig,
    PodSandboxMetadata,
    PodSandboxState,
)
from pilothouse.runtime.logrotation import ContainerLogManager, rotated_logs

SANDBOX = PodSandboxConfig(metadata=PodSandboxMetadata(name="p", uid="u", namespace="n"), hostname="p")


def config(name: str = "app", log_path: str = "") -> ContainerConfig:
    return ContainerConfig(metadata=ContainerMetadata(name=name), image=ImageSpec(image="busybox"), log_path=log_path)


@pytest.fixture
def fake() -> FakeRuntime:
    runtime = FakeRuntime()
    runtime.add_image("busybox")
    return runtime


async def test_lifecycle_states_and_recorded_calls(fake: FakeRuntime) -> None:
    sandbox_id = await fake.run_pod_sandbox(SANDBOX)
    container_id = await fake.create_container(sandbox_id, config(), SANDBOX)
    await fake.start_container(container_id)
    running = await fake.list_containers(ContainerFilter(state=ContainerState.RUNNING))
    fake.exit_container(container_id, 137, reason="OOMKilled")
    status = await fake.container_status(container_id)

    assert [c.id for c in running] == [container_id]
    assert (status.state, status.exit_code, status.reason) == (ContainerState.EXITED, 137, "OOMKilled")
    assert fake.call_names() == ["run_pod_sandbox", "create_container", "start_container", "list_containers", "container_status"]
    await fake.stop_pod_sandbox(sandbox_id)
    assert (await fake.pod_sandbox_status(sandbox_id)).state == PodSandboxState.NOTREADY
    await fake.remove_pod_sandbox(sandbox_id)
    await fake.remove_pod_sandbox(sandbox_id)
    assert await fake.list_containers() == []


async def test_the_rules_of_the_real_runtime(fake: FakeRuntime) -> None:
    sandbox_id = await fake.run_pod_sandbox(SANDBOX)
    container_id = await fake.create_container(sandbox_id, config(), SANDBOX)

    with pytest.raises(AlreadyExists):
        await fake.create_container(sandbox_id, config(), SANDBOX)
    with pytest.raises(NotFound):
        await fake.create_container(sandbox_id, ContainerConfig(image=ImageSpec(image="nope")), SANDBOX)
    with pytest.raises(FailedPrecondition):
        await fake.exec_sync(container_id, ["true"])
    fake.fail_next("start_container", RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        await fake.start_container(container_id)
    await fake.start_container(container_id)
    fake.exec_handler = lambda cid, cmd: ExecSyncResponse(b"out", b"", 3)
    assert (await fake.exec_sync(container_id, ["x"])).exit_code == 3


async def test_attach_sessions_receive_output_and_the_exit_code(fake: FakeRuntime) -> None:
    sandbox_id = await fake.run_pod_sandbox(SANDBOX)
    container_id = await fake.create_container(sandbox_id, config(), SANDBOX)
    await fake.start_container(container_id)

    session = await fake.attach(container_id, stdin=True)
    await session.write_stdin(b"typed")
    fake.emit(container_id, b"hello")
    fake.emit(container_id, b"oops", stream="stderr")
    fake.exit_container(container_id, 2)

    assert session.stdout is not None and session.stderr is not None
    assert (await session.stdout.read(), await session.stderr.read(), await session.wait()) == (b"hello", b"oops", 2)
    assert bytes(session.stdin_data) == b"typed"


async def test_logs_rotate_when_too_big(fake: FakeRuntime, tmp_path: Path) -> None:
    sandbox_id = await fake.run_pod_sandbox(SANDBOX)
    log = tmp_path / "app" / "0.log"
    log.parent.mkdir()
    container_id = await fake.create_container(sandbox_id, config(log_path=str(log)), SANDBOX)
    await fake.start_container(container_id)
    manager = ContainerLogManager(fake, max_size=10, max_files=2)

    log.write_bytes(b"small")
    assert await manager.rotate_once() == []
    for round_number in range(3):
        log.write_bytes(b"x" * 20 + bytes([round_number]))
        assert await manager.rotate_once() == [container_id]

    assert not log.exists()  # the monitor makes a new one when asked to reopen
    assert [p.read_bytes()[-1] for p in rotated_logs(log)] == [2]
    assert fake.call_names().count("reopen_container_log") == 3
