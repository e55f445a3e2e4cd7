"""Node-level network setup: the bridge, the routes that keep cluster traffic on the machine,
forwarding, masquerade, and host-gw routes to other nodes' pods.

After ``ensure()`` (idempotent; run at agent start, again at will):

- bridge ``config.bridge`` is up and carries exactly the gateway address (first host of the
  pod CIDR), so the pod CIDR is routed locally; bridged IPv4 passes through netfilter
  (per-bridge ``nf_call_iptables``) so service NAT also works between pods on one bridge;
- every cluster CIDR is local or unreachable, never sent to a default route: the cluster
  CIDR is ``unreachable`` except the node's pod CIDR and the pod CIDRs of nodes with a
  host-gw route; the service CIDR is routed to the bridge, because a blackhole or
  unreachable route there makes locally generated connections to service IPs fail before
  nftables can rewrite them (measured, see DESIGN.md), while on the bridge a packet to an
  unprogrammed service IP goes nowhere;
- ``net.ipv4.ip_forward`` is 1 (pod to service, pod to other node). It is a host-wide
  switch others may rely on, so teardown leaves it on, like every Kubernetes node agent;
- table ``ip pilothouse_<bridge>`` masquerades pod traffic to destinations outside the
  cluster (the internal destinations keep pod source IPs) or, with ``block_pod_egress``,
  drops it.

Everything created is recorded (``nodestate``) before it is created, and ``teardown()``
removes exactly what the record lists. An interface or a route in the way that this node did
not create is never adopted or changed: ``ensure`` raises NodeNetworkConflict instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from . import nftables, sysctl
from .cni import portmap
from .config import NodeNetworkConfig
from .netlink import ignore_absent, ipv4_addresses, link_index, main_routes
from .nodestate import NodeState, OwnedRoute, load_state, save_state
from .process import CommandFailed, CommandTimeout


class NodeNetworkError(Exception):
    """The node network could not be set up or changed."""


class NodeNetworkConflict(NodeNetworkError):
    """Something this node did not create is in the way (an interface, a route)."""


class NodeNetwork:
    def __init__(self, config: NodeNetworkConfig):
        self.config = config
        self._lock = asyncio.Lock()

    async def ensure(self) -> None:
        async with self._lock, _system_errors("set up the node network"):
            state = await self._load()
            async with AsyncIPRoute() as ipr:
                bridge_index = await self._ensure_bridge(ipr, state)
                for route in self._base_routes():
                    await self._ensure_route(ipr, state, route, bridge_index)
            await sysctl.ensure("net.ipv4.ip_forward", "1")
            await self._ensure_table(state)

    async def teardown(self) -> None:
        """Removes everything ``ensure`` and the route calls created; idempotent."""
        async with self._lock:
            await teardown_recorded(self.config.state_file)

    async def add_node_route(self, pod_cidr: IPv4Network, via: IPv4Address) -> None:
        """Routes another node's pod CIDR through that node's address (host-gw)."""
        self._validate_node_route(pod_cidr, via)
        async with self._lock, AsyncIPRoute() as ipr:
            state = await self._load()
            route = OwnedRoute(pod_cidr, "via", via=via)
            await self._ensure_route(ipr, state, route, None)

    async def remove_node_route(self, pod_cidr: IPv4Network) -> None:
        async with self._lock, AsyncIPRoute() as ipr:
            state = await self._load()
            await self._remove_node_route(ipr, state, pod_cidr)

    async def sync_node_routes(self, routes: Mapping[IPv4Network, IPv4Address]) -> None:
        """Makes the host-gw routes exactly ``routes`` (pod CIDR -> node address)."""
        for pod_cidr, via in routes.items():
            self._validate_node_route(pod_cidr, via)
        async with self._lock, AsyncIPRoute() as ipr:
            state = await self._load()
            for pod_cidr, via in state.node_routes().items():
                if routes.get(pod_cidr) != via:
                    await self._remove_node_route(ipr, state, pod_cidr)
            for pod_cidr, via in routes.items():
                await self._ensure_route(ipr, state, OwnedRoute(pod_cidr, "via", via=via), None)

    async def node_routes(self) -> dict[IPv4Network, IPv4Address]:
        return (await self._load()).node_routes()

    def _base_routes(self) -> list[OwnedRoute]:
        return [
            OwnedRoute(self.config.cluster_cidr, "unreachable"),
            OwnedRoute(self.config.service_cidr, "link", device=self.config.bridge),
        ]

    def _validate_node_route(self, pod_cidr: IPv4Network, via: IPv4Address) -> None:
        config = self.config
        if not pod_cidr.subnet_of(config.cluster_cidr) or pod_cidr == config.cluster_cidr:
            raise ValueError(f"{pod_cidr} is not a node pod CIDR inside {config.cluster_cidr}")
        if pod_cidr.overlaps(config.pod_cidr):
            raise ValueError(f"{pod_cidr} overlaps this node's pod CIDR {config.pod_cidr}")
        if via in config.cluster_cidr or via in config.service_cidr:
            raise ValueError(f"node address {via} is inside a cluster CIDR")
        if via.is_unspecified or via.is_loopback or via.is_multicast:
            raise ValueError(f"{via} cannot be a node address")

    async def _ensure_bridge(self, ipr: AsyncIPRoute, state: NodeState) -> int:
        name = self.config.bridge
        if state.bridge not in (None, name):
            raise NodeNetworkConflict(
                f"this node's network uses bridge {state.bridge}; tear it down before "
                f"switching to {name}"
            )
        index = await link_index(ipr, name)
        if index is not None and state.bridge != name:
            raise NodeNetworkConflict(
                f"interface {name} exists but was not created by this node's network setup"
            )
        if index is None:
            state.bridge = name
            await self._save(state)
            await ipr.link("add", ifname=name, kind="bridge")
            index = await link_index(ipr, name)
            assert index is not None
        await ipr.link("set", index=index, kind="bridge", br_nf_call_iptables=1)
        if self.config.mtu is not None:
            await ipr.link("set", index=index, mtu=self.config.mtu)
        await self._ensure_gateway_address(ipr, index)
        await ipr.link("set", index=index, state="up")
        return index

    async def _ensure_gateway_address(self, ipr: AsyncIPRoute, index: int) -> None:
        gateway = self.config.gateway_interface
        addresses = await ipv4_addresses(ipr, index)
        for address in addresses:
            if address != gateway:
                # Left over from an earlier pod CIDR of this node: the bridge is ours.
                await ipr.addr("del", index=index, address=str(address.ip),
                               prefixlen=address.network.prefixlen)
        if gateway not in addresses:
            await ipr.addr("add", index=index, address=str(gateway.ip),
                           prefixlen=gateway.network.prefixlen)

    async def _ensure_route(
        self, ipr: AsyncIPRoute, state: NodeState, route: OwnedRoute, bridge_index: int | None
    ) -> None:
        existing = [message for dst, message in await main_routes(ipr) if dst == route.dst]
        if any(route.matches(message, bridge_index) for message in existing):
            return
        recorded = state.route_to(route.dst)
        if existing and recorded is None:
            raise NodeNetworkConflict(
                f"a route to {route.dst} exists that this node did not create; "
                f"it would need {route.describe()}"
            )
        state.record_route(route)
        await self._save(state)
        try:
            await ipr.route("replace", **route.netlink_args(bridge_index))
        except NetlinkError as exc:
            if recorded is None:
                state.forget_route(route.dst)
            else:
                state.record_route(recorded)
            await self._save(state)
            raise NodeNetworkError(f"cannot add route {route.describe()}: {exc}") from exc

    async def _remove_node_route(
        self, ipr: AsyncIPRoute, state: NodeState, pod_cidr: IPv4Network
    ) -> None:
        route = state.route_to(pod_cidr)
        if route is None or route.kind != "via":
            return
        await _delete_route(ipr, route, None)
        state.forget_route(pod_cidr)
        await self._save(state)

    async def _ensure_table(self, state: NodeState) -> None:
        table = self.config.nft_table
        if state.nft_table != table:
            if state.nft_table:
                await nftables.delete_table("ip", state.nft_table)
            state.nft_table = table
            await self._save(state)
        body = nftables.node_table_body(
            pod_cidr=self.config.pod_cidr,
            internal=self.config.internal_destinations,
            block_pod_egress=self.config.block_pod_egress,
        )
        await nftables.replace_table("ip", table, body)

    async def _load(self) -> NodeState:
        return await asyncio.to_thread(load_state, self.config.state_file)

    async def _save(self, state: NodeState) -> None:
        await asyncio.to_thread(save_state, self.config.state_file, state)


async def teardown_recorded(state_file: Path) -> None:
    """Removes what a node network recorded in ``state_file`` (see ``NodeNetworkConfig.
    state_file``): usable without the node's settings, e.g. after the cluster is gone."""
    async with _system_errors("tear down the node network"):
        state = await asyncio.to_thread(load_state, state_file)
        if state.nft_table:
            await nftables.delete_table("ip", state.nft_table)
        async with AsyncIPRoute() as ipr:
            bridge_index = await link_index(ipr, state.bridge) if state.bridge else None
            for route in state.routes:
                await _delete_route(ipr, route, bridge_index)
            if bridge_index is not None:
                await ignore_absent(ipr.link("del", index=bridge_index))
        # The hostPort chains portmap shares between sandboxes, once no sandbox uses them.
        await portmap.remove_shared_chains()
        await asyncio.to_thread(state_file.unlink, missing_ok=True)


@asynccontextmanager
async def _system_errors(doing: str) -> AsyncIterator[None]:
    """Reports netlink and nft failures as NodeNetworkError."""
    try:
        yield
    except (NetlinkError, CommandFailed, CommandTimeout) as exc:
        raise NodeNetworkError(f"cannot {doing}: {exc}") from exc


async def _delete_route(ipr: AsyncIPRoute, route: OwnedRoute, bridge_index: int | None) -> None:
    if route.kind == "link" and bridge_index is None:
        return  # its device is gone, and the route went with it
    await ignore_absent(ipr.route("del", **route.netlink_args(bridge_index)))
