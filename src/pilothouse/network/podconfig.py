"""The node's pod network as CNI configuration lists (pure; no system access).

Pod network (interface eth0), three reference plugins chained:

- ``bridge`` with ``isGateway`` (the bridge carries the pods' gateway address; the plugin
  also turns on ip_forward, which the node setup does anyway), ``hairpinMode`` (a pod can
  reach itself through a service or host port) and ``ipMasq`` off: masquerade lives in the
  node's own nftables table, which exempts every cluster destination. The plugin's ipMasq
  would masquerade pod traffic to other nodes' pods too (breaking source IPs with host-gw
  routing) and puts per-pod rules into the host's iptables.
- ``host-local`` IPAM over the node's pod CIDR, leases under the node's data directory.
- ``portmap`` for hostPort (capability ``portMappings``). Debian's portmap 1.1.1 programs
  iptables through the ``iptables`` command, which on Debian 12 is iptables-nft: its chains
  (CNI-HOSTPORT-*, one CNI-DN-* per pod) live in the nftables table ``ip nat`` beside ours.

Loopback (interface lo) is a network of its own, as containerd and CRI-O configure it.
"""

from __future__ import annotations

from typing import Any

from .cni import NetworkConfigList
from .config import NodeNetworkConfig

CNI_VERSION = "1.0.0"
LOOPBACK_NETWORK = "cni-loopback"
POD_INTERFACE = "eth0"
LOOPBACK_INTERFACE = "lo"


def pod_network(config: NodeNetworkConfig, *, host_ports: bool = True) -> NetworkConfigList:
    """The pod network: a veth on the node bridge with an address from the node's pod CIDR,
    then, for pods that map host ports, portmap. Pods without port mappings skip portmap,
    whose DEL alone costs several iptables runs; DEL uses the list ADD used (the CNI cache)."""
    bridge: dict[str, Any] = {
        "type": "bridge",
        "bridge": config.bridge,
        "isGateway": True,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": str(config.pod_cidr), "gateway": str(config.gateway)}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": str(config.ipam_dir),
        },
    }
    if config.mtu is not None:
        bridge["mtu"] = config.mtu
    if not host_ports:
        return NetworkConfigList(config.network_name, CNI_VERSION, (bridge,))
    portmap = {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}
    return NetworkConfigList(config.network_name, CNI_VERSION, (bridge, portmap))


def loopback_network() -> NetworkConfigList:
    return NetworkConfigList(LOOPBACK_NETWORK, CNI_VERSION, ({"type": "loopback"},))


def plugin_types(config: NodeNetworkConfig) -> tuple[str, ...]:
    """Every plugin binary the pod network needs, delegated IPAM included."""
    types: list[str] = []
    for network in (loopback_network(), pod_network(config)):
        for plugin in network.plugins:
            types.append(plugin["type"])
            if "ipam" in plugin:
                types.append(plugin["ipam"]["type"])
    return tuple(types)
