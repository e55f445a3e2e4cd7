"""Settings of one node's pod network, shared by the node setup and the pod wiring.

A node owns a pod CIDR (allocated by the server from the cluster CIDR) served on one Linux
bridge whose address is the pod CIDR's first host: the pods' default gateway. Everything the
node creates is named after the bridge, so several nodes (in network namespaces, or test
nodes beside a real one) never clash on one machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, collapse_addresses
from pathlib import Path

DEFAULT_CLUSTER_CIDR = IPv4Network("10.244.0.0/16")
DEFAULT_SERVICE_CIDR = IPv4Network("10.96.0.0/12")
DEFAULT_BRIDGE = "ph0"
DEFAULT_NETWORK_NAME = "pilothouse"
# Debian's containernetworking-plugins, then the upstream default location.
DEFAULT_CNI_BIN_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))

# Linux interface names: at most 15 bytes. Kept to characters nft identifiers accept too.
_BRIDGE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,14}$")


@dataclass(frozen=True)
class NodeNetworkConfig:
    pod_cidr: IPv4Network
    # The node's network state: host-local leases, the CNI cache, the record of what the
    # node setup created. Usually DATA_DIR/network.
    data_dir: Path
    cluster_cidr: IPv4Network = DEFAULT_CLUSTER_CIDR
    service_cidr: IPv4Network = DEFAULT_SERVICE_CIDR
    bridge: str = DEFAULT_BRIDGE
    network_name: str = DEFAULT_NETWORK_NAME
    cni_bin_dirs: tuple[Path, ...] = DEFAULT_CNI_BIN_DIRS
    # Destinations outside the cluster CIDRs that still count as inside the cluster: pod
    # traffic to them is not masqueraded nor blocked (e.g. the nodes' own network).
    internal_cidrs: tuple[IPv4Network, ...] = ()
    # Drop pod traffic leaving for anything outside the internal destinations instead of
    # masquerading it: for tests on machines whose uplink must not see cluster traffic.
    block_pod_egress: bool = False
    mtu: int | None = None
    plugin_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not _BRIDGE_RE.match(self.bridge):
            raise ValueError(f"invalid bridge name {self.bridge!r}")
        if not self.pod_cidr.subnet_of(self.cluster_cidr):
            raise ValueError(f"pod CIDR {self.pod_cidr} is not inside {self.cluster_cidr}")
        if self.pod_cidr.prefixlen > 30:
            raise ValueError(f"pod CIDR {self.pod_cidr} leaves no room for pods")
        if self.service_cidr.overlaps(self.cluster_cidr):
            raise ValueError(f"service CIDR {self.service_cidr} overlaps {self.cluster_cidr}")

    @property
    def gateway(self) -> IPv4Address:
        return self.pod_cidr.network_address + 1

    @property
    def gateway_interface(self) -> IPv4Interface:
        return IPv4Interface(f"{self.gateway}/{self.pod_cidr.prefixlen}")

    @property
    def internal_destinations(self) -> tuple[IPv4Network, ...]:
        """Every destination pod traffic may reach unmasqueraded, merged and sorted."""
        return tuple(
            collapse_addresses([self.cluster_cidr, self.service_cidr, *self.internal_cidrs])
        )

    @property
    def nft_table(self) -> str:
        return "pilothouse_" + self.bridge.replace("-", "_")

    @property
    def cni_dir(self) -> Path:
        return self.data_dir / "cni"

    @property
    def ipam_dir(self) -> Path:
        return self.cni_dir / "networks"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "node-network.json"
