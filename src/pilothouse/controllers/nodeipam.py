"""NodeIPAMController: gives every Node a pod CIDR (``spec.podCIDR`` and ``spec.podCIDRs``)
carved from the cluster CIDR, as kube-controller-manager's range allocator does.

Guarantees:
- a CIDR is never given to two nodes: the CIDRs in use are those of every Node in the cache
  plus those reserved for a node and not yet seen there, and one worker assigns them one at
  a time; a failed patch is retried with the same reservation;
- a node's CIDR is never changed once set (the API refuses it anyway); a node that already
  has one, e.g. set by hand, keeps it and its CIDR counts as used;
- a deleted node's CIDR is free again once the node is gone from the cache;
- after a restart nothing is remembered but the Nodes themselves: the state is rebuilt from
  them before the first assignment (the informer is synced before workers start);
- candidates are tried from the one after the last assigned, wrapping around, so a CIDR
  just released is not handed out again at once (upstream's cidrset does the same).

When the cluster CIDR is exhausted the node gets a Warning event ``CIDRNotAvailable`` and is
retried with back-off. IPv4 only: one CIDR per node.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from ipaddress import IPv4Network, ip_network
from typing import Any

from pilothouse.api import errors
from pilothouse.client import APIClient, Handlers, InformerFactory, WorkQueue, run_workers

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class CIDRExhausted(Exception):
    """Every node CIDR of the cluster CIDR is in use."""


class NodeCIDRs:
    """The node-sized subnets of the cluster CIDR, handed out round-robin."""

    def __init__(self, cluster_cidr: IPv4Network, mask_size: int):
        if not cluster_cidr.prefixlen <= mask_size <= 30:
            raise ValueError(f"node CIDR mask /{mask_size} does not fit in {cluster_cidr}")
        self.cluster_cidr = cluster_cidr
        self.mask_size = mask_size
        self.count = 2 ** (mask_size - cluster_cidr.prefixlen)
        self._next = 0

    def subnet(self, index: int) -> IPv4Network:
        size = 2 ** (32 - self.mask_size)
        return IPv4Network((int(self.cluster_cidr.network_address) + index * size, self.mask_size))

    def allocate(self, used: set[IPv4Network]) -> IPv4Network:
        for offset in range(self.count):
            index = (self._next + offset) % self.count
            candidate = self.subnet(index)
            if candidate not in used:
                self._next = (index + 1) % self.count
                return candidate
        raise CIDRExhausted(f"no free /{self.mask_size} left in {self.cluster_cidr}")

    def contains(self, cidr: IPv4Network) -> bool:
        return cidr.prefixlen == self.mask_size and cidr.subnet_of(self.cluster_cidr)


class NodeIPAMController:
    name = "nodeipam"

    def __init__(self, *, client: APIClient, informers: InformerFactory, cluster_cidr: str,
                 node_cidr_mask_size: int = 24):
        self.client = client
        self.cidrs = NodeCIDRs(IPv4Network(cluster_cidr), node_cidr_mask_size)
        self.nodes = informers.informer("", "v1", "nodes")
        self.queue: WorkQueue[str] = WorkQueue(name=self.name)
        # Assigned by us, not yet in the cache: node name -> CIDR.
        self.assigned: dict[str, IPv4Network] = {}
        self.nodes.add_handlers(Handlers(
            on_add=self._enqueue,
            on_update=lambda old, new: self._enqueue(new),
            on_delete=self._enqueue,
        ))

    def _enqueue(self, node: Obj) -> None:
        self.queue.add(node["metadata"]["name"])

    async def run(self) -> None:
        await self.nodes.wait_synced()
        try:
            await run_workers(self.queue, self.sync, workers=1)
        finally:
            self.queue.shutdown()

    async def sync(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None or pod_cidr(node) is not None:
            self.assigned.pop(name, None)  # gone, or its CIDR is visible in the cache now
            return
        # A CIDR reserved by an earlier attempt is patched again, never replaced: the
        # earlier patch may have reached the API even if its answer did not reach us.
        cidr = self.assigned.get(name)
        if cidr is None:
            try:
                cidr = self.cidrs.allocate(self.used())
            except CIDRExhausted:
                await self._record_not_available(node)
                raise
            self.assigned[name] = cidr
        try:
            await self.client["nodes"].patch(
                name, {"spec": {"podCIDR": str(cidr), "podCIDRs": [str(cidr)]}},
                patch_type="strategic",
            )
        except errors.NotFound:
            self.assigned.pop(name, None)
            return
        log.info("node %s: pod CIDR %s", name, cidr)

    def used(self) -> set[IPv4Network]:
        used = set(self.assigned.values())
        for node in self.nodes.list():
            cidr = pod_cidr(node)
            if cidr is None:
                continue
            if self.cidrs.contains(cidr):
                used.add(cidr)
            elif cidr.overlaps(self.cidrs.cluster_cidr):
                # Not one of our subnets but inside the cluster CIDR: keep off all it covers.
                used.update(c for c in _subnets_overlapping(self.cidrs, cidr))
        return used

    async def _record_not_available(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.{secrets.token_hex(8)}", "namespace": "default"},
            # The node controllers' reference: Nodes are named by their name, also as UID.
            "involvedObject": {"kind": "Node", "name": name, "uid": name},
            "reason": "CIDRNotAvailable",
            "message": f"Node {name} status is now: CIDRNotAvailable",
            "source": {"component": "cidrAllocator"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": "Normal",
        }
        try:
            await self.client["events"].create(event)
        except errors.StatusError as e:
            log.warning("recording CIDRNotAvailable for node %s failed: %s", name, e)


def pod_cidr(node: Obj) -> IPv4Network | None:
    text = (node.get("spec") or {}).get("podCIDR") or ""
    try:
        network = ip_network(text)
    except ValueError:
        return None
    return network if isinstance(network, IPv4Network) else None


def _subnets_overlapping(cidrs: NodeCIDRs, cidr: IPv4Network) -> list[IPv4Network]:
    if cidr.prefixlen >= cidrs.mask_size:
        return [cidr.supernet(new_prefix=cidrs.mask_size)]
    if cidr.supernet_of(cidrs.cluster_cidr):
        return [cidrs.subnet(i) for i in range(cidrs.count)]
    return list(cidr.subnets(new_prefix=cidrs.mask_size))
