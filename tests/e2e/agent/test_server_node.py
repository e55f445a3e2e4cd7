"""The server's own node (the agent embedded in ``pilothouse server``), run here without the
pod machinery: it joins with the server's token over the server's address, registers as the
control plane, gets a pod CIDR, sets up its network on the host and becomes Ready; once the
server is stopped and the node removed, nothing of it is left on the machine."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

from agentcluster import ClusterNet, machine_routes, remove_host_node, start_server_with_node
from agenthelpers import cgroup_exists, condition, eventually, link_exists

from pilothouse.network.nftables import table_exists
from pilothouse.network.nodehost import NodeLink


async def test_the_servers_node_comes_up_on_the_host_and_leaves_nothing(
    workdir: Path, net: ClusterNet, node_link: NodeLink
) -> None:
    started = await start_server_with_node(workdir, net, pods=False)
    server, name = started.server, started.node_name
    bridge = started.node.bridge
    try:
        node = await eventually(
            lambda: (n := server.node(name)) and n["spec"].get("podCIDR")
            and condition(n, "Ready")["status"] == "True" and n,
            what="the server's node Ready", logs=server.process.log)
        assert node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == ""
        assert node["status"]["addresses"][0] == {
            "type": "InternalIP", "address": str(net.server_address)}
        assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == started.node.port
        pod_cidr = IPv4Network(node["spec"]["podCIDR"])
        assert pod_cidr.subnet_of(net.cluster_cidr)
        assert link_exists(bridge)
        assert await table_exists("ip", f"pilothouse_{bridge}")
        routes = machine_routes()
        assert net.cluster_cidr in routes and pod_cidr in routes and net.service_cidr in routes
        # It joined like any node: with the server's token, as system:node:<name>.
        assert (started.node.credentials_dir / "node.crt").exists()
    finally:
        await remove_host_node(started)
    assert not link_exists(bridge)
    assert not await table_exists("ip", f"pilothouse_{bridge}")
    assert not any(route.overlaps(net.cluster_cidr) or route.overlaps(net.service_cidr)
                   for route in machine_routes() if route.prefixlen > 0)
    assert not cgroup_exists(started.node.pods_cgroup_parent)
