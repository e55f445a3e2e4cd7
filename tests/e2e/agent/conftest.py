"""Fixtures of the agent end-to-end tests (root): a server listening on a test node link,
and nodes joined with ``pilothouse agent`` inside network namespaces on that link.

Every name carries a random suffix and every CIDR is chosen free of the machine's routes (in
ranges the network tests do not start from), so these tests run beside other tests. Everything is removed afterwards, on success and on failure: processes (by PID),
containers and cgroups of the nodes, namespaces, veths, the link, data directories.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from agentcluster import (  # noqa: E402
    ClusterNet,
    NodeFactory,
    NodeInNamespace,
    Server,
    free_subnet,
    machine_routes,
    remove_namespace_node,
    start_server,
)
from agenthelpers import HERE, pilothouse  # noqa: E402

from pilothouse.network.nftables import table_exists  # noqa: E402
from pilothouse.network.nodehost import NodeHost, NodeLink, NodeLinkConfig  # noqa: E402

EGRESS_GUARD_TABLE = "pilothouse_egress_guard"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Nodes joining over the network are long scenarios: not in the quick tier.
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.root)
            item.add_marker(pytest.mark.slow)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root (netns, bridges, cgroups)"))


@pytest.fixture(autouse=True)
async def egress_guard() -> None:
    if not await table_exists("inet", EGRESS_GUARD_TABLE):
        pytest.skip("the egress guard is off: run ../shared/tools/egress-guard on")


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A private directory for the test's data directories and logs. Not pytest's tmp_path:
    pytest deletes old base directories when other sessions start, which would pull the
    state of running nodes from under them while other tests run on this machine."""
    path = Path(tempfile.mkdtemp(prefix="pilothouse-agent-e2e-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def net() -> ClusterNet:
    routes = machine_routes()
    return ClusterNet(
        suffix=secrets.token_hex(3),
        # Inside the CIDRs the egress guard keeps on this machine, away from the subnets the
        # network tests take first (the top of 10.244.0.0/16, 10.111.0.0/16).
        cluster_cidr=free_subnet("10.244.64.0/18", 20, routes),
        service_cidr=free_subnet("10.110.0.0/16", 24, routes),
        link_cidr=free_subnet("172.31.224.0/20", 24, routes),
    )


@pytest.fixture
async def node_link(net: ClusterNet) -> AsyncIterator[NodeLink]:
    link = NodeLink(NodeLinkConfig(bridge=f"phl{net.suffix}", cidr=net.link_cidr))
    try:
        await link.ensure()
        yield link
    finally:
        await link.teardown()


@pytest.fixture
async def server(workdir: Path, net: ClusterNet, node_link: NodeLink) -> AsyncIterator[Server]:
    """A server without a node of its own, listening on the node link."""
    started = await start_server(workdir, net, "--disable-agent")
    try:
        yield started
    finally:
        started.process.stop()


@pytest.fixture
def join_server(server: Server) -> Server:
    """The server namespace nodes join (test modules may override it)."""
    return server


@pytest.fixture
async def namespace_nodes(
    workdir: Path, net: ClusterNet, node_link: NodeLink, join_server: Server
) -> AsyncIterator[NodeFactory]:
    """Makes nodes in namespaces; ``pods=False`` runs them without the pod machinery. A
    namespace node has no default route, so nothing its pods send can leave the machine."""
    made: list[NodeInNamespace] = []

    async def make(name_prefix: str = "n", *, pods: bool = True) -> NodeInNamespace:
        name = f"{name_prefix}{net.suffix}{len(made)}"
        host = NodeHost(name, net.node_address(len(made) + 1), link=node_link.config)
        data_dir = workdir / name
        command = ([sys.executable, str(HERE / "agent_without_pods.py")] if not pods
                   else pilothouse("agent"))
        node = NodeInNamespace(
            host=host, data_dir=data_dir, log_path=workdir / f"{name}.log",
            argv=[*command, "--server", join_server.url, "--data-dir", str(data_dir),
                  "--node-name", name, "--log-level", "debug"],
        )
        await host.create()
        made.append(node)
        return node

    try:
        yield make
    finally:
        for node in made:
            await remove_namespace_node(node)



