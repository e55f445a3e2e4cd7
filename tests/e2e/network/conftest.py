"""Fixtures of the network end-to-end tests (root): a test node on the host, a second node
in a network namespace on a test node link, sandboxes as plain network namespaces, TCP
servers inside them.

Every name carries a random suffix and every CIDR is chosen free of the machine's routes,
so the tests run beside a real cluster; everything is removed on success and failure, and
the tests check it. Pod egress of the host test node is blocked
(``block_pod_egress``) and the tests refuse to run unless ../shared/tools/egress-guard is on.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from nethelpers import Servers, free_subnet, main_routes, nth, sh  # noqa: E402
from node_agent import dump_config  # noqa: E402

from pilothouse.network import NodeNetwork, NodeNetworkConfig, PodNetwork  # noqa: E402
from pilothouse.network.nftables import table_exists  # noqa: E402
from pilothouse.network.nodehost import NodeHost, NodeLink, NodeLinkConfig  # noqa: E402

EGRESS_GUARD_TABLE = "pilothouse_egress_guard"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.root)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root (netns, bridges, routes)"))


@pytest.fixture(autouse=True)
async def egress_guard() -> None:
    if not await table_exists("inet", EGRESS_GUARD_TABLE):
        pytest.skip("the egress guard is off: run ../shared/tools/egress-guard on")


@dataclass(frozen=True)
class NetUnderTest:
    """Names and CIDRs of one test, unique on this machine."""

    suffix: str
    cluster_cidr: IPv4Network
    service_cidr: IPv4Network
    link_cidr: IPv4Network

    @property
    def host_pod_cidr(self) -> IPv4Network:
        return next(self.cluster_cidr.subnets(new_prefix=24))

    @property
    def peer_pod_cidr(self) -> IPv4Network:
        return list(self.cluster_cidr.subnets(new_prefix=24))[1]

    @property
    def bridge(self) -> str:
        return f"pht{self.suffix}"


@pytest.fixture
async def net() -> NetUnderTest:
    routes = await main_routes()
    return NetUnderTest(
        suffix=secrets.token_hex(3),
        cluster_cidr=free_subnet(
            list(IPv4Network("10.244.0.0/16").subnets(new_prefix=20))[::-1], routes
        ),
        service_cidr=free_subnet(
            list(IPv4Network("10.111.0.0/16").subnets(new_prefix=24))[::-1], routes
        ),
        link_cidr=free_subnet(
            list(IPv4Network("172.31.240.0/20").subnets(new_prefix=24))[::-1], routes
        ),
    )


@dataclass
class HostNode:
    config: NodeNetworkConfig
    node: NodeNetwork
    pods: PodNetwork


@pytest.fixture
async def host_node(net: NetUnderTest, tmp_path: Path) -> AsyncIterator[HostNode]:
    config = NodeNetworkConfig(
        pod_cidr=net.host_pod_cidr,
        cluster_cidr=net.cluster_cidr,
        service_cidr=net.service_cidr,
        bridge=net.bridge,
        data_dir=tmp_path / "host-node",
        block_pod_egress=True,
    )
    node = NodeNetwork(config)
    pods = PodNetwork(config)
    try:
        await node.ensure()
        yield HostNode(config, node, pods)
    finally:
        try:
            for sandbox in await pods.attached_sandboxes():
                await pods.teardown_sandbox(sandbox)
        finally:
            await node.teardown()
            await asyncio.to_thread(shutil.rmtree, config.data_dir, ignore_errors=True)


@pytest.fixture
async def make_sandbox(net: NetUnderTest) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Creates sandbox namespaces (``ip netns add``), as the runtime's infra process would."""
    created: list[str] = []

    async def make() -> str:
        name = f"phsb-{net.suffix}-{len(created)}"
        await sh("ip", "netns", "add", name)
        created.append(name)
        return name

    try:
        yield make
    finally:
        for name in created:
            await sh("ip", "netns", "delete", name, check=False)


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    started = Servers()
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def node_link(net: NetUnderTest) -> AsyncIterator[NodeLink]:
    link = NodeLink(NodeLinkConfig(bridge=f"phl{net.suffix}", cidr=net.link_cidr))
    try:
        await link.ensure()
        yield link
    finally:
        await link.teardown()


@dataclass
class NamespaceNode:
    """A second node: a namespace host on the node link, driven through node_agent.py."""

    host: NodeHost
    config: NodeNetworkConfig

    @property
    def netns(self) -> str:
        return self.host.netns

    async def agent(self, *args: str) -> dict[str, str]:
        agent = str(Path(__file__).parent / "node_agent.py")
        argv = self.host.command([sys.executable, agent, dump_config(self.config), *args])
        completed = await sh(*argv)
        return json.loads(completed.stdout)


@pytest.fixture
async def namespace_node(
    net: NetUnderTest, node_link: NodeLink, tmp_path: Path
) -> AsyncIterator[NamespaceNode]:
    host = NodeHost(f"t{net.suffix}", nth(net.link_cidr, 2), link=node_link.config)
    config = NodeNetworkConfig(
        pod_cidr=net.peer_pod_cidr,
        cluster_cidr=net.cluster_cidr,
        service_cidr=net.service_cidr,
        data_dir=tmp_path / "namespace-node",
    )
    node = NamespaceNode(host, config)
    await host.create()
    try:
        await node.agent("ensure")
        yield node
    finally:
        try:
            await node.agent("teardown")
        finally:
            await host.destroy()
            await asyncio.to_thread(shutil.rmtree, config.data_dir, ignore_errors=True)
