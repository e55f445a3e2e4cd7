"""Cluster IP and node port allocation for Services.

Each allocated IP or port is a key in the store (``/registry/core/allocations/...``) whose value
names its owner. ``store.create`` of that key is the allocation, so two API servers sharing a
store can never hand out the same address (the same idea as Kubernetes' IPAddress objects).
Allocations are made before the Service is written and released if that write fails; a repair
pass at start-up releases what a crash between the two left behind.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable

from pilothouse.api import errors
from pilothouse.store import interface as kv
from pilothouse.store.interface import Store

IP_PREFIX = "/registry/core/allocations/serviceips/"
PORT_PREFIX = "/registry/core/allocations/nodeports/"
NODE_PORT_RANGE = (30000, 32767)


class Exhausted(Exception):
    pass


class _KeyAllocator:
    """Allocates values of a finite range as store keys."""

    def __init__(self, *, store: Store, prefix: str, what: str):
        self.store = store
        self.prefix = prefix
        self.what = what

    def _candidates(self) -> Iterable[str]:
        raise NotImplementedError

    def contains(self, value: str) -> bool:
        raise NotImplementedError

    async def allocate(self, value: str, owner: str) -> None:
        """Allocate a specific value; Invalid-style message when it is taken."""
        if not self.contains(value):
            raise ValueError(f"provided {self.what} is not in the valid range")
        try:
            await self.store.create(self.prefix + value, owner.encode())
        except kv.KeyExists:
            current = await self.store.get(self.prefix + value)
            if current is not None and current.value.decode() == owner:
                return  # already ours (a retried request)
            raise ValueError(f"provided {self.what} is already allocated") from None

    async def allocate_next(self, owner: str) -> str:
        """Allocate any free value."""
        for value in self._candidates():
            try:
                await self.store.create(self.prefix + value, owner.encode())
                return value
            except kv.KeyExists:
                continue
        raise Exhausted(f"range is full: no free {self.what}")

    async def release(self, value: str) -> None:
        try:
            await self.store.delete(self.prefix + value)
        except kv.KeyNotFound:
            pass

    async def allocated(self) -> dict[str, str]:
        """value -> owner of every allocation."""
        result = await self.store.range(self.prefix)
        return {k.key[len(self.prefix):]: k.value.decode() for k in result.kvs}


class ClusterIPAllocator(_KeyAllocator):
    def __init__(self, *, store: Store, cidr: str):
        super().__init__(store=store, prefix=IP_PREFIX, what="IP")
        self.network = ipaddress.ip_network(cidr)

    @property
    def first(self) -> str:
        """The first usable address: the ``kubernetes`` Service's."""
        return str(self.network.network_address + 1)

    def contains(self, value: str) -> bool:
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return False
        return ip in self.network and ip not in (
            self.network.network_address,
            self.network.broadcast_address,
        )

    def _candidates(self) -> Iterable[str]:
        # Random probing first (cheap while the range is mostly free), then a full scan so
        # that a nearly full range still finds its last free addresses.
        size = self.network.num_addresses - 2
        base = self.network.network_address + 1
        for _ in range(min(size, 64)):
            yield str(base + random.randrange(size))
        offset = random.randrange(size)
        for i in range(size):
            yield str(base + (offset + i) % size)


class NodePortAllocator(_KeyAllocator):
    def __init__(self, *, store: Store, port_range: tuple[int, int] = NODE_PORT_RANGE):
        super().__init__(store=store, prefix=PORT_PREFIX, what="port")
        self.low, self.high = port_range

    def contains(self, value: str) -> bool:
        return value.isdigit() and self.low <= int(value) <= self.high

    def _candidates(self) -> Iterable[str]:
        size = self.high - self.low + 1
        offset = random.randrange(size)
        for i in range(size):
            yield str(self.low + (offset + i) % size)


def service_ips(service: dict) -> list[str]:
    spec = service.get("spec") or {}
    ips = list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []))
    return [ip for ip in ips if ip and ip != "None"]


def service_node_ports(service: dict) -> list[int]:
    spec = service.get("spec") or {}
    ports = [p.get("nodePort") for p in spec.get("ports") or []]
    if spec.get("healthCheckNodePort"):
        ports.append(spec["healthCheckNodePort"])
    return sorted({p for p in ports if p})


class ServiceAllocations:
    """Fills in and releases a Service's cluster IP and node ports."""

    def __init__(self, *, store: Store, service_cidr: str):
        self.ips = ClusterIPAllocator(store=store, cidr=service_cidr)
        self.ports = NodePortAllocator(store=store)

    async def allocate(self, service: dict, old: dict | None = None) -> list[tuple[str, str]]:
        """Allocate what ``service`` needs and ``old`` did not have. Returns what was taken
        (to release on failure). Raises Invalid when a requested value is unavailable."""
        meta = service["metadata"]
        owner = f"{meta.get('namespace', '')}/{meta['name']}"
        spec = service.setdefault("spec", {})
        taken: list[tuple[str, str]] = []
        held_ips = set(service_ips(old)) if old else set()
        held_ports = set(service_node_ports(old)) if old else set()
        try:
            await self._allocate_ip(spec, owner, held_ips, taken)
            await self._allocate_ports(spec, owner, held_ports, taken)
        except BaseException:
            await self.release(taken)
            raise
        return taken

    async def _allocate_ip(
        self, spec: dict, owner: str, held: set[str], taken: list[tuple[str, str]]
    ) -> None:
        if spec.get("type") == "ExternalName":
            return
        requested = spec.get("clusterIP") or ((spec.get("clusterIPs") or [None])[0])
        if requested == "None":
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            return
        if requested and requested in held:
            return
        if requested:
            try:
                await self.ips.allocate(requested, owner)
            except ValueError as e:
                raise _invalid_service(
                    owner, "spec.clusterIPs", [requested], f"failed to allocate IP {requested}: {e}"
                ) from None
            ip = requested
        else:
            try:
                ip = await self.ips.allocate_next(owner)
            except Exhausted:
                raise errors.InternalError(
                    "failed to allocate a serviceIP: range is full"
                ) from None
        taken.append(("ip", ip))
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]

    async def _allocate_ports(
        self, spec: dict, owner: str, held: set[int], taken: list[tuple[str, str]]
    ) -> None:
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        for index, port in enumerate(spec.get("ports") or []):
            requested = port.get("nodePort")
            if requested and requested in held:
                continue
            if requested:
                try:
                    await self.ports.allocate(str(requested), owner)
                except ValueError as e:
                    raise _invalid_service(
                        owner, f"spec.ports[{index}].nodePort", requested, str(e)
                    ) from None
                value = str(requested)
            else:
                try:
                    value = await self.ports.allocate_next(owner)
                except Exhausted:
                    raise errors.InternalError(
                        "failed to allocate a nodePort: range is full"
                    ) from None
                port["nodePort"] = int(value)
            taken.append(("port", value))

    async def release(self, taken: list[tuple[str, str]]) -> None:
        for what, value in taken:
            if what == "ip":
                await self.ips.release(value)
            else:
                await self.ports.release(value)

    async def release_unheld(self, taken: list[tuple[str, str]], service: dict) -> None:
        """Release values in ``taken`` that ``service`` does not hold."""
        ips = set(service_ips(service))
        ports = {str(p) for p in service_node_ports(service)}
        await self.release(
            [(what, value) for what, value in taken
             if value not in (ips if what == "ip" else ports)]
        )

    async def release_service(self, service: dict, keep: dict | None = None) -> None:
        """Release what ``service`` held and ``keep`` (its new version) no longer holds."""
        keep_ips = set(service_ips(keep)) if keep else set()
        keep_ports = set(service_node_ports(keep)) if keep else set()
        for ip in service_ips(service):
            if ip not in keep_ips:
                await self.ips.release(ip)
        for port in service_node_ports(service):
            if port not in keep_ports:
                await self.ports.release(str(port))

    async def repair(self, services: list[dict]) -> None:
        """Make the allocations match the Services: release what no Service holds (left by
        a crash between allocation and write) and record what a Service holds unrecorded."""
        wanted_ips = {ip: _owner(s) for s in services for ip in service_ips(s)}
        wanted_ports = {str(p): _owner(s) for s in services for p in service_node_ports(s)}
        await self._repair(self.ips, wanted_ips)
        await self._repair(self.ports, wanted_ports)

    @staticmethod
    async def _repair(allocator: _KeyAllocator, wanted: dict[str, str]) -> None:
        recorded = await allocator.allocated()
        for value, owner in recorded.items():
            if wanted.get(value) != owner:
                await allocator.release(value)
        for value, owner in wanted.items():
            if recorded.get(value) != owner and allocator.contains(value):
                try:
                    await allocator.allocate(value, owner)
                except ValueError:
                    pass  # two Services claim one value; the first keeps it


def _owner(service: dict) -> str:
    meta = service["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _invalid_service(owner: str, field: str, value: object, detail: str) -> errors.Invalid:
    name = owner.split("/", 1)[1]
    return errors.Invalid.of("Service", name, [errors.invalid(field, value, detail)])
