"""What the kubelet reads from the cluster besides its pods: services (for service
environment variables), its own Node (addresses, allocatable, UID), and on demand
ConfigMaps, Secrets (environment, image pull secrets) and RuntimeClasses.

Services and the Node are kept by informers; ConfigMaps, Secrets and RuntimeClasses are
read when a container or sandbox is made (the kubelet only needs them then).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pilothouse.api import errors
from pilothouse.client import APIClient, Informer

from .errors import ConfigError

Obj = dict[str, Any]


class ClusterObjects:
    def __init__(self, client: APIClient, *, node_name: str, node_ip: str = ""):
        self.client = client
        self.node_name = node_name
        self.node_ip = node_ip
        self.services = Informer(client["services"])
        self.nodes = Informer(client["nodes"], field_selector=f"metadata.name={node_name}")
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.services.run(), name="kubelet services informer"),
            asyncio.create_task(self.nodes.run(), name="kubelet node informer"),
        ]

    async def wait_synced(self, timeout: float | None = None) -> None:
        await self.services.wait_synced(timeout)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # -- the node --------------------------------------------------------------------------------

    def node(self) -> Obj | None:
        return self.nodes.get(self.node_name)

    def host_ips(self) -> tuple[str, ...]:
        """The node's IPs: --node-ip, else its InternalIP (or ExternalIP) addresses."""
        if self.node_ip:
            return (self.node_ip,)
        addresses = ((self.node() or {}).get("status") or {}).get("addresses") or []
        for kind in ("InternalIP", "ExternalIP"):
            found = tuple(a["address"] for a in addresses if a.get("type") == kind and a.get("address"))
            if found:
                return found[:2]
        return ()

    def allocatable(self) -> dict[str, str]:
        return dict(((self.node() or {}).get("status") or {}).get("allocatable") or {})

    # -- objects pods refer to -------------------------------------------------------------------

    async def config_map(self, namespace: str, name: str) -> Obj | None:
        return await self._get("configmaps", namespace, name)

    async def secret(self, namespace: str, name: str) -> Obj | None:
        return await self._get("secrets", namespace, name)

    async def runtime_handler(self, runtime_class_name: str) -> str:
        """The runtime handler of a RuntimeClass ("" for none); ConfigError if it is missing."""
        if not runtime_class_name:
            return ""
        try:
            runtime_class = await self.client["runtimeclasses.node.k8s.io"].get(runtime_class_name)
        except errors.NotFound:
            raise ConfigError(
                f'failed to lookup RuntimeClass {runtime_class_name}: '
                f'runtimeclass.node.k8s.io "{runtime_class_name}" not found'
            ) from None
        return str(runtime_class.get("handler") or "")

    async def _get(self, plural: str, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client[plural].get(name, namespace=namespace)
        except errors.NotFound:
            return None
        except errors.StatusError as error:
            raise ConfigError(str(error)) from None
