"""Nodes as network namespaces on one machine, for multi-node clusters and tests.

Like kind's node containers, each extra node is a network namespace "host" whose ``eth0`` is
one end of a veth pair; the other end is attached to the node link, a bridge in the
machine's namespace that carries the first address of a private node network (default
172.31.255.0/24, chosen because no real route of the development machines uses it; the
link refuses to start if any route overlaps its network). The machine reaches every node at
its address and every node reaches the machine at the link address; a node has no default
route, so nothing a node or its pods send can leave the machine. Processes run in a node
with ``ip netns exec <netns>`` (see ``NodeHost.command``), where ``NodeNetwork`` and
``PodNetwork`` then set up that node's own bridge, routes and tables.

Every object is identified by name (link bridge, ``phnode-<name>`` namespace, veth named by a
hash of the node name); teardown removes those names and nothing else, and refuses to delete
a bridge that does not carry the link's address.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

from pyroute2 import AsyncIPRoute

from .netlink import ipv4_addresses, link_index, main_routes
from .node import NodeNetworkConflict
from .process import check_output

DEFAULT_NODE_LINK_CIDR = IPv4Network("172.31.255.0/24")
DEFAULT_NODE_LINK_BRIDGE = "phnodes0"
NETNS_DIR = Path("/run/netns")
_NODE_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


@dataclass(frozen=True)
class NodeLinkConfig:
    bridge: str = DEFAULT_NODE_LINK_BRIDGE
    cidr: IPv4Network = DEFAULT_NODE_LINK_CIDR

    @property
    def host_address(self) -> IPv4Interface:
        """The machine's own address on the link (the first host of the network)."""
        return IPv4Interface(f"{self.cidr.network_address + 1}/{self.cidr.prefixlen}")


class NodeLink:
    """The bridge joining the machine and its namespace nodes."""

    def __init__(self, config: NodeLinkConfig):
        self.config = config

    async def ensure(self) -> None:
        async with AsyncIPRoute() as ipr:
            index = await link_index(ipr, self.config.bridge)
            if index is not None and not await self._is_ours(ipr, index):
                raise NodeNetworkConflict(
                    f"interface {self.config.bridge} exists without address "
                    f"{self.config.host_address}"
                )
            await self._refuse_overlapping_routes(ipr, index)
            if index is None:
                await ipr.link("add", ifname=self.config.bridge, kind="bridge")
                index = await link_index(ipr, self.config.bridge)
                address = self.config.host_address
                await ipr.addr("add", index=index, address=str(address.ip),
                               prefixlen=address.network.prefixlen)
            await ipr.link("set", index=index, state="up")

    async def teardown(self) -> None:
        async with AsyncIPRoute() as ipr:
            index = await link_index(ipr, self.config.bridge)
            if index is not None and await self._is_ours(ipr, index):
                await ipr.link("del", index=index)

    async def _is_ours(self, ipr: AsyncIPRoute, index: int) -> bool:
        return self.config.host_address in await ipv4_addresses(ipr, index)

    async def _refuse_overlapping_routes(self, ipr: AsyncIPRoute, own_index: int | None) -> None:
        for network, message in await main_routes(ipr):
            if network.prefixlen == 0:
                continue  # the default route overlaps everything and routes none of it here
            if own_index is not None and message.get("oif") == own_index:
                continue
            if network.overlaps(self.config.cidr):
                raise NodeNetworkConflict(
                    f"node link network {self.config.cidr} overlaps the route to {network}"
                )


class NodeHost:
    """One node namespace on the link, at ``address``."""

    def __init__(self, name: str, address: IPv4Address, *, link: NodeLinkConfig):
        if not _NODE_NAME_RE.match(name):
            raise ValueError(f"invalid node name {name!r}")
        if address not in link.cidr or address == link.host_address.ip:
            raise ValueError(f"{address} is not a free node address in {link.cidr}")
        self.name = name
        self.address = address
        self.link = link
        self.netns = f"phnode-{name}"
        self.host_veth = "phv" + hashlib.sha256(name.encode()).hexdigest()[:10]

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns

    @property
    def interface(self) -> IPv4Interface:
        return IPv4Interface(f"{self.address}/{self.link.cidr.prefixlen}")

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the node."""
        return ["ip", "netns", "exec", self.netns, *argv]

    async def create(self) -> None:
        """Creates the namespace and its link; on failure leaves nothing behind."""
        if self.netns_path.exists():
            raise NodeNetworkConflict(f"network namespace {self.netns} already exists")
        await check_output(["ip", "netns", "add", self.netns])
        try:
            await self._wire()
        except BaseException:
            await self.destroy()
            raise

    async def destroy(self) -> None:
        """Removes the veth and the namespace. Stop the node's processes first: the kernel
        keeps a namespace alive while a process is in it."""
        async with AsyncIPRoute() as ipr:
            index = await link_index(ipr, self.host_veth)
            if index is not None:
                await ipr.link("del", index=index)
        if self.netns_path.exists():
            await check_output(["ip", "netns", "delete", self.netns])

    async def _wire(self) -> None:
        async with AsyncIPRoute() as ipr:
            bridge_index = await link_index(ipr, self.link.bridge)
            if bridge_index is None:
                raise NodeNetworkConflict(f"node link {self.link.bridge} does not exist")
            await ipr.link(
                "add",
                ifname=self.host_veth,
                kind="veth",
                peer={"ifname": "eth0", "net_ns_fd": self.netns},
            )
            index = await link_index(ipr, self.host_veth)
            await ipr.link("set", index=index, master=bridge_index, state="up")
        async with AsyncIPRoute(netns=self.netns) as inside:
            for name in ("lo", "eth0"):
                index = await link_index(inside, name)
                if name == "eth0":
                    await inside.addr("add", index=index, address=str(self.address),
                                      prefixlen=self.link.cidr.prefixlen)
                await inside.link("set", index=index, state="up")

