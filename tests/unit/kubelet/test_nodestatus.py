"""The node's status from machine facts (a fake /proc, /sys and /etc), and its reporting:
registration, updates only when something changed or the report period passed."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from node_fakes import FakeAPI

from pilothouse.api import errors
from pilothouse.kubelet.config import KubeletConfig
from pilothouse.kubelet.machine import HostPaths, MachineInfo, ResourceUsage, read_machine_info
from pilothouse.kubelet.nodestatus import (
    KUBELET_VERSION,
    NodeFacts,
    NodeStatusReporter,
    Pressure,
    allocatable,
    build_status,
    capacity,
    conditions,
    pressure,
    status_changed,
)
from pilothouse.runtime.interface import Image

GiB = 2**30
MiB = 2**20


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def host(tmp_path: Path) -> HostPaths:
    paths = HostPaths(proc=tmp_path / "proc", sys=tmp_path / "sys", etc=tmp_path / "etc")
    write(paths.proc / "meminfo",
          "MemTotal:        8048576 kB\nMemFree:          100000 kB\n"
          "MemAvailable:    4000000 kB\nHugePages_Total:       0\n")
    write(paths.proc / "sys/kernel/random/boot_id", "b0b0b0b0-1111-2222-3333-444444444444\n")
    write(paths.proc / "sys/kernel/osrelease", "6.1.0-18-amd64\n")
    write(paths.proc / "sys/kernel/pid_max", "4194304\n")
    write(paths.proc / "loadavg", "0.10 0.20 0.30 2/345 6789\n")
    write(paths.sys / "devices/system/cpu/online", "0-3,6\n")
    write(paths.sys / "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "8\n")
    write(paths.sys / "kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n")
    write(paths.sys / "class/dmi/id/product_uuid", "EC2B3C4D-0000-1111-2222-333344445555\n")
    write(paths.etc / "machine-id", "0123456789abcdef0123456789abcdef\n")
    write(paths.etc / "os-release", 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    return paths


def test_machine_info_comes_from_proc_sys_and_etc(host: HostPaths) -> None:
    info = read_machine_info(host)
    assert info.cpus == 5
    assert info.memory_bytes == 8048576 * 1024
    assert info.hugepages == {"hugepages-1Gi": 0, "hugepages-2Mi": 8 * 2 * MiB}
    assert info.machine_id == "0123456789abcdef0123456789abcdef"
    assert info.system_uuid == "EC2B3C4D-0000-1111-2222-333344445555"
    assert info.boot_id == "b0b0b0b0-1111-2222-3333-444444444444"
    assert info.kernel_version == "6.1.0-18-amd64"
    assert info.os_image == "Debian GNU/Linux 12 (bookworm)"


def test_unreadable_facts_are_left_empty(tmp_path: Path) -> None:
    paths = HostPaths(proc=tmp_path / "proc", sys=tmp_path / "sys", etc=tmp_path / "etc")
    write(paths.proc / "meminfo", "MemTotal: 1024 kB\n")
    info = read_machine_info(paths)
    assert info.memory_bytes == 1024 * 1024
    assert (info.system_uuid, info.machine_id, info.hugepages) == ("", "", {})
    assert info.cpus >= 1  # falls back to what Python sees


def machine(**changes: object) -> MachineInfo:
    fields: dict[str, object] = dict(
        cpus=2, memory_bytes=4 * GiB, hugepages={"hugepages-1Gi": 0, "hugepages-2Mi": 64 * MiB},
        machine_id="m", system_uuid="u", boot_id="b", kernel_version="6.1.0",
        os_image="Debian GNU/Linux 12 (bookworm)", architecture="amd64",
    )
    fields.update(changes)
    return MachineInfo(**fields)  # type: ignore[arg-type]


def usage(**changes: int) -> ResourceUsage:
    fields = dict(memory_available_bytes=2 * GiB, fs_capacity_bytes=100 * GiB,
                  fs_available_bytes=50 * GiB, fs_inodes=1000, fs_inodes_free=900,
                  pid_max=4194304, processes=300)
    fields.update(changes)
    return ResourceUsage(**fields)


def test_capacity_and_allocatable_as_the_kubelet_reports_them() -> None:
    cap = capacity(machine(), fs_capacity_bytes=100 * GiB, max_pods=110)
    assert {k: str(v) for k, v in cap.items()} == {
        "cpu": "2", "ephemeral-storage": "100Gi", "hugepages-1Gi": "0",
        "hugepages-2Mi": "64Mi", "memory": "4Gi", "pods": "110",
    }
    assert list(cap) == sorted(cap)
    alloc = {k: str(v) for k, v in allocatable(cap).items()}
    # memory: less the 100Mi eviction threshold and the huge pages; storage: less 10%.
    assert alloc["memory"] == "3932Mi"  # 4096Mi - 100Mi - 64Mi
    assert alloc["ephemeral-storage"] == "90Gi"
    assert (alloc["cpu"], alloc["pods"], alloc["hugepages-2Mi"]) == ("2", "110", "64Mi")


@pytest.mark.parametrize(("facts", "expected"), [
    (usage(), Pressure()),
    (usage(memory_available_bytes=99 * MiB), Pressure(memory=True)),
    (usage(fs_available_bytes=9 * GiB), Pressure(disk=True)),
    (usage(fs_inodes_free=49), Pressure(disk=True)),
    (usage(processes=4194300), Pressure()),  # no PID threshold by default, as upstream
], ids=["healthy", "memory", "disk-space", "disk-inodes", "pids-no-threshold"])
def test_pressure_follows_the_default_hard_eviction_thresholds(
    facts: ResourceUsage, expected: Pressure
) -> None:
    assert pressure(facts) == expected


def test_conditions_order_reasons_and_transition_times() -> None:
    first = conditions([], pressure=Pressure(), not_ready=["network not ready"], now="T1")
    assert [(c["type"], c["status"], c["reason"]) for c in first] == [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("Ready", "False", "KubeletNotReady"),
    ]
    assert first[3]["message"] == "network not ready"
    assert first[0]["message"] == "kubelet has sufficient memory available"

    second = conditions(first, pressure=Pressure(memory=True), not_ready=[], now="T2")
    by_type = {c["type"]: c for c in second}
    assert by_type["Ready"] == {
        "type": "Ready", "status": "True", "lastHeartbeatTime": "T2",
        "lastTransitionTime": "T2", "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
    }
    assert by_type["MemoryPressure"]["reason"] == "KubeletHasInsufficientMemory"
    assert by_type["MemoryPressure"]["lastTransitionTime"] == "T2"
    # Unchanged conditions keep their transition time; heartbeats move on.
    assert by_type["DiskPressure"]["lastTransitionTime"] == "T1"
    assert by_type["DiskPressure"]["lastHeartbeatTime"] == "T2"


def test_several_not_ready_reasons_are_aggregated_like_kubernetes_errors() -> None:
    ready = conditions([], pressure=Pressure(), not_ready=["a", "b"], now="T")[3]
    assert ready["message"] == "[a, b]"


def config(tmp_path: Path, **changes: object) -> KubeletConfig:
    return KubeletConfig(node_name="node-1", data_dir=tmp_path, **changes)  # type: ignore[arg-type]


def facts(*, not_ready: list[str] | None = None, **usage_changes: int) -> NodeFacts:
    return NodeFacts(
        machine=machine(), usage=usage(**usage_changes), node_ip="172.31.255.2",
        runtime_version="pilothouse://0.1.0",
        images=[Image(id="sha256:a", repo_tags=["busybox:latest"],
                      repo_digests=["busybox@sha256:d"], size=1000),
                Image(id="sha256:b", repo_tags=["big:1"], size=5000)],
        not_ready=not_ready or [],
    )


def test_the_whole_status(tmp_path: Path) -> None:
    status = build_status(config(tmp_path, port=10350), facts(), previous={}, now="T")
    assert status["addresses"] == [{"type": "InternalIP", "address": "172.31.255.2"},
                                   {"type": "Hostname", "address": "node-1"}]
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10350}}
    assert status["nodeInfo"] == {
        "machineID": "m", "systemUUID": "u", "bootID": "b", "kernelVersion": "6.1.0",
        "osImage": "Debian GNU/Linux 12 (bookworm)",
        "containerRuntimeVersion": "pilothouse://0.1.0", "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
    }
    assert KUBELET_VERSION.startswith("v1.") and "+pilothouse-" in KUBELET_VERSION
    assert status["images"] == [
        {"names": ["big:1"], "sizeBytes": 5000},
        {"names": ["busybox@sha256:d", "busybox:latest"], "sizeBytes": 1000},
    ]
    assert status["capacity"]["pods"] == "110"


def test_a_heartbeat_alone_is_no_change(tmp_path: Path) -> None:
    one = build_status(config(tmp_path), facts(), previous={}, now="T1")
    two = build_status(config(tmp_path), facts(), previous=one, now="T2")
    assert one != two
    assert not status_changed(one, two)
    assert status_changed(one, build_status(config(tmp_path), facts(not_ready=["x"]),
                                            previous=one, now="T2"))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


def reporter(tmp_path: Path, api: FakeAPI, clock: Clock, state: dict[str, NodeFacts],
             **changes: object) -> NodeStatusReporter:
    async def current() -> NodeFacts:
        return state["facts"]

    return NodeStatusReporter(config(tmp_path, **changes), client=api,  # type: ignore[arg-type]
                              facts=current, clock=clock)


async def test_registration_creates_the_node_with_labels_taints_and_status(tmp_path: Path) -> None:
    api, clock = FakeAPI(), Clock()
    taint = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    node = await reporter(tmp_path, api, clock, {"facts": facts()}, control_plane=True,
                          node_labels={"zone": "a"}, node_taints=[taint]).register()
    assert node["metadata"]["labels"] == {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "node-1",
        "kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": "", "zone": "a",
    }
    assert node["spec"]["taints"] == [taint]
    assert node["status"]["conditions"][3]["reason"] == "KubeletReady"
    assert api.writes() == [("create", "nodes", "node-1")]


async def test_registering_an_existing_node_keeps_its_labels_and_refreshes_defaults(
    tmp_path: Path,
) -> None:
    api, clock = FakeAPI(), Clock()
    earlier = build_status(config(tmp_path), facts(), previous={}, now="2023-06-01T00:00:00Z")
    await api["nodes"].create({"metadata": {"name": "node-1", "labels": {
        "kubernetes.io/hostname": "node-1", "team": "x"}}, "spec": {"podCIDR": "10.244.3.0/24"},
        "status": earlier})
    node = await reporter(tmp_path, api, clock, {"facts": facts()}).register()
    labels = node["metadata"]["labels"]
    assert labels["team"] == "x" and labels["kubernetes.io/os"] == "linux"
    assert node["spec"]["podCIDR"] == "10.244.3.0/24"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == KUBELET_VERSION
    # A restarted agent: still Ready since then, heartbeat now.
    ready = node["status"]["conditions"][3]
    assert ready["lastTransitionTime"] == "2023-06-01T00:00:00Z"
    assert ready["lastHeartbeatTime"] == "2024-01-01T00:00:00Z"
    assert api.writes() == [("create", "nodes", "node-1"), ("create", "nodes", "node-1"),
                            ("update", "nodes", "node-1"), ("update/status", "nodes", "node-1")]


async def test_status_is_written_on_change_or_when_the_report_period_passed(tmp_path: Path) -> None:
    api, clock = FakeAPI(), Clock()
    state = {"facts": facts(not_ready=["network not ready"])}
    node_reporter = reporter(tmp_path, api, clock, state, node_status_report_seconds=60)
    await node_reporter.register()
    writes = len(api.writes())

    clock.advance(10)
    await node_reporter.sync()
    assert len(api.writes()) == writes  # nothing new, not due

    state["facts"] = facts()
    clock.advance(10)
    await node_reporter.sync()
    assert len(api.writes()) == writes + 1
    ready = api.stored("nodes", "node-1")["status"]["conditions"][3]
    assert (ready["status"], ready["lastTransitionTime"]) == ("True", "2024-01-01T00:00:20Z")

    clock.advance(59)
    await node_reporter.sync()
    assert len(api.writes()) == writes + 1
    clock.advance(1)
    await node_reporter.sync()
    assert len(api.writes()) == writes + 2
    ready = api.stored("nodes", "node-1")["status"]["conditions"][3]
    assert ready["lastHeartbeatTime"] == "2024-01-01T00:01:20Z"
    assert ready["lastTransitionTime"] == "2024-01-01T00:00:20Z"


async def test_a_conflicting_write_is_retried_on_the_current_node(tmp_path: Path) -> None:
    api, clock = FakeAPI(), Clock()
    state = {"facts": facts()}
    node_reporter = reporter(tmp_path, api, clock, state)
    await node_reporter.register()
    # Somebody else (the IPAM controller) changed the node meanwhile.
    await api["nodes"].patch("node-1", {"spec": {"podCIDR": "10.244.1.0/24"}})
    state["facts"] = facts(not_ready=["x"])
    await node_reporter.sync()
    stored = api.stored("nodes", "node-1")
    assert stored["spec"]["podCIDR"] == "10.244.1.0/24"
    assert stored["status"]["conditions"][3]["status"] == "False"


async def test_registration_waits_for_the_api(tmp_path: Path) -> None:
    api, clock = FakeAPI(), Clock()
    api.fail_next("create", "nodes", errors.ServiceUnavailable("starting"))
    node = await reporter(tmp_path, api, clock, {"facts": facts()}).register()
    assert node["metadata"]["name"] == "node-1"
