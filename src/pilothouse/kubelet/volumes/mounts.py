"""A container's volume mounts as runtime Mounts: upstream's makeMounts.

For each ``volumeMounts`` entry, in order: the volume's host path (or a safe bind of its
``subPath``/expanded ``subPathExpr``, see :mod:`subpath`), read-only when the mount or the
volume says so (configMap, secret, downwardAPI and projected volumes always are), and the
mount propagation (None -> private, HostToContainer -> rslave, Bidirectional -> rshared).
Failures are CreateContainerConfigError with upstream's messages; the detailed cause of a
subPath failure stays out of the message, as it could reveal the host's file system.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from typing import Any

from pilothouse.api.patch.gojson import quote
from pilothouse.kubelet.expansion import expand
from pilothouse.kubelet.volumes.errors import VolumeError, container_config_error
from pilothouse.kubelet.volumes.layout import PodLayout
from pilothouse.kubelet.volumes.mounter import Mounter
from pilothouse.kubelet.volumes.podvolumes import PodVolume, PodVolumes
from pilothouse.kubelet.volumes.subpath import SubPathError, bind_subpath, make_subpath_dir
from pilothouse.runtime.interface import Mount, MountPropagation

Obj = dict[str, Any]

log = logging.getLogger(__name__)

_PROPAGATION = {
    None: MountPropagation.PRIVATE,
    "None": MountPropagation.PRIVATE,
    "HostToContainer": MountPropagation.HOST_TO_CONTAINER,
    "Bidirectional": MountPropagation.BIDIRECTIONAL,
}


def container_mounts(pod: Obj, container: Obj, volumes: PodVolumes, *, layout: PodLayout,
                     mounter: Mounter, env: Mapping[str, str]) -> list[Mount]:
    mounts = []
    for index, volume_mount in enumerate(container.get("volumeMounts") or []):
        volume = volumes.get(volume_mount.get("name") or "")
        if volume is None:
            raise container_config_error(
                f"cannot find volume {quote(volume_mount.get('name') or '')} to mount into "
                f"container {quote(container.get('name') or '')}")
        host_path = str(volume.path)
        sub_path = _sub_path(volume_mount, env)
        if sub_path:
            host_path = _prepare_sub_path(pod, container, volume, volume_mount, index, sub_path,
                                          layout=layout, mounter=mounter)
        mounts.append(Mount(
            container_path=_absolute(volume_mount.get("mountPath") or ""),
            host_path=host_path,
            readonly=bool(volume_mount.get("readOnly")) or volume.read_only,
            propagation=_propagation(volume_mount.get("mountPropagation")),
        ))
    return mounts


def _sub_path(volume_mount: Obj, env: Mapping[str, str]) -> str:
    expression = volume_mount.get("subPathExpr")
    if not expression:
        return volume_mount.get("subPath") or ""
    missing = set()

    def lookup(name: str) -> str:
        if not env.get(name):
            missing.add(name)
        return env.get(name, "")

    expanded = expand(expression, lookup)
    if missing:
        raise container_config_error(f"missing value for {', '.join(sorted(missing))}")
    return expanded


def _prepare_sub_path(pod: Obj, container: Obj, volume: PodVolume, volume_mount: Obj,
                      index: int, sub_path: str, *, layout: PodLayout,
                      mounter: Mounter) -> str:
    if sub_path.startswith("/"):
        raise container_config_error(f"error SubPath `{sub_path}` must not be an absolute path")
    if ".." in sub_path.split("/"):
        raise container_config_error(
            f"unable to provision SubPath `{sub_path}`: must not contain '..'")
    mount_name, container_name = volume_mount.get("name") or "", container.get("name") or ""
    try:
        make_subpath_dir(volume.path, sub_path)
    except (OSError, SubPathError) as error:
        raise _hidden(error, f"failed to create subPath directory for volumeMount "
                             f"{quote(mount_name)} of container {quote(container_name)}") from None
    target = layout.subpath_dir(pod["metadata"]["uid"], volume.name, container_name, index)
    try:
        return str(bind_subpath(mounter, volume.path, sub_path, target))
    except (OSError, SubPathError) as error:
        raise _hidden(error, f"failed to prepare subPath for volumeMount {quote(mount_name)} "
                             f"of container {quote(container_name)}") from None


def _hidden(error: Exception, message: str) -> VolumeError:
    log.warning("%s: %s", message, error)
    return container_config_error(message)


def _absolute(path: str) -> str:
    return path if path.startswith("/") else posixpath.join("/", path)


def _propagation(mode: str | None) -> MountPropagation:
    try:
        return _PROPAGATION[mode]
    except KeyError:
        raise container_config_error(f"invalid MountPropagation mode: {quote(str(mode))}") from None
