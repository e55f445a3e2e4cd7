"""A node joined with ``pilothouse agent`` from its own network namespace: it registers with
its identity, labels, taints, capacity and node info, gets a pod CIDR, sets up its network,
becomes Ready and renews its Lease; the join token is used once; nodes route to each other's
pod CIDRs; a killed agent leaves nothing outside its namespace once the node is removed.

These nodes run without the pod machinery (agent_without_pods.py): pods on a joined node are
tested in test_multinode_pods.py."""

from __future__ import annotations

import json
import subprocess
from ipaddress import IPv4Address, IPv4Network

from agentcluster import ClusterNet, NodeFactory, NodeInNamespace, Server, remove_namespace_node
from agenthelpers import (
    cgroup_exists,
    condition,
    eventually,
    kubectl,
    kubectl_json,
    link_exists,
    pilothouse,
    processes_in,
)

from pilothouse.kubelet.nodestatus import KUBELET_VERSION


def ready_node(server: Server, node: NodeInNamespace) -> dict | None:
    assert node.agent is not None and node.agent.running(), f"agent exited:\n{node.agent.log()}"
    found = server.node(node.name)
    if found and found["spec"].get("podCIDR") and condition(found, "Ready")["status"] == "True":
        return found
    return None


def lease_renew_time(server: Server, name: str) -> str | None:
    lease = kubectl_json(server.kubeconfig, "-n", "kube-node-lease", "get", "lease", name)
    return lease["spec"]["renewTime"] if lease else None


def run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def in_node(node: NodeInNamespace, *argv: str) -> str:
    return run(*node.host.command(list(argv)))


def routes_in(node: NodeInNamespace) -> list[dict]:
    return json.loads(in_node(node, "ip", "-j", "-4", "route", "show", "table", "main"))


async def test_a_node_joins_registers_gets_a_pod_cidr_and_becomes_ready(
    server: Server, namespace_nodes: NodeFactory, net: ClusterNet
) -> None:
    node = await namespace_nodes(pods=False)
    node.start("--token", server.token, "--node-label", "team=blue",
               "--node-taint", "dedicated=edge:NoSchedule")
    registered = await eventually(lambda: ready_node(server, node), what="a Ready node",
                                  logs=node.agent.log if node.agent else str)

    meta, spec, status = registered["metadata"], registered["spec"], registered["status"]
    assert meta["labels"]["kubernetes.io/hostname"] == node.name
    assert meta["labels"]["kubernetes.io/os"] == "linux"
    assert meta["labels"]["team"] == "blue"
    assert "node-role.kubernetes.io/control-plane" not in meta["labels"]
    assert spec["taints"] == [{"key": "dedicated", "value": "edge", "effect": "NoSchedule"}]
    pod_cidr = IPv4Network(spec["podCIDR"])
    assert pod_cidr.subnet_of(net.cluster_cidr) and pod_cidr.prefixlen == 24
    assert spec["podCIDRs"] == [spec["podCIDR"]]
    assert status["addresses"] == [
        {"type": "InternalIP", "address": str(node.host.address)},
        {"type": "Hostname", "address": node.name},
    ]
    assert status["nodeInfo"]["kubeletVersion"] == KUBELET_VERSION
    assert status["nodeInfo"]["containerRuntimeVersion"] == "pilothouse://0.1.0"
    assert status["nodeInfo"]["operatingSystem"] == "linux"
    assert status["nodeInfo"]["bootID"]
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert status["capacity"]["pods"] == "110" and int(status["capacity"]["cpu"]) >= 1
    assert set(status["allocatable"]) == set(status["capacity"])
    assert [c["type"] for c in status["conditions"]] == [
        "MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert condition(registered, "Ready")["reason"] == "KubeletReady"

    # kubectl shows it as a Ready node.
    table = kubectl(server.kubeconfig, "get", "node", node.name, "--no-headers").stdout
    assert table.split()[:2] == [node.name, "Ready"]

    # Its network, inside its namespace: the bridge holds the gateway; the cluster CIDR is
    # unreachable but for its own pod CIDR.
    bridge = json.loads(in_node(node, "ip", "-j", "-4", "addr", "show", "dev", "ph0"))
    assert bridge[0]["addr_info"][0]["local"] == str(pod_cidr.network_address + 1)
    by_destination = {r["dst"]: r for r in routes_in(node)}
    assert by_destination[str(net.cluster_cidr)]["type"] == "unreachable"
    assert by_destination[str(pod_cidr)]["dev"] == "ph0"

    # The heartbeat: the Lease is renewed every 10 s, owned by the Node.
    first = await eventually(lambda: lease_renew_time(server, node.name), what="a lease")
    await eventually(lambda: lease_renew_time(server, node.name) not in (None, first),
                     timeout=30, what="a renewed lease")
    lease = kubectl_json(server.kubeconfig, "-n", "kube-node-lease", "get", "lease", node.name)
    assert lease["spec"]["holderIdentity"] == node.name
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Node", "name": node.name, "uid": meta["uid"]}]


async def test_the_token_is_used_once_and_a_killed_agent_leaves_the_machine_clean(
    server: Server, namespace_nodes: NodeFactory
) -> None:
    node = await namespace_nodes(pods=False)
    node.start("--token", server.token)
    await eventually(lambda: ready_node(server, node), what="a Ready node",
                     logs=node.agent.log if node.agent else str)
    credentials = node.config().credentials_dir
    certificate = (credentials / "node.crt").read_bytes()
    assert server.token not in "".join(
        p.read_text() for p in credentials.iterdir() if p.is_file())

    # kill -9, then a restart without a token: the node comes back with its certificate.
    assert node.agent is not None
    node.agent.crash()
    before_restart = lease_renew_time(server, node.name)
    node.start()
    await eventually(lambda: lease_renew_time(server, node.name) != before_restart,
                     timeout=30, what="a lease renewed by the restarted agent",
                     logs=node.agent.log)
    assert ready_node(server, node)
    assert (credentials / "node.crt").read_bytes() == certificate

    node.agent.crash()
    config = node.config()
    assert cgroup_exists(config.pods_cgroup_parent)  # the runtime's, left for the next agent
    await remove_namespace_node(node)
    assert not cgroup_exists(config.pods_cgroup_parent)
    assert not node.host.netns_path.exists()
    assert not link_exists(node.host.host_veth)
    assert not node.data_dir.exists()
    assert processes_in(node.host.netns) == []


async def test_nodes_route_to_each_others_pod_cidrs(
    server: Server, namespace_nodes: NodeFactory
) -> None:
    first, second = await namespace_nodes(pods=False), await namespace_nodes(pods=False)
    first.start("--token", server.token)
    second.start("--token", server.token)
    one = await eventually(lambda: ready_node(server, first), what="node 1 Ready",
                           logs=first.agent.log if first.agent else str)
    two = await eventually(lambda: ready_node(server, second), what="node 2 Ready",
                           logs=second.agent.log if second.agent else str)
    assert one["spec"]["podCIDR"] != two["spec"]["podCIDR"]

    def route(node: NodeInNamespace, cidr: str) -> dict | None:
        return next((r for r in routes_in(node) if r["dst"] == cidr), None)

    there = await eventually(lambda: route(first, two["spec"]["podCIDR"]),
                             what="a route to node 2's pods")
    assert IPv4Address(there["gateway"]) == second.host.address
    back = await eventually(lambda: route(second, one["spec"]["podCIDR"]),
                            what="a route to node 1's pods")
    assert IPv4Address(back["gateway"]) == first.host.address

    # A node that leaves takes its route with it.
    assert second.agent is not None
    second.agent.stop()
    kubectl(server.kubeconfig, "delete", "node", second.name)
    await eventually(lambda: route(first, two["spec"]["podCIDR"]) is None,
                     what="the route to a deleted node removed")


async def test_a_token_made_with_token_create_joins_a_node(
    server: Server, namespace_nodes: NodeFactory
) -> None:
    made = run(*pilothouse("token", "create", "--data-dir", str(server.data_dir), "--ttl", "1h"))
    assert made != server.token and made.split("::")[0] == server.token.split("::")[0]
    token_id = made.split("::")[1].split(".")[0]
    secret = kubectl_json(server.kubeconfig, "-n", "kube-system", "get", "secret",
                          f"bootstrap-token-{token_id}")
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert "expiration" in secret["data"]

    node = await namespace_nodes(pods=False)
    node.start("--token", made)
    await eventually(lambda: ready_node(server, node), what="a node joined with a new token",
                     logs=node.agent.log if node.agent else str)

    # A revoked token joins nothing: the agent exits with the server's refusal.
    kubectl(server.kubeconfig, "-n", "kube-system", "delete", "secret",
            f"bootstrap-token-{token_id}")
    other = await namespace_nodes(pods=False)
    agent = other.start("--token", made)
    await eventually(lambda: not agent.running(), what="the refused agent to exit")
    assert agent.process is not None and agent.process.returncode == 1
    assert "HTTP 401" in agent.log()
