"""The agent's side of the pod network: which other nodes get host-gw routes, waiting for the
pod CIDR, and the runtime's plug-in before and after the node network is up."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from pilothouse.client import Handlers
from pilothouse.kubelet.config import KubeletConfig
from pilothouse.kubelet.nodenetwork import NodeNetworkManager, node_route
from pilothouse.kubelet.sandboxnetwork import SandboxNetwork
from pilothouse.network import NodeNetworkConfig, PodNetworkStatus
from pilothouse.runtime.errors import FailedPrecondition
from pilothouse.runtime.interface import (
    PodSandboxConfig,
    PodSandboxMetadata,
    PortMapping,
    PortProtocol,
)

Obj = dict[str, Any]

OWN = NodeNetworkConfig(pod_cidr=IPv4Network("10.244.1.0/24"), data_dir=Path("/nonexistent"))


def node(name: str, cidr: str = "", address: str = "") -> Obj:
    addresses = [{"type": "InternalIP", "address": address}] if address else []
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr} if cidr else {},
            "status": {"addresses": [*addresses, {"type": "Hostname", "address": name}]}}


@pytest.mark.parametrize(("other", "route"), [
    (node("b", "10.244.2.0/24", "172.31.255.3"),
     (IPv4Network("10.244.2.0/24"), IPv4Address("172.31.255.3"))),
    (node("b", "", "172.31.255.3"), None),
    (node("b", "10.244.2.0/24"), None),
    (node("b", "10.9.0.0/24", "172.31.255.3"), None),
    (node("b", "10.244.0.0/16", "172.31.255.3"), None),
    (node("b", "10.244.1.0/24", "172.31.255.3"), None),
    (node("b", "10.244.2.0/24", "10.244.7.1"), None),
    (node("b", "10.244.2.0/24", "10.96.0.5"), None),
    (node("b", "10.244.2.0/24", "127.0.0.1"), None),
    (node("b", "10.244.2.0/24", "fd00::1"), None),
    (node("b", "bogus", "172.31.255.3"), None),
], ids=["routable", "no-cidr", "no-address", "outside-cluster", "whole-cluster", "ours",
        "address-in-pods", "address-in-services", "loopback", "ipv6", "bogus"])
def test_which_nodes_get_a_route(other: Obj, route: tuple | None) -> None:
    assert node_route(other, OWN) == route


class FakeNodes:
    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.handlers: list[Handlers] = []

    def add_handlers(self, handlers: Handlers) -> None:
        self.handlers.append(handlers)

    def get(self, name: str) -> Obj | None:
        return self.objects.get(name)

    def list(self) -> list[Obj]:
        return list(self.objects.values())

    def put(self, obj: Obj) -> None:
        old = self.objects.get(obj["metadata"]["name"])
        self.objects[obj["metadata"]["name"]] = obj
        for handlers in self.handlers:
            if old is None and handlers.on_add:
                handlers.on_add(obj)
            elif old is not None and handlers.on_update:
                handlers.on_update(old, obj)


async def test_the_pod_cidr_is_awaited_from_the_node(tmp_path: Path) -> None:
    nodes = FakeNodes()
    manager = NodeNetworkManager(KubeletConfig(node_name="a", data_dir=tmp_path),
                                 nodes=nodes, sandbox_network=SandboxNetwork())  # type: ignore[arg-type]
    waiting = asyncio.create_task(manager.wait_for_pod_cidr())
    nodes.put(node("a"))
    nodes.put(node("b", "10.244.9.0/24"))
    await asyncio.sleep(0)
    assert not waiting.done()
    nodes.put(node("a", "10.244.3.0/24"))
    assert await asyncio.wait_for(waiting, 5) == IPv4Network("10.244.3.0/24")
    network = manager.network_config(IPv4Network("10.244.3.0/24"))
    assert (network.bridge, network.data_dir) == ("ph0", tmp_path / "network")


class RecordingPods:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def setup_sandbox(self, sandbox_id: str, netns: str, **kwargs: Any) -> PodNetworkStatus:
        self.calls.append(("setup", sandbox_id, netns, kwargs))
        return PodNetworkStatus(sandbox_id=sandbox_id, netns=netns,
                                ip=IPv4Address("10.244.1.5"), ips=(IPv4Address("10.244.1.5"),),
                                gateway=None, interface="eth0", mac="", host_interface="veth1")

    async def teardown_sandbox(self, sandbox_id: str, netns: str = "") -> None:
        self.calls.append(("teardown", sandbox_id, netns))


async def test_the_plugin_refuses_until_the_network_is_up_then_wires_through_cni() -> None:
    plugin = SandboxNetwork()
    config = PodSandboxConfig(
        metadata=PodSandboxMetadata(name="web", uid="u1", namespace="default"),
        port_mappings=[PortMapping(protocol=PortProtocol.UDP, container_port=53, host_port=5353),
                       PortMapping(container_port=80)],
    )
    assert "cni plugin not initialized" in plugin.problem()
    with pytest.raises(FailedPrecondition):
        await plugin.setup("s1", Path("/proc/1/ns/net"), config)
    with pytest.raises(FailedPrecondition):
        await plugin.teardown("s1", Path("/proc/1/ns/net"), config)

    pods = RecordingPods()
    plugin.use(pods)  # type: ignore[arg-type]
    assert plugin.problem() == ""
    status = await plugin.setup("s1", Path("/proc/1/ns/net"), config)
    assert (status.ip, status.additional_ips) == ("10.244.1.5", [])
    _, _, netns, kwargs = pods.calls[0]
    assert netns == "/proc/1/ns/net"
    assert (kwargs["pod_name"], kwargs["pod_namespace"], kwargs["pod_uid"]) == (
        "web", "default", "u1")
    # Only ports published on the node become port mappings.
    assert [(m.host_port, m.container_port, m.protocol) for m in kwargs["port_mappings"]] == [
        (5353, 53, "UDP")]
    await plugin.teardown("s1", Path("/proc/1/ns/net"), config)
    assert pods.calls[-1] == ("teardown", "s1", "/proc/1/ns/net")
