"""What ``VolumeManager.setup`` hands back: each volume of a pod, ready on the host."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PodVolume:
    name: str
    plugin: str  # upstream's plugin name, e.g. "kubernetes.io/configmap"
    path: Path  # on the host: what containers bind-mount
    read_only: bool = False  # every mount of it is read-only (configMap, secret, ..., readOnly claims)
    managed: bool = False  # refresh() keeps its files in step with the API
    medium: str = ""  # emptyDir medium: "" (node disk) or "Memory" (tmpfs)
    # Bytes: the size of the tmpfs of a memory-backed volume; for an emptyDir on disk its
    # sizeLimit, recorded only (upstream enforces that by eviction, not by the mount).
    size_limit: int | None = None


@dataclass
class PodVolumes:
    pod_uid: str
    volumes: dict[str, PodVolume] = field(default_factory=dict)

    def __getitem__(self, name: str) -> PodVolume:
        return self.volumes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.volumes

    def __iter__(self) -> Iterator[str]:
        return iter(self.volumes)

    def __len__(self) -> int:
        return len(self.volumes)

    def get(self, name: str) -> PodVolume | None:
        return self.volumes.get(name)

    def path(self, name: str) -> Path:
        return self.volumes[name].path
