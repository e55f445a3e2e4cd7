"""The clusters of the agent end-to-end tests: a server on a test node link, the server's
own node on the host, nodes in network namespaces, free CIDRs, and removing it all."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from agenthelpers import (
    HERE,
    Process,
    eventually,
    kubectl,
    kubectl_json,
    pilothouse,
    remove_node_runtime,
)

from pilothouse.cli.agent import kubelet_config
from pilothouse.kubelet.config import KubeletConfig
from pilothouse.network import NodeNetwork, NodeNetworkConfig
from pilothouse.network.nodehost import NodeHost
from pilothouse.runtime.images.busybox import ensure_busybox_image
from pilothouse.runtime.images.store import ImageStore


def machine_routes() -> list[IPv4Network]:
    listed = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "table", "main"],
                                       capture_output=True, text=True, check=True).stdout)
    return [IPv4Network("0.0.0.0/0" if r["dst"] == "default" else r["dst"]) for r in listed]


def free_subnet(pool: str, prefix: int, routes: list[IPv4Network]) -> IPv4Network:
    """A random subnet of ``pool`` that no route overlaps (except a covering one)."""
    candidates = list(IPv4Network(pool).subnets(new_prefix=prefix))
    for candidate in sorted(candidates, key=lambda _: secrets.randbits(32)):
        if not any(route.overlaps(candidate) and route.prefixlen > 0
                   and not route.supernet_of(candidate) for route in routes):
            return candidate
    raise AssertionError(f"no free subnet in {pool}")


@dataclass(frozen=True)
class ClusterNet:
    suffix: str
    cluster_cidr: IPv4Network
    service_cidr: IPv4Network
    link_cidr: IPv4Network

    @property
    def server_address(self) -> IPv4Address:
        return self.link_cidr.network_address + 1

    def node_address(self, index: int) -> IPv4Address:
        return self.link_cidr.network_address + 1 + index


@dataclass
class Server:
    process: Process
    data_dir: Path
    url: str

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def token(self) -> str:
        return (self.data_dir / "token").read_text().strip()

    def node(self, name: str) -> dict | None:
        return kubectl_json(self.kubeconfig, "get", "node", name)


@dataclass
class NodeInNamespace:
    """A node joined with ``pilothouse agent`` inside its own network namespace."""

    host: NodeHost
    data_dir: Path
    argv: list[str]
    log_path: Path
    agent: Process | None = None
    runs: list[Process] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.host.name

    def start(self, *extra: str) -> Process:
        # nsenter, not `ip netns exec`: that remounts /sys for the namespace, which hides
        # the cgroup hierarchies the container runtime needs.
        argv = ["nsenter", f"--net={self.host.netns_path}", "--", *self.argv, *extra]
        self.agent = Process(argv, self.log_path).start()
        self.runs.append(self.agent)
        return self.agent

    def config(self):  # type: ignore[no-untyped-def]
        return kubelet_config(self.data_dir, node_name=self.name, node_ip="", node_label=(),
                              node_taint=(), kubelet_port=10250, pod_bridge="ph0",
                              block_pod_egress=False)


async def start_server(workdir: Path, net: ClusterNet, *args: str, pods: bool = True) -> Server:
    """``pilothouse server`` on the node link; ``pods=False`` runs its own node (if any)
    without the pod machinery."""
    data_dir = workdir / "server"
    data_dir.mkdir(exist_ok=True)
    address = str(net.server_address)
    port = free_port(address)
    command = pilothouse("server") if pods else [sys.executable, str(HERE / "server_without_pods.py")]
    process = Process([
        *command, "--data-dir", str(data_dir), "--bind-address", address,
        "--https-listen-port", str(port), "--cluster-cidr", str(net.cluster_cidr),
        "--service-cidr", str(net.service_cidr), "--log-level", "debug", *args,
    ], workdir / "server.log").start()
    server = Server(process, data_dir, f"https://{address}:{port}")

    def ready() -> bool:
        assert process.running(), f"the server exited:\n{process.log()}"
        return (data_dir / "token").exists() and kubectl(
            server.kubeconfig, "get", "--raw", "/readyz", check=False).returncode == 0

    await eventually(ready, what="a ready server", logs=process.log)
    return server


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


@dataclass
class ServerWithNode:
    """A server whose own node runs on the host, on a bridge and CIDRs of this test only, its
    pods' traffic to anything outside the cluster dropped."""

    server: Server
    node: KubeletConfig

    @property
    def node_name(self) -> str:
        return self.node.node_name


async def start_server_with_node(workdir: Path, net: ClusterNet, *, pods: bool) -> ServerWithNode:
    name, bridge = f"s{net.suffix}", f"phb{net.suffix}"
    address = str(net.server_address)
    port = free_port(address)
    config = dataclasses.replace(
        kubelet_config(workdir / "server", node_name=name, node_ip=address, node_label=(),
                       node_taint=(), kubelet_port=port, pod_bridge=bridge,
                       block_pod_egress=True),
        cluster_cidr=str(net.cluster_cidr), service_cidr=str(net.service_cidr),
    )
    if pods:
        ensure_busybox_image(ImageStore(config.images_root))
    server = await start_server(
        workdir, net, "--node-name", name, "--node-ip", address, "--pod-bridge", bridge,
        "--kubelet-port", str(port), "--block-pod-egress", pods=pods,
    )
    return ServerWithNode(server, config)


async def remove_host_node(started: ServerWithNode) -> None:
    """Stops the server, then removes its node's containers, cgroups and network."""
    node = started.server.node(started.node_name)
    started.server.process.stop()
    try:
        await remove_node_runtime(started.node)
    finally:
        pod_cidr = ((node or {}).get("spec") or {}).get("podCIDR")
        if pod_cidr:
            await NodeNetwork(node_network_config(started.node, pod_cidr)).teardown()
        await asyncio.to_thread(shutil.rmtree, started.node.data_dir, ignore_errors=True)


def node_network_config(config: KubeletConfig, pod_cidr: str) -> NodeNetworkConfig:
    return NodeNetworkConfig(
        pod_cidr=IPv4Network(pod_cidr), data_dir=config.network_dir,
        cluster_cidr=IPv4Network(config.cluster_cidr),
        service_cidr=IPv4Network(config.service_cidr),
        bridge=config.bridge, block_pod_egress=config.block_pod_egress,
    )


NodeFactory = Callable[..., Awaitable[NodeInNamespace]]


async def remove_namespace_node(node: NodeInNamespace) -> None:
    for run in node.runs:
        run.stop()
    try:
        await remove_node_runtime(node.config())
    finally:
        await node.host.destroy()
        await asyncio.to_thread(shutil.rmtree, node.data_dir, ignore_errors=True)
