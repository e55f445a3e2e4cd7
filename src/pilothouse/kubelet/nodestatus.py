"""The Node object of this node: registration, then its status kept current.

``build_status`` is a pure function from what the node knows (machine facts, usage, runtime
version, images, why it is not ready) to ``Node.status`` as the kubelet reports it:
capacity and allocatable (cpu, memory, ephemeral-storage, hugepages-*, pods), the
conditions MemoryPressure, DiskPressure, PIDPressure and Ready in upstream's order with
upstream's reasons and messages, addresses (InternalIP, Hostname), daemonEndpoints and
nodeInfo. Allocatable is capacity less the default hard eviction thresholds (memory 100Mi,
ephemeral-storage 10%) and, for memory, the huge pages, as the kubelet computes it with no
reservations configured.

``NodeStatusReporter`` registers the node (create, or reconcile the default labels of an
existing one) and then, every ``node_status_update_seconds``, writes the status only when it
changed or when ``node_status_report_seconds`` passed since the last write (upstream's
nodeStatusUpdateFrequency and nodeStatusReportFrequency); the Lease is the frequent
heartbeat. Condition transition times change only when a condition's status changes.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from pilothouse import __version__
from pilothouse.api import errors
from pilothouse.api.quantity import BINARY_SI, DECIMAL_SI, Quantity
from pilothouse.api.schema import KUBERNETES_VERSION
from pilothouse.client import APIClient
from pilothouse.kubelet.config import KubeletConfig
from pilothouse.kubelet.machine import MachineInfo, ResourceUsage
from pilothouse.runtime.interface import Image

log = logging.getLogger(__name__)

Obj = dict[str, Any]

KUBELET_VERSION = f"v{KUBERNETES_VERSION}.0+pilothouse-{__version__}"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
MAX_NODE_IMAGES = 50  # upstream's default nodeStatusMaxImages
STATUS_UPDATE_RETRIES = 5  # upstream's nodeStatusUpdateRetry
REGISTER_BACKOFF_MAX = 7.0


@dataclass(frozen=True)
class EvictionThresholds:
    """The kubelet's default hard eviction thresholds on Linux."""

    memory_available_bytes: int = 100 * 2**20
    nodefs_available_fraction: float = 0.10
    nodefs_inodes_free_fraction: float = 0.05
    pid_available_fraction: float | None = None  # no default threshold upstream


@dataclass(frozen=True)
class Pressure:
    memory: bool = False
    disk: bool = False
    pid: bool = False


def pressure(usage: ResourceUsage, thresholds: EvictionThresholds = EvictionThresholds()) -> Pressure:
    disk = usage.fs_available_bytes < usage.fs_capacity_bytes * thresholds.nodefs_available_fraction
    if usage.fs_inodes:
        disk |= usage.fs_inodes_free < usage.fs_inodes * thresholds.nodefs_inodes_free_fraction
    pid = False
    if thresholds.pid_available_fraction is not None and usage.pid_max:
        pid = usage.pid_max - usage.processes < usage.pid_max * thresholds.pid_available_fraction
    return Pressure(
        memory=usage.memory_available_bytes < thresholds.memory_available_bytes,
        disk=disk,
        pid=pid,
    )


def capacity(machine: MachineInfo, *, fs_capacity_bytes: int, max_pods: int) -> dict[str, Quantity]:
    resources = {
        "cpu": Quantity.from_units(machine.cpus, DECIMAL_SI),
        "ephemeral-storage": Quantity.from_units(fs_capacity_bytes, BINARY_SI),
        **{name: Quantity.from_units(size, BINARY_SI) for name, size in machine.hugepages.items()},
        "memory": Quantity.from_units(machine.memory_bytes, BINARY_SI),
        "pods": Quantity.from_units(max_pods, DECIMAL_SI),
    }
    return dict(sorted(resources.items()))  # Go serializes maps sorted by key


def allocatable(
    capacity: dict[str, Quantity], thresholds: EvictionThresholds = EvictionThresholds()
) -> dict[str, Quantity]:
    result = dict(capacity)
    storage = capacity["ephemeral-storage"].value()
    reserved_storage = int(storage * thresholds.nodefs_available_fraction)
    result["ephemeral-storage"] = Quantity.from_units(storage - reserved_storage, BINARY_SI)
    hugepages = sum(q.value() for name, q in capacity.items() if name.startswith("hugepages-"))
    memory = capacity["memory"].value() - thresholds.memory_available_bytes - hugepages
    result["memory"] = Quantity.from_units(max(memory, 0), BINARY_SI)
    return result


# type -> (reason, message) when False (healthy), then when True.
_PRESSURE_CONDITIONS = {
    "MemoryPressure": (("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                       ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available")),
    "DiskPressure": (("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                     ("KubeletHasDiskPressure", "kubelet has disk pressure")),
    "PIDPressure": (("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    ("KubeletHasInsufficientPID", "kubelet has insufficient PID available")),
}


def conditions(
    previous: list[Obj], *, pressure: Pressure, not_ready: list[str], now: str
) -> list[Obj]:
    """The four conditions, keeping each one's lastTransitionTime while its status holds."""
    old = {c.get("type"): c for c in previous}
    wanted = []
    for kind, under_pressure in (("MemoryPressure", pressure.memory),
                                 ("DiskPressure", pressure.disk), ("PIDPressure", pressure.pid)):
        reason, message = _PRESSURE_CONDITIONS[kind][under_pressure]
        wanted.append((kind, "True" if under_pressure else "False", reason, message))
    if not_ready:
        # Kubernetes' aggregate error text: one error alone, several in brackets.
        message = not_ready[0] if len(not_ready) == 1 else f"[{', '.join(not_ready)}]"
        wanted.append(("Ready", "False", "KubeletNotReady", message))
    else:
        wanted.append(("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    result = []
    for kind, status, reason, message in wanted:
        before = old.get(kind) or {}
        transition = before.get("lastTransitionTime") if before.get("status") == status else None
        result.append({
            "type": kind, "status": status,
            "lastHeartbeatTime": now, "lastTransitionTime": transition or now,
            "reason": reason, "message": message,
        })
    return result


def node_info(machine: MachineInfo, *, runtime_version: str) -> Obj:
    return {
        "machineID": machine.machine_id,
        "systemUUID": machine.system_uuid,
        "bootID": machine.boot_id,
        "kernelVersion": machine.kernel_version,
        "osImage": machine.os_image,
        "containerRuntimeVersion": runtime_version,
        "kubeletVersion": KUBELET_VERSION,
        # Deprecated; kubelets of 1.33 leave it empty (DisableNodeKubeProxyVersion).
        "kubeProxyVersion": "",
        "operatingSystem": "linux",
        "architecture": machine.architecture,
    }


def node_images(images: list[Image]) -> list[Obj]:
    """The largest images first, at most 50, as the kubelet lists them."""
    ordered = sorted(images, key=lambda image: image.size, reverse=True)[:MAX_NODE_IMAGES]
    return [
        {"names": [*image.repo_digests, *image.repo_tags], "sizeBytes": image.size}
        for image in ordered
    ]


@dataclass(frozen=True)
class NodeFacts:
    """Everything a status is built from at one moment."""

    machine: MachineInfo
    usage: ResourceUsage
    node_ip: str
    runtime_version: str
    images: list[Image]
    not_ready: list[str]


def build_status(config: KubeletConfig, facts: NodeFacts, *, previous: Obj, now: str) -> Obj:
    cap = capacity(facts.machine, fs_capacity_bytes=facts.usage.fs_capacity_bytes,
                   max_pods=config.max_pods)
    return {
        "capacity": {name: str(q) for name, q in cap.items()},
        "allocatable": {name: str(q) for name, q in allocatable(cap).items()},
        "conditions": conditions(previous.get("conditions") or [], pressure=pressure(facts.usage),
                                 not_ready=facts.not_ready, now=now),
        "addresses": [{"type": "InternalIP", "address": facts.node_ip},
                      {"type": "Hostname", "address": config.node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": config.port}},
        "nodeInfo": node_info(facts.machine, runtime_version=facts.runtime_version),
        "images": node_images(facts.images),
    }


def status_changed(old: Obj, new: Obj) -> bool:
    """Whether ``new`` says anything ``old`` did not, heartbeat times aside."""
    return _without_heartbeats(old) != _without_heartbeats(new)


def _without_heartbeats(status: Obj) -> Obj:
    stripped = dict(status)
    stripped["conditions"] = [
        {k: v for k, v in c.items() if k != "lastHeartbeatTime"}
        for c in status.get("conditions") or []
    ]
    return stripped


def default_labels(config: KubeletConfig, architecture: str) -> dict[str, str]:
    """The labels the kubelet keeps on its node, also when the node existed already."""
    labels = {
        "beta.kubernetes.io/arch": architecture,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": architecture,
        "kubernetes.io/hostname": config.node_name,
        "kubernetes.io/os": "linux",
    }
    if config.control_plane:
        labels[CONTROL_PLANE_LABEL] = ""
    return labels


def new_node(config: KubeletConfig, *, architecture: str, status: Obj) -> Obj:
    """The Node to create: default labels, then --node-label ones; --node-taint taints."""
    node: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": config.node_name,
            "labels": {**default_labels(config, architecture), **config.node_labels},
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {},
        "status": status,
    }
    if config.node_taints:
        node["spec"]["taints"] = [dict(taint) for taint in config.node_taints]
    return node


FactsSource = Callable[[], Awaitable[NodeFacts]]


class NodeStatusReporter:
    def __init__(
        self,
        config: KubeletConfig,
        *,
        client: APIClient,
        facts: FactsSource,
        clock: Callable[[], datetime.datetime] | None = None,
    ):
        self.config = config
        self.nodes = client.resource("", "v1", "nodes")
        self.facts = facts
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.node: Obj | None = None  # as last written or read
        self._last_report: datetime.datetime | None = None
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """Check the status now instead of at the next period (something changed)."""
        self._wake.set()

    async def register(self) -> Obj:
        """Creates the Node, or brings an existing one's default labels up to date; retries
        until the API answers."""
        delay = 0.1
        while True:
            try:
                return await self._register()
            except (aiohttp.ClientError, OSError, TimeoutError, errors.ServiceUnavailable,
                    errors.InternalError, errors.Timeout, errors.TooManyRequests) as e:
                log.warning("registering node %s failed: %s; retrying in %.1fs",
                            self.config.node_name, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, REGISTER_BACKOFF_MAX)

    async def _register(self) -> Obj:
        facts = await self.facts()
        architecture = facts.machine.architecture
        try:
            self.node = await self.nodes.create(new_node(
                self.config, architecture=architecture,
                status=build_status(self.config, facts, previous={}, now=self._now()),
            ))
            log.info("registered node %s", self.config.node_name)
        except errors.AlreadyExists:
            existing = await self.nodes.get(self.config.node_name)
            self.node = await self._reconcile_labels(existing, architecture)
            previous = self.node.get("status") or {}
            await self._write_status(
                build_status(self.config, facts, previous=previous, now=self._now())
            )
        self._last_report = self.clock()
        return self.node

    async def _reconcile_labels(self, node: Obj, architecture: str) -> Obj:
        labels = node["metadata"].get("labels") or {}
        wanted = default_labels(self.config, architecture)
        if all(labels.get(k) == v for k, v in wanted.items()):
            return node
        updated = copy.deepcopy(node)
        updated["metadata"]["labels"] = {**labels, **wanted}
        return await self.nodes.update(updated)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.node_status_update_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.sync()
            except (aiohttp.ClientError, OSError, TimeoutError, errors.StatusError) as e:
                log.warning("updating the status of node %s failed: %s", self.config.node_name, e)

    async def sync(self) -> None:
        """Writes the status if it changed or the report period passed."""
        assert self.node is not None, "register() first"
        previous = self.node.get("status") or {}
        status = build_status(self.config, await self.facts(), previous=previous, now=self._now())
        now = self.clock()
        due = (self._last_report is None
               or (now - self._last_report).total_seconds() >= self.config.node_status_report_seconds)
        if not due and not status_changed(previous, status):
            return
        await self._write_status(status)
        self._last_report = now

    async def _write_status(self, status: Obj) -> None:
        assert self.node is not None
        for attempt in range(STATUS_UPDATE_RETRIES):
            body = dict(self.node, status=status)
            try:
                self.node = await self.nodes.update_status(body)
                return
            except errors.Conflict:
                if attempt + 1 == STATUS_UPDATE_RETRIES:
                    raise
                self.node = await self.nodes.get(self.config.node_name)
                status = build_status_keeping_transitions(status, self.node.get("status") or {})

    def _now(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")


def build_status_keeping_transitions(status: Obj, current: Obj) -> Obj:
    """``status`` with the transition times of ``current`` for conditions whose status did
    not change (after a conflict, the stored node is the one to compare with)."""
    old = {c.get("type"): c for c in current.get("conditions") or []}
    merged = []
    for condition in status.get("conditions") or []:
        before = old.get(condition["type"])
        if before is not None and before.get("status") == condition["status"]:
            condition = dict(condition, lastTransitionTime=before.get("lastTransitionTime"))
        merged.append(condition)
    return dict(status, conditions=merged)
