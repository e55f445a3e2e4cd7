"""emptyDir volumes, and the directory every generated volume is built on.

As upstream's empty-dir plugin:

* the directory is mode 0777 whatever the umask;
* ``medium: Memory`` mounts a tmpfs there once (set_up again finds it mounted) sized to the
  smallest of the node's allocatable memory, the pod's memory limit (when every container
  declares one) and the volume's ``sizeLimit``;
* on disk ``sizeLimit`` is recorded on the PodVolume, not enforced (upstream evicts the pod
  when usage exceeds it; this kubelet does not evict yet);
* the pod's ``fsGroup`` owns the volume.

configMap volumes sit on a disk emptyDir; secret, downwardAPI and projected volumes on a
memory one, so secrets never reach the disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pilothouse.api.patch.gojson import quote
from pilothouse.api.quantity import Quantity, QuantityError
from pilothouse.kubelet.volumes.blocking import blocking
from pilothouse.kubelet.volumes.errors import SourceError, describe, setup_failed
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.layout import EMPTY_DIR
from pilothouse.kubelet.volumes.ownership import fs_group_of, set_volume_ownership
from pilothouse.kubelet.volumes.podvolumes import PodVolume

Obj = dict[str, Any]

MEDIUM_DEFAULT = ""
MEDIUM_MEMORY = "Memory"
_DIR_MODE = 0o777


class EmptyDirPlugin:
    source: ClassVar[str] = "emptyDir"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        name = volume["name"]
        source = volume.get(self.source) or {}
        medium = source.get("medium") or MEDIUM_DEFAULT
        path = host.layout.volume_dir(pod["metadata"]["uid"], EMPTY_DIR, name)
        try:
            size_limit = _bytes(source.get("sizeLimit"))
            prepared = await blocking(prepare_dir, host, pod, path, medium=medium,
                                               size_limit=size_limit)
        except (OSError, SourceError) as error:
            raise setup_failed(name, describe(error)) from None
        size = prepared.tmpfs_size if medium == MEDIUM_MEMORY else size_limit
        return PodVolume(name, EMPTY_DIR, path, medium=medium, size_limit=size)


@dataclass(frozen=True)
class PreparedDir:
    created: bool  # the directory (or its tmpfs) is new: empty, and now owned by the fsGroup
    tmpfs_size: int | None = None  # bytes; None: the kernel's default


def prepare_dir(host: VolumeHost, pod: Obj, path: Path, *, medium: str,
                size_limit: int | None = None) -> PreparedDir:
    """The volume's directory, on a tmpfs for ``Memory``, given to the pod's fsGroup when new.

    Ownership is applied once, as upstream's empty-dir plugin skips volumes it set up before."""
    if medium.startswith("HugePages"):
        raise SourceError(f"storage medium {quote(medium)} is not supported by this kubelet")
    if medium not in (MEDIUM_DEFAULT, MEDIUM_MEMORY):
        raise SourceError(f"unknown storage medium {quote(medium)}")
    created = not path.exists()
    make_dir(path)
    size = None
    if medium == MEDIUM_MEMORY:
        size = memory_volume_size(pod, size_limit, host.allocatable())
        if not host.mounter.is_mount_point(path):
            host.mounter.mount_tmpfs(path, size=size)
            created = True
    if created:
        set_volume_ownership(path, fs_group_of(pod), read_only=False)
    return PreparedDir(created, size)


def make_dir(path: Path) -> None:
    path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    if (os.lstat(path).st_mode & 0o777) != _DIR_MODE:
        path.chmod(_DIR_MODE)  # mkdir applied the umask


def memory_volume_size(pod: Obj, size_limit: int | None,
                       allocatable: Mapping[str, Any]) -> int | None:
    """upstream's calculateEmptyDirMemorySize; None leaves the kernel's default (half of RAM)."""
    size = _bytes(allocatable.get("memory"))
    for bound in (pod_memory_limit(pod), size_limit):
        if bound is not None and bound > 0 and (size is None or bound <= size):
            size = bound
    return size or None


def pod_memory_limit(pod: Obj) -> int | None:
    """The pod's memory limit as its cgroup gets it; None unless every container has one."""
    spec = pod.get("spec") or {}
    limits = [_container_limit(c) for c in spec.get("containers") or []]
    sidecars_total, init_peak, all_declared = 0, 0, all(limits)
    for container in spec.get("initContainers") or []:
        limit = _container_limit(container)
        all_declared = all_declared and bool(limit)
        if container.get("restartPolicy") == "Always":
            sidecars_total += limit
            init_peak = max(init_peak, sidecars_total)
        else:
            init_peak = max(init_peak, limit + sidecars_total)
    if not all_declared:
        return None
    total = max(sum(limits) + sidecars_total, init_peak)
    overhead = _bytes((spec.get("overhead") or {}).get("memory")) or 0
    return total + overhead


def _container_limit(container: Obj) -> int:
    limits = (container.get("resources") or {}).get("limits") or {}
    return _bytes(limits.get("memory")) or 0


def _bytes(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return Quantity.from_json(value).value()
    except QuantityError as error:
        raise SourceError(str(error)) from None
