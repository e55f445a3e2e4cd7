"""Node setup on the host: what ensure creates, the routes that keep cluster traffic on the
machine, host-gw routes, conflicts, and a teardown that removes exactly what was created."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest
from conftest import HostNode, NetUnderTest
from nethelpers import main_routes, nth, route_get, sh

from pilothouse.network import NodeNetwork, NodeNetworkConfig, NodeNetworkConflict, sysctl
from pilothouse.network.nftables import table_exists
from pilothouse.network.nodehost import NodeLink


async def test_ensure_creates_the_bridge_routes_and_table_idempotently(
    host_node: HostNode,
) -> None:
    config = host_node.config
    await host_node.node.ensure()

    bridge = await sh("ip", "-d", "-4", "addr", "show", "dev", config.bridge)
    assert f"inet {config.gateway_interface}".encode() in bridge.stdout
    assert b"nf_call_iptables 1" in (await sh("ip", "-d", "link", "show", config.bridge)).stdout
    routes = await main_routes()
    assert routes.count(config.cluster_cidr) == 1
    assert routes.count(config.service_cidr) == 1
    assert routes.count(config.pod_cidr) == 1
    assert await sysctl.read("net.ipv4.ip_forward") == "1"
    table = await sh("nft", "list", "table", "ip", config.nft_table)
    assert b"masquerade" in table.stdout and b"drop" in table.stdout


async def test_cluster_traffic_stays_on_the_machine(host_node: HostNode) -> None:
    config = host_node.config
    bridge = config.bridge
    unassigned_pod = nth(config.pod_cidr, 200)
    other_node_pod = nth(config.cluster_cidr, 3000)  # no node route to it
    service_ip = nth(config.service_cidr, 10)
    assert other_node_pod not in config.pod_cidr

    # Locally generated traffic.
    assert (await route_get(unassigned_pod))["dev"] == bridge  # type: ignore[index]
    assert await route_get(other_node_pod) is None
    assert (await route_get(service_ip))["dev"] == bridge  # type: ignore[index]
    # Traffic forwarded for a pod.
    from_pod = ("from", str(nth(config.pod_cidr, 2)), "iif", bridge)
    assert await route_get(other_node_pod, *from_pod) is None
    assert (await route_get(service_ip, *from_pod))["dev"] == bridge  # type: ignore[index]
    assert (await route_get(unassigned_pod, *from_pod))["dev"] == bridge  # type: ignore[index]


async def test_node_routes_are_added_replaced_synced_and_removed(
    host_node: HostNode, node_link: NodeLink, net: NetUnderTest
) -> None:
    node = host_node.node
    peer_cidr = net.peer_pod_cidr
    third_cidr = list(net.cluster_cidr.subnets(new_prefix=24))[2]
    peer, other_peer = nth(net.link_cidr, 2), nth(net.link_cidr, 3)
    peer_pod = nth(peer_cidr, 5)

    await node.add_node_route(peer_cidr, peer)
    assert (await route_get(peer_pod))["gateway"] == str(peer)  # type: ignore[index]

    await node.add_node_route(peer_cidr, other_peer)
    assert (await route_get(peer_pod))["gateway"] == str(other_peer)  # type: ignore[index]

    await node.sync_node_routes({third_cidr: peer})
    assert await node.node_routes() == {third_cidr: peer}
    assert await route_get(peer_pod) is None  # back to unreachable
    assert (await route_get(nth(third_cidr, 5)))["gateway"] == str(peer)  # type: ignore[index]

    await node.remove_node_route(third_cidr)
    assert await route_get(nth(third_cidr, 5)) is None
    assert await node.node_routes() == {}


async def test_node_routes_are_validated(host_node: HostNode, net: NetUnderTest) -> None:
    node, config = host_node.node, host_node.config
    with pytest.raises(ValueError):
        await node.add_node_route(config.pod_cidr, nth(net.link_cidr, 2))
    with pytest.raises(ValueError):
        await node.add_node_route(IPv4Network("192.168.77.0/24"), nth(net.link_cidr, 2))
    with pytest.raises(ValueError):
        await node.add_node_route(net.peer_pod_cidr, nth(config.cluster_cidr, 9))


async def test_teardown_removes_exactly_what_was_created(
    net: NetUnderTest, node_link: NodeLink, tmp_path: Path
) -> None:
    config = NodeNetworkConfig(
        pod_cidr=net.host_pod_cidr,
        cluster_cidr=net.cluster_cidr,
        service_cidr=net.service_cidr,
        bridge=net.bridge,
        data_dir=tmp_path / "node",
    )
    node = NodeNetwork(config)
    before = await main_routes()
    await node.ensure()
    await node.add_node_route(net.peer_pod_cidr, nth(net.link_cidr, 2))

    await node.teardown()
    await node.teardown()

    assert await main_routes() == before
    assert (await sh("ip", "link", "show", config.bridge, check=False)).returncode != 0
    assert not await table_exists("ip", config.nft_table)
    assert not config.state_file.exists()


async def test_a_foreign_interface_or_route_is_never_adopted(
    net: NetUnderTest, tmp_path: Path
) -> None:
    config = NodeNetworkConfig(
        pod_cidr=net.host_pod_cidr,
        cluster_cidr=net.cluster_cidr,
        service_cidr=net.service_cidr,
        bridge=net.bridge,
        data_dir=tmp_path / "node",
    )
    node = NodeNetwork(config)
    await sh("ip", "link", "add", config.bridge, "type", "bridge")
    try:
        with pytest.raises(NodeNetworkConflict, match=config.bridge):
            await node.ensure()
    finally:
        await sh("ip", "link", "delete", config.bridge)

    await sh("ip", "route", "add", "blackhole", str(config.service_cidr))
    try:
        with pytest.raises(NodeNetworkConflict, match=str(config.service_cidr)):
            await node.ensure()
        await node.teardown()
        assert config.service_cidr in await main_routes()  # not ours: left alone
    finally:
        await sh("ip", "route", "delete", "blackhole", str(config.service_cidr))
    assert (await sh("ip", "link", "show", config.bridge, check=False)).returncode != 0
