"""Wiring pod sandboxes into the node's pod network: what the kubelet calls.

A sandbox is named by its ID and its network namespace path (``/proc/<pid>/ns/net`` of the
infra process, or a bind mount under ``/run/netns``); nothing here depends on the runtime.

Guarantees:

- ``setup_sandbox`` gives the sandbox a loopback and an ``eth0`` on the node bridge with an
  address from the node's pod CIDR, a default route through the bridge, and the requested
  host ports; it is idempotent (a sandbox already wired the same way is not touched again)
  and leaves nothing behind when it fails.
- ``teardown_sandbox`` releases everything: veth, address lease, host port rules, cache
  entry. It succeeds for a sandbox that was half set up, never set up, already torn down, or
  whose namespace is gone, and it is safe against pid reuse (see ``cni.netns``).
- What was set up survives a restart of the caller: ``sandbox_status`` and
  ``attached_sandboxes`` read the CNI cache under the node's data directory.

Calls for different sandboxes may run concurrently (host-local serialises its leases);
calls for one sandbox must not overlap, which the kubelet's one-worker-per-pod ensures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from .cni import CNIError, CNIInvoker, InvalidResult, Result, RuntimeConf
from .cni.types import IPAddress, parse_result
from .config import NodeNetworkConfig
from .podconfig import (
    CNI_VERSION,
    LOOPBACK_INTERFACE,
    POD_INTERFACE,
    loopback_network,
    plugin_types,
    pod_network,
)

PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class PortMapping:
    """A container port published on the node (a Kubernetes ContainerPort with hostPort)."""

    host_port: int
    container_port: int
    protocol: str = "TCP"
    host_ip: str = ""

    def __post_init__(self) -> None:
        for port in (self.host_port, self.container_port):
            if not 0 < port < 65536:
                raise ValueError(f"invalid port {port}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"invalid protocol {self.protocol!r}")
        if self.host_ip:
            ip_address(self.host_ip)

    def to_cni(self) -> dict[str, object]:
        """The entry of the ``portMappings`` capability argument (CNI CONVENTIONS.md)."""
        mapping: dict[str, object] = {
            "hostPort": self.host_port,
            "containerPort": self.container_port,
            "protocol": self.protocol.lower(),
        }
        if self.host_ip:
            mapping["hostIP"] = self.host_ip
        return mapping


@dataclass(frozen=True)
class PodNetworkStatus:
    sandbox_id: str
    netns: str
    ip: IPv4Address
    ips: tuple[IPAddress, ...]
    gateway: IPAddress | None
    interface: str
    mac: str
    # The host end of the sandbox's veth pair, attached to the node bridge.
    host_interface: str


class PodNetwork:
    def __init__(self, config: NodeNetworkConfig, *, invoker: CNIInvoker | None = None):
        self.config = config
        self.invoker = invoker or CNIInvoker(
            plugin_dirs=config.cni_bin_dirs,
            cache_dir=config.cni_dir,
            timeout=config.plugin_timeout,
        )
        self._pod_network = pod_network(config)
        self._pod_network_without_host_ports = pod_network(config, host_ports=False)
        self._loopback = loopback_network()

    async def verify_plugins(self) -> None:
        """Raises CNIError unless every plugin is installed and speaks CNI 1.0.0."""
        for plugin_type in dict.fromkeys(plugin_types(self.config)):
            versions = await self.invoker.supported_versions(plugin_type, CNI_VERSION)
            if CNI_VERSION not in versions:
                raise CNIError(f"CNI plugin {plugin_type} does not support {CNI_VERSION}")

    async def setup_sandbox(
        self,
        sandbox_id: str,
        netns_path: str,
        *,
        pod_name: str,
        pod_namespace: str,
        pod_uid: str = "",
        port_mappings: Sequence[PortMapping] = (),
    ) -> PodNetworkStatus:
        capability_args = (
            {"portMappings": [mapping.to_cni() for mapping in port_mappings]}
            if port_mappings
            else {}
        )
        wired = await self._wired_status(sandbox_id, netns_path, capability_args)
        if wired is not None:
            return wired
        await self.invoker.add(
            self._loopback, RuntimeConf(sandbox_id, netns_path, LOOPBACK_INTERFACE)
        )
        pod_rt = RuntimeConf(
            sandbox_id,
            netns_path,
            POD_INTERFACE,
            args=_kubernetes_args(sandbox_id, pod_name, pod_namespace, pod_uid),
            capability_args=capability_args,
        )
        try:
            network = self._pod_network if port_mappings else self._pod_network_without_host_ports
            result = await self.invoker.add(network, pod_rt)
            return _status(sandbox_id, netns_path, result, bridge=self.config.bridge)
        except CNIError as error:
            await self._release_after_failure(sandbox_id, error)
            raise

    async def teardown_sandbox(self, sandbox_id: str, netns_path: str = "") -> None:
        """Detaches the sandbox from both networks; tries both even if one fails."""
        failures: list[CNIError] = []
        for network, ifname in (
            (self._pod_network, POD_INTERFACE),
            (self._loopback, LOOPBACK_INTERFACE),
        ):
            try:
                await self.invoker.delete(network, RuntimeConf(sandbox_id, netns_path, ifname))
            except CNIError as error:
                failures.append(error)
        if failures:
            for other in failures[1:]:
                failures[0].add_note(f"also: {other}")
            raise failures[0]

    async def check_sandbox(self, sandbox_id: str) -> None:
        """Raises CNIError unless the sandbox's pod network is still as setup left it."""
        await self.invoker.check(self._pod_network, RuntimeConf(sandbox_id, "", POD_INTERFACE))

    async def sandbox_status(self, sandbox_id: str) -> PodNetworkStatus | None:
        """The status recorded at setup, or None if the sandbox is not (fully) wired."""
        attachment = await self.invoker.cached(
            self._pod_network.name, sandbox_id, POD_INTERFACE
        )
        if attachment is None or attachment.result is None:
            return None
        result = parse_result(attachment.result)
        return _status(sandbox_id, attachment.netns, result, bridge=self.config.bridge)

    async def attached_sandboxes(self) -> list[str]:
        """IDs of sandboxes with a pod network attachment (complete or half set up)."""
        attachments = await self.invoker.cached_attachments(self._pod_network.name)
        return [a.container_id for a in attachments if a.ifname == POD_INTERFACE]

    async def _wired_status(
        self, sandbox_id: str, netns_path: str, capability_args: Mapping[str, object]
    ) -> PodNetworkStatus | None:
        attachment = await self.invoker.cached(
            self._pod_network.name, sandbox_id, POD_INTERFACE
        )
        if (
            attachment is None
            or attachment.result is None
            or attachment.netns != netns_path
            or dict(attachment.capability_args) != capability_args
        ):
            return None
        # Wired by an earlier call: trust the cache only if the plugins agree.
        try:
            await self.check_sandbox(sandbox_id)
        except CNIError:
            return None
        return _status(
            sandbox_id, netns_path, parse_result(attachment.result), bridge=self.config.bridge
        )

    async def _release_after_failure(self, sandbox_id: str, error: CNIError) -> None:
        try:
            await self.invoker.delete(
                self._loopback, RuntimeConf(sandbox_id, "", LOOPBACK_INTERFACE)
            )
        except CNIError as cleanup_error:
            error.add_note(f"releasing the loopback attachment failed too: {cleanup_error}")


def _kubernetes_args(
    sandbox_id: str, pod_name: str, pod_namespace: str, pod_uid: str
) -> tuple[tuple[str, str], ...]:
    # What the kubelet's runtimes pass; IgnoreUnknown keeps host-local from rejecting them.
    args = [
        ("IgnoreUnknown", "1"),
        ("K8S_POD_NAMESPACE", pod_namespace),
        ("K8S_POD_NAME", pod_name),
        ("K8S_POD_INFRA_CONTAINER_ID", sandbox_id),
    ]
    if pod_uid:
        args.append(("K8S_POD_UID", pod_uid))
    return tuple(args)


def _status(sandbox_id: str, netns: str, result: Result, *, bridge: str) -> PodNetworkStatus:
    index = result.sandbox_interface(POD_INTERFACE)
    if index is None:
        raise InvalidResult(f"the pod network result has no {POD_INTERFACE} in the sandbox")
    ips = result.ips_on(index)
    ipv4 = [ip for ip in ips if ip.address.version == 4]
    if not ipv4:
        raise InvalidResult(f"the pod network gave {POD_INTERFACE} no IPv4 address")
    primary = ipv4[0].address.ip
    assert isinstance(primary, IPv4Address)
    host_side = [
        interface.name
        for interface in result.interfaces
        if not interface.sandbox and interface.name != bridge
    ]
    return PodNetworkStatus(
        sandbox_id=sandbox_id,
        netns=netns,
        ip=primary,
        ips=tuple(ip.address.ip for ip in ips),
        gateway=ipv4[0].gateway,
        interface=POD_INTERFACE,
        mac=result.interfaces[index].mac,
        host_interface=host_side[0] if host_side else "",
    )
