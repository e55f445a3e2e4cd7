"""The node's pod network: node setup (bridge, routes, forwarding, masquerade, host-gw
routes to other nodes), sandbox wiring through the reference CNI plugins, and namespace
nodes for several nodes on one machine.

The kubelet uses ``NodeNetwork`` once per node and ``PodNetwork`` per sandbox; both take a
``NodeNetworkConfig``. This package knows nothing of the API server or the store.
"""

from .config import NodeNetworkConfig
from .node import NodeNetwork, NodeNetworkConflict, NodeNetworkError
from .podnetwork import PodNetwork, PodNetworkStatus, PortMapping

__all__ = [
    "NodeNetwork",
    "NodeNetworkConfig",
    "NodeNetworkConflict",
    "NodeNetworkError",
    "PodNetwork",
    "PodNetworkStatus",
    "PortMapping",
]
