"""A CNI runtime: runs CNI 1.0 plugins (the reference bridge, host-local, portmap, loopback
or any other) for network configuration lists, and caches what it attached.

``CNIInvoker`` is the entry point (ADD, CHECK, DEL, VERSION); results come back as the
dataclasses in ``types``; every failure is a ``CNIError``.
"""

from .conflist import NetworkConfigList
from .errors import (
    CNIError,
    InvalidConfig,
    InvalidNetns,
    InvalidResult,
    NotAttached,
    PluginError,
    PluginNotFound,
    PluginTimeout,
)
from .invoker import CNIInvoker, RuntimeConf
from .types import DNS, Interface, IPConfig, Result, Route

__all__ = [
    "CNIError",
    "CNIInvoker",
    "DNS",
    "IPConfig",
    "Interface",
    "InvalidConfig",
    "InvalidNetns",
    "InvalidResult",
    "NetworkConfigList",
    "NotAttached",
    "PluginError",
    "PluginNotFound",
    "PluginTimeout",
    "Result",
    "Route",
    "RuntimeConf",
]
