"""Resource limits enforced by real cgroups: memory (OOMKilled), pids, CPU, updates, stats."""

# ruff: noqa: ASYNC240 (tests read small files on the event loop; nothing else runs on it)

from __future__ import annotations

from runtime_helpers import container, output, start

from pilothouse.runtime.interface import ContainerState, LinuxContainerResources
from pilothouse.runtime.oci.runtime import LocalRuntime

MiB = 1 << 20


async def test_a_container_over_its_memory_limit_is_oom_killed(runtime: LocalRuntime) -> None:
    # tail keeps everything it reads from /dev/zero (one endless line) in memory.
    limits = LinuxContainerResources(memory_limit_in_bytes=16 * MiB, memory_swap_limit_in_bytes=16 * MiB)
    _, container_id = await start(runtime, container("sh", "-c", "tail /dev/zero", resources=limits))

    exit_code = await runtime.wait_container(container_id)
    status = await runtime.container_status(container_id)

    assert exit_code == 137
    assert (status.state, status.exit_code, status.reason) == (ContainerState.EXITED, 137, "OOMKilled")


async def test_a_container_cannot_exceed_its_pids_limit(runtime: LocalRuntime) -> None:
    # Room for runc's exec helper, whose threads count too while it joins the container.
    limits = LinuxContainerResources(pids_limit=16)
    _, container_id = await start(runtime, container("sleep", "300", resources=limits))

    response = await runtime.exec_sync(
        container_id, ["sh", "-c", "for i in $(seq 20); do sleep 60 >/dev/null 2>&1 & done"], timeout=30
    )

    pids = runtime.ctx.cgroups.layout.dir("pids", runtime.containers.load(container_id).cgroup_path)

    assert b"can't fork" in response.stderr
    assert (pids / "pids.max").read_text() == "16\n"
    assert int((pids / "pids.current").read_text()) <= 16


async def test_cpu_and_memory_limits_land_in_the_cgroup_and_can_be_updated(runtime: LocalRuntime) -> None:
    limits = LinuxContainerResources(cpu_shares=512, cpu_quota=50_000, cpu_period=100_000, memory_limit_in_bytes=64 * MiB)
    _, container_id = await start(runtime, container("sleep", "300", resources=limits))
    record = runtime.containers.load(container_id)
    cgroups = runtime.ctx.cgroups

    def read(controller: str, name: str) -> str:
        return (cgroups.layout.dir(controller, record.cgroup_path) / name).read_text().strip()

    before = (read("cpu", "cpu.shares"), read("cpu", "cpu.cfs_quota_us"), read("memory", "memory.limit_in_bytes"))
    await runtime.update_container_resources(
        container_id, LinuxContainerResources(memory_limit_in_bytes=32 * MiB, cpu_quota=20_000)
    )

    assert before == ("512", "50000", str(64 * MiB))
    assert read("memory", "memory.limit_in_bytes") == str(32 * MiB)
    assert read("cpu", "cpu.cfs_quota_us") == "20000"
    assert (await runtime.container_status(container_id)).resources.memory_limit_in_bytes == 32 * MiB


async def test_stats_come_from_the_containers_cgroup(runtime: LocalRuntime) -> None:
    limits = LinuxContainerResources(memory_limit_in_bytes=64 * MiB)
    _, container_id = await start(runtime, container("sh", "-c", "sleep 300 & sleep 300 & wait", resources=limits))
    await output(runtime, container_id, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")

    first = await runtime.container_stats(container_id)
    second = await runtime.container_stats(container_id)

    assert first.cpu.usage_core_nano_seconds > 0
    assert first.memory.working_set_bytes > 0
    assert first.memory.available_bytes is not None and first.memory.available_bytes < 64 * MiB
    assert first.process.process_count == 3
    assert first.cpu.usage_nano_cores is None and second.cpu.usage_nano_cores is not None
    assert [s.attributes.id for s in await runtime.list_container_stats()] == [container_id]
