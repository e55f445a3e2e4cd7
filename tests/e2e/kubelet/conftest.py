"""Fixtures of the kubelet end-to-end tests (root): a real API server process, a node with a
real pod network (bridge, CNI), the real runtime (crun under conmon) and volume manager,
and the Kubelet over them.

Every test gets its own node name, bridge, pod CIDR, cgroup parent and data directory, so
tests run beside each other and beside a real cluster; everything (containers, sandboxes,
mounts, cgroups, the bridge and its routes) is removed after each test, also when it failed,
and the test fails if anything is left. Pod egress is blocked by the node network and the
tests refuse to run unless ../shared/tools/egress-guard is on.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pilothouse.client import APIClient, ClientConfig  # noqa: E402
from pilothouse.kubelet.config import KubeletConfig  # noqa: E402
from pilothouse.kubelet.kubelet import Kubelet  # noqa: E402
from pilothouse.kubelet.sandboxnetwork import SandboxNetwork  # noqa: E402
from pilothouse.kubelet.volumes import VolumeManager  # noqa: E402
from pilothouse.network import NodeNetwork, NodeNetworkConfig, PodNetwork  # noqa: E402
from pilothouse.network.nftables import table_exists  # noqa: E402
from pilothouse.runtime.image_service import LocalImageService  # noqa: E402
from pilothouse.runtime.images.busybox import ensure_busybox_image  # noqa: E402
from pilothouse.runtime.images.snapshots import Snapshotter  # noqa: E402
from pilothouse.runtime.images.store import ImageStore  # noqa: E402
from pilothouse.runtime.oci.cgroups import Cgroups, detect  # noqa: E402
from pilothouse.runtime.oci.context import RuntimeSettings  # noqa: E402
from pilothouse.runtime.oci.runtime import LocalRuntime  # noqa: E402

EGRESS_GUARD_TABLE = "pilothouse_egress_guard"
# Short enough for tests to watch restarts and probes, long enough not to spin.
FAST = {
    "relist_seconds": 0.5,
    "sync_frequency_seconds": 10.0,
    "backoff_seconds": 1.0,
    "backoff_max_seconds": 4.0,
    "housekeeping_seconds": 1.0,
    "manifests_check_seconds": 0.5,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if path.parent == here and path.name.startswith("test_kubelet_"):
            item.add_marker(pytest.mark.root)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root (namespaces, cgroups, bridges)"))


@pytest.fixture
async def egress_guard() -> None:
    if not await table_exists("inet", EGRESS_GUARD_TABLE):
        pytest.skip("the egress guard is off: run ../shared/tools/egress-guard on")


@pytest.fixture(scope="session")
def image_store(tmp_path_factory: pytest.TempPathFactory) -> ImageStore:
    store = ImageStore(tmp_path_factory.mktemp("kubelet-images"))
    ensure_busybox_image(store)
    return store


@dataclass
class Node:
    """One test node: its settings, runtime, network and a running Kubelet."""

    name: str
    config: KubeletConfig
    client: APIClient
    runtime: LocalRuntime
    images: LocalImageService
    volumes: VolumeManager
    network: NodeNetworkConfig
    kubelet: Kubelet | None = None
    namespace: str = ""
    started: list[Kubelet] = field(default_factory=list)

    async def start_kubelet(self) -> Kubelet:
        kubelet = Kubelet(
            self.config, client=self.client, runtime=self.runtime, images=self.images,
            volumes=self.volumes, node_name=self.name,
        )
        await kubelet.start()
        self.kubelet = kubelet
        self.started.append(kubelet)
        return kubelet

    async def stop_kubelet(self) -> None:
        if self.kubelet is not None:
            await self.kubelet.stop()
            self.kubelet = None


async def _main_routes() -> list[IPv4Network]:
    process = await asyncio.create_subprocess_exec(
        "ip", "-j", "-4", "route", "show", "table", "main", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    return [IPv4Network("0.0.0.0/0" if r["dst"] == "default" else r["dst"]) for r in json.loads(out)]


def _free(candidates: list[IPv4Network], routes: list[IPv4Network]) -> IPv4Network:
    for candidate in candidates:
        if not any(route != IPv4Network("0.0.0.0/0") and route.overlaps(candidate) for route in routes):
            return candidate
    raise AssertionError("no free test subnet")


@pytest.fixture
async def node(
    egress_guard: None, tmp_path: Path, server: Any, image_store: ImageStore, request: pytest.FixtureRequest
) -> AsyncIterator[Node]:
    """A node with a started Kubelet, and a namespace for the test's pods."""
    suffix = secrets.token_hex(3)
    name = f"node-{suffix}"
    routes = await _main_routes()
    cluster = _free(list(IPv4Network("10.244.0.0/16").subnets(new_prefix=20))[::-1], routes)
    services = _free(list(IPv4Network("10.96.0.0/12").subnets(new_prefix=24))[::-1], routes)
    network = NodeNetworkConfig(
        pod_cidr=next(cluster.subnets(new_prefix=24)), cluster_cidr=cluster, service_cidr=services,
        bridge=f"phk{suffix}", data_dir=tmp_path / "data" / "network", block_pod_egress=True,
    )
    overrides = getattr(request, "param", {}) or {}
    config = KubeletConfig(
        node_name=name, data_dir=tmp_path / "data", node_ip=str(network.gateway),
        cgroup_parent=f"/pilothouse-test-{suffix}", cluster_dns=[str(services.network_address + 10)],
        **{**FAST, **overrides},
    )
    client = APIClient(ClientConfig.from_kubeconfig(server.kubeconfig))
    node_network = NodeNetwork(network)
    pods = PodNetwork(network)
    sandbox_network = SandboxNetwork()
    runtime = LocalRuntime(
        RuntimeSettings(root=config.runtime_root, cgroup_parent=config.pods_cgroup_parent),
        images=image_store, snapshots=Snapshotter(config.runtime_root / "snapshots", image_store),
        network=sandbox_network,
    )
    test_node = Node(
        name=name, config=config, client=client, runtime=runtime, images=LocalImageService(image_store),
        volumes=VolumeManager(config.pods_dir, client=client), network=network,
    )
    try:
        await node_network.ensure()
        sandbox_network.use(pods)
        await _register(client, name, str(network.gateway))
        test_node.namespace = f"kt-{suffix}"
        await client["namespaces"].create({"metadata": {"name": test_node.namespace}})
        await test_node.start_kubelet()
        yield test_node
    finally:
        try:
            await _tear_down(test_node, node_network, pods)
        finally:
            await client.close()


async def _register(client: APIClient, name: str, address: str) -> None:
    await client["nodes"].create({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "10Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "10Gi", "pods": "110"},
        },
    })


async def _tear_down(node: Node, node_network: NodeNetwork, pods: PodNetwork) -> None:
    for kubelet in node.started:
        await kubelet.stop()
    await node.runtime.remove_all()
    for uid in node.volumes.pods_on_disk():
        await node.volumes.teardown(uid)
    for sandbox in await pods.attached_sandboxes():
        await pods.teardown_sandbox(sandbox)
    await node_network.teardown()
    try:
        await node.client["nodes"].delete(node.name)
    except Exception:  # noqa: BLE001 - the server may be gone already
        pass
    data = node.config.data_dir
    leftover_mounts = await asyncio.to_thread(_mounts_under, data)
    cgroup_left = Cgroups(detect()).exists(node.config.pods_cgroup_parent)
    await asyncio.to_thread(shutil.rmtree, data, True)
    assert leftover_mounts == []
    assert not cgroup_left


def _mounts_under(directory: Path) -> list[str]:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [m for m in mounts if m.startswith(str(directory))]
