"""Two nodes on one machine: the host test node and a node in a network namespace, joined
by host-gw routes over a test node link. Pod to pod across nodes, hostPort, masquerade and
the egress block, and the routes inside the namespace node."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address

import pytest
from conftest import HostNode, NamespaceNode, NetUnderTest
from nethelpers import Servers, ask, nth, ping, route_get, sh

from pilothouse.network.nodehost import NodeLink

MakeSandbox = Callable[[], Awaitable[str]]
HOST_PORT = 18080
CONTAINER_PORT = 8080


@pytest.fixture
async def joined(
    host_node: HostNode, namespace_node: NamespaceNode, node_link: NodeLink
) -> tuple[HostNode, NamespaceNode]:
    """Host-gw routes both ways, as the route syncer will install them from Node objects."""
    await host_node.node.add_node_route(namespace_node.config.pod_cidr, namespace_node.host.address)
    await namespace_node.agent(
        "add-route", str(host_node.config.pod_cidr), str(node_link.config.host_address.ip)
    )
    return host_node, namespace_node


async def wire_both(
    joined: tuple[HostNode, NamespaceNode], make_sandbox: MakeSandbox, *ports: str
) -> tuple[str, str, str, str]:
    """A sandbox on each node: (host sandbox, its IP, namespace-node sandbox, its IP)."""
    host_node, namespace_node = joined
    here, there = await make_sandbox(), await make_sandbox()
    status = await host_node.pods.setup_sandbox(
        here, f"/run/netns/{here}", pod_name=here, pod_namespace="default"
    )
    remote = await namespace_node.agent("setup", there, f"/run/netns/{there}", *ports)
    return here, str(status.ip), there, remote["ip"]


async def test_pods_on_two_nodes_reach_each_other_with_their_own_addresses(
    joined: tuple[HostNode, NamespaceNode], make_sandbox: MakeSandbox, servers: Servers
) -> None:
    here, here_ip, there, there_ip = await wire_both(joined, make_sandbox)
    assert IPv4Address(there_ip) in joined[1].config.pod_cidr

    assert await ping(here, there_ip)
    assert await ping(there, here_ip)
    await servers.start(there, CONTAINER_PORT)
    # host-gw keeps pod source addresses: no masquerade between cluster addresses.
    assert await ask(here, there_ip, CONTAINER_PORT) == here_ip


async def test_a_host_port_on_the_namespace_node(
    joined: tuple[HostNode, NamespaceNode],
    make_sandbox: MakeSandbox,
    servers: Servers,
    node_link: NodeLink,
) -> None:
    namespace_node = joined[1]
    _, _, there, there_ip = await wire_both(
        joined, make_sandbox, f"{HOST_PORT}:{CONTAINER_PORT}"
    )
    await servers.start(there, CONTAINER_PORT)
    node_ip = namespace_node.host.address

    # From the machine to the node's address: DNAT only, the client address is kept.
    assert await ask(None, node_ip, HOST_PORT) == str(node_link.config.host_address.ip)
    # From the node itself through its loopback (portmap's route_localnet and SNAT).
    assert await ask(namespace_node.netns, "127.0.0.1", HOST_PORT) is not None

    await namespace_node.agent("teardown-sandbox", there)
    assert await ask(None, node_ip, HOST_PORT) is None
    rules = await sh("ip", "netns", "exec", namespace_node.netns, "nft", "list", "table", "ip", "nat")
    assert b"CNI-DN-" not in rules.stdout
    assert there_ip.encode() not in rules.stdout


async def test_pod_egress_is_masqueraded_or_blocked(
    joined: tuple[HostNode, NamespaceNode],
    make_sandbox: MakeSandbox,
    servers: Servers,
    node_link: NodeLink,
) -> None:
    host_node, namespace_node = joined
    here, _, there, _ = await wire_both(joined, make_sandbox)
    link_address = str(node_link.config.host_address.ip)
    await servers.start(None, CONTAINER_PORT, link_address)
    await servers.start(namespace_node.netns, CONTAINER_PORT)

    # The namespace node masquerades: the machine sees the node's address, not the pod's.
    assert await ask(there, link_address, CONTAINER_PORT) == str(namespace_node.host.address)
    # The host test node blocks pod egress (block_pod_egress): a node address is outside.
    assert await ask(None, namespace_node.host.address, CONTAINER_PORT) is not None
    assert await ask(here, namespace_node.host.address, CONTAINER_PORT) is None
    table = await sh("nft", "list", "chain", "ip", host_node.config.nft_table, "forward")
    assert b"counter packets 0 " not in table.stdout


async def test_routes_inside_the_namespace_node_keep_cluster_traffic_local(
    joined: tuple[HostNode, NamespaceNode], net: NetUnderTest, node_link: NodeLink
) -> None:
    host_node, namespace_node = joined
    netns, config = namespace_node.netns, namespace_node.config

    unassigned = await route_get(nth(config.pod_cidr, 200), netns=netns)
    assert unassigned is not None and unassigned["dev"] == config.bridge
    service = await route_get(nth(config.service_cidr, 10), netns=netns)
    assert service is not None and service["dev"] == config.bridge
    host_pods = await route_get(nth(host_node.config.pod_cidr, 7), netns=netns)
    assert host_pods is not None
    assert host_pods["gateway"] == str(node_link.config.host_address.ip)
    assert await route_get(nth(net.cluster_cidr, 3000), netns=netns) is None
    # The node has no default route: nothing it or its pods send can leave the machine.
    assert await route_get(IPv4Address("203.0.113.1"), netns=netns) is None
