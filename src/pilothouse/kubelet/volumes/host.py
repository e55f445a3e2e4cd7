"""What volume plugins share (upstream's VolumeHost) and the protocol each plugin implements.

A plugin turns one entry of ``pod.spec.volumes`` into a directory on the host. ``set_up`` is
idempotent: called again for a volume already in place it only brings the content up to date
(that is how ``refresh`` updates managed volumes), and it never remounts what is mounted.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pilothouse.api import errors
from pilothouse.client import APIClient
from pilothouse.kubelet.volumes.errors import API_FAILURES, SourceError
from pilothouse.kubelet.volumes.layout import PodLayout
from pilothouse.kubelet.volumes.mounter import Mounter
from pilothouse.kubelet.volumes.podvolumes import PodVolume
from pilothouse.kubelet.volumes.tokens import ServiceAccountTokens

Obj = dict[str, Any]


@dataclass
class VolumeHost:
    layout: PodLayout
    mounter: Mounter
    client: APIClient
    # The node's allocatable resources ({"cpu": "2", "memory": "8Gi", ...}): the default size
    # of memory-backed volumes and the value of resourceFieldRefs to unset limits.
    allocatable: Callable[[], Mapping[str, Any]]
    tokens: ServiceAccountTokens

    async def config_map(self, namespace: str, name: str, *, optional: bool) -> Obj:
        return await self._read("configmaps", "configmap", namespace, name, optional)

    async def secret(self, namespace: str, name: str, *, optional: bool) -> Obj:
        return await self._read("secrets", "secret", namespace, name, optional)

    async def _read(self, plural: str, singular: str, namespace: str, name: str,
                    optional: bool) -> Obj:
        """The object, or an empty one when it is missing but optional."""
        try:
            return await self.client[plural].get(name, namespace=namespace)
        except errors.NotFound:
            if optional:
                return {"metadata": {"namespace": namespace, "name": name}}
            # The kubelet reads these through its own object cache, which words it so.
            raise SourceError(f'{singular} "{name}" not found') from None
        except API_FAILURES as error:
            raise SourceError(str(error) or type(error).__name__) from None


@functools.cache
def machine_capacity() -> dict[str, str]:
    """CPU and memory of this machine, for a kubelet that was not told its allocatable."""
    memory_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{memory_kib}Ki"}


class VolumePlugin(Protocol):
    source: ClassVar[str]  # the key of its source in a volume, e.g. "configMap"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        """The volume ready on the host; VolumeError when it cannot be."""
