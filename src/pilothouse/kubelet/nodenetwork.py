"""The node's pod network over the agent's life: set up once the node has a pod CIDR, then
host-gw routes to every other node's pod CIDR kept in step with the Node objects.

``run()`` waits until the server (the node IPAM controller) gives this node ``spec.podCIDR``,
sets up the node network (bridge, routes that keep cluster traffic local, masquerade or the
egress block) retrying until it succeeds, hands the CNI network to the runtime's plug-in,
then routes each other node's pod CIDR through that node's InternalIP: at every change of a
Node and at least every minute (repairing a route someone deleted). A node whose CIDR or
address cannot be routed (outside the cluster CIDR, overlapping ours, not IPv4) is skipped.

Nothing is torn down when the agent stops: pods keep running and keep their network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import Any

from pilothouse.client import Handlers, Informer
from pilothouse.kubelet.config import KubeletConfig
from pilothouse.kubelet.sandboxnetwork import SandboxNetwork
from pilothouse.network import NodeNetwork, NodeNetworkConfig, NodeNetworkError, PodNetwork

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Routes = dict[IPv4Network, IPv4Address]

RESYNC_SECONDS = 60.0
RETRY_START, RETRY_MAX = 0.5, 30.0


class NodeNetworkManager:
    def __init__(
        self,
        config: KubeletConfig,
        *,
        nodes: Informer,
        sandbox_network: SandboxNetwork,
        on_change: Callable[[], None] = lambda: None,
    ):
        self.config = config
        self.nodes = nodes
        self.sandbox_network = sandbox_network
        self.on_change = on_change  # the node status has something new to say
        self.ready = asyncio.Event()
        self.network: NodeNetwork | None = None
        self.error = ""
        self._nodes_changed = asyncio.Event()
        nodes.add_handlers(Handlers(
            on_add=lambda _node: self._nodes_changed.set(),
            on_update=lambda _old, _new: self._nodes_changed.set(),
            on_delete=lambda _node: self._nodes_changed.set(),
        ))

    def problem(self) -> str:
        """Why pods cannot be networked yet ("" once they can)."""
        if self.error:
            return ("container runtime network not ready: NetworkReady=false "
                    f"reason:NetworkPluginNotReady message:{self.error}")
        return self.sandbox_network.problem()

    async def run(self) -> None:
        pod_cidr = await self.wait_for_pod_cidr()
        network_config = self.network_config(pod_cidr)
        self.network = NodeNetwork(network_config)
        await self._ensure(self.network)
        self.sandbox_network.use(PodNetwork(network_config))
        self.ready.set()
        self.on_change()
        log.info("node network up: pod CIDR %s on bridge %s", pod_cidr, self.config.bridge)
        await self._keep_routes(self.network)

    def network_config(self, pod_cidr: IPv4Network) -> NodeNetworkConfig:
        return NodeNetworkConfig(
            pod_cidr=pod_cidr,
            data_dir=self.config.network_dir,
            cluster_cidr=IPv4Network(self.config.cluster_cidr),
            service_cidr=IPv4Network(self.config.service_cidr),
            bridge=self.config.bridge,
            block_pod_egress=self.config.block_pod_egress,
        )

    async def wait_for_pod_cidr(self) -> IPv4Network:
        while True:
            node = self.nodes.get(self.config.node_name)
            cidr = ((node or {}).get("spec") or {}).get("podCIDR")
            if cidr:
                return IPv4Network(cidr)
            self._nodes_changed.clear()
            await self._nodes_changed.wait()

    async def _ensure(self, network: NodeNetwork) -> None:
        delay = RETRY_START
        while True:
            try:
                await network.ensure()
                self.error = ""
                return
            except NodeNetworkError as e:
                self.error = str(e)
                self.on_change()
                log.error("setting up the node network failed: %s; retrying in %.1fs", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _keep_routes(self, network: NodeNetwork) -> None:
        delay = RETRY_START
        while True:
            self._nodes_changed.clear()
            try:
                await network.sync_node_routes(self.desired_routes())
                delay = RETRY_START
                wait = RESYNC_SECONDS
            except Exception as e:  # netlink, a conflicting route...: never fatal, retried
                log.error("syncing routes to other nodes failed: %s; retrying in %.1fs", e, delay)
                wait, delay = delay, min(delay * 2, RETRY_MAX)
            try:
                await asyncio.wait_for(self._nodes_changed.wait(), wait)
            except TimeoutError:
                pass

    def desired_routes(self) -> Routes:
        """Pod CIDR -> InternalIP of every other node that can be routed to."""
        assert self.network is not None
        own = self.network.config
        routes: Routes = {}
        for node in self.nodes.list():
            if node["metadata"]["name"] == self.config.node_name:
                continue
            route = node_route(node, own)
            if route is not None:
                routes[route[0]] = route[1]
        return routes


def node_route(node: Obj, own: NodeNetworkConfig) -> tuple[IPv4Network, IPv4Address] | None:
    """(pod CIDR, InternalIP) of another node, or None if it cannot be a host-gw route."""
    cidr_text = (node.get("spec") or {}).get("podCIDR") or ""
    address_text = next(
        (a.get("address") for a in (node.get("status") or {}).get("addresses") or []
         if a.get("type") == "InternalIP"), "",
    )
    try:
        cidr, address = ip_network(cidr_text), ip_address(address_text)
    except ValueError:
        return None
    if not isinstance(cidr, IPv4Network) or not isinstance(address, IPv4Address):
        return None
    routable_cidr = (cidr.subnet_of(own.cluster_cidr) and cidr != own.cluster_cidr
                     and not cidr.overlaps(own.pod_cidr))
    routable_address = not (address in own.cluster_cidr or address in own.service_cidr
                            or address.is_loopback or address.is_unspecified
                            or address.is_multicast)
    return (cidr, address) if routable_cidr and routable_address else None
