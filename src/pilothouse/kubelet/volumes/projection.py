"""Publishing generated files: what configMap, secret, downwardAPI and projected share.

Each of them builds a payload (path -> bytes and mode) from the API and hands it here. The
volume's directory is prepared as an emptyDir (on tmpfs for all but configMap), directories
are made inside it where containers mount other volumes beneath it (upstream's
MakeNestedMountpoints: the volume itself is read-only in the container), and the payload is
published with the atomic writer, the pod's fsGroup applied before the switch. Containers
always mount these volumes read-only.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pilothouse.kubelet.volumes.atomic_writer import AtomicWriter, FileProjection, PayloadError
from pilothouse.kubelet.volumes.blocking import blocking
from pilothouse.kubelet.volumes.emptydir import prepare_dir
from pilothouse.kubelet.volumes.errors import SourceError, aggregate, describe, setup_failed
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.ownership import fs_group_of, set_volume_ownership
from pilothouse.kubelet.volumes.podvolumes import PodVolume

Obj = dict[str, Any]

DEFAULT_MODE = 0o644  # the API's default for defaultMode (420), for pods that skipped defaulting


async def publish(host: VolumeHost, pod: Obj, volume: Obj, *, plugin: str, medium: str,
                  payload: Mapping[str, FileProjection]) -> PodVolume:
    name = volume["name"]
    path = host.layout.volume_dir(pod["metadata"]["uid"], plugin, name)
    try:
        size = await blocking(_publish, host, pod, name, path, medium, payload)
    except (OSError, SourceError, PayloadError) as error:
        raise setup_failed(name, describe(error)) from None
    return PodVolume(name, plugin, path, read_only=True, managed=True, medium=medium,
                     size_limit=size)


def _publish(host: VolumeHost, pod: Obj, name: str, path: Path, medium: str,
             payload: Mapping[str, FileProjection]) -> int | None:
    """Publishes the payload; returns the size of the volume's tmpfs, if it has one."""
    prepared = prepare_dir(host, pod, path, medium=medium)
    make_nested_mount_points(name, path, pod)
    fs_group = fs_group_of(pod)

    def set_perms(_ts_dir: str) -> None:
        # The whole volume, not only the new data: links may be new too.
        set_volume_ownership(path, fs_group, read_only=True)

    AtomicWriter(path).write(payload, set_perms if fs_group is not None else None)
    return prepared.tmpfs_size


def make_nested_mount_points(volume_name: str, base_dir: Path, pod: Obj) -> None:
    """Directories in ``base_dir`` for mounts nested below this volume's mount points."""
    problems = []
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
                      *(spec.get("ephemeralContainers") or [])]:
        mounts = container.get("volumeMounts") or []
        every = sorted(_clean(m.get("mountPath") or "") for m in mounts)
        own = [_clean(m.get("mountPath") or "") for m in mounts if m.get("name") == volume_name]
        for mount_point in own:
            if mount_point.startswith("../"):
                # A container must not get directories made outside its root.
                problems.append(f"invalid container mount point {mount_point}")
                continue
            problems += _make_children(volume_name, base_dir, mount_point, every)
    if problems:
        raise SourceError(aggregate(problems))


def _make_children(volume_name: str, base_dir: Path, mount_point: str,
                   every: list[str]) -> list[str]:
    prefix, previous, problems = mount_point + "/", "", []
    for other in every:
        # Only direct children: /dir/nested, not /dir/nested/other as well.
        if not other.startswith(prefix) or (previous and other.startswith(previous)):
            continue
        previous = other + "/"
        child = base_dir / other[len(prefix):]
        try:
            child.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as error:
            problems.append(f"failed to create mount point for volume {volume_name} "
                            f"({child}): {describe(error)}")
    return problems


def _clean(path: str) -> str:
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def key_files(data: Mapping[str, bytes], items: list[Obj], default_mode: int | None, *,
              optional: bool, missing: str) -> dict[str, FileProjection]:
    """The files of a configMap or secret source: every key at its own name, or only the
    keys ``items`` name, at their paths and modes. A missing key raises SourceError
    (``missing`` and the key) unless the source is optional."""
    if not items:
        return {key: FileProjection(value, file_mode({}, default_mode))
                for key, value in data.items()}
    payload = {}
    for item in items:
        key = item.get("key") or ""
        if key not in data:
            if optional:
                continue
            raise SourceError(f"{missing}: {key}")
        payload[item.get("path") or ""] = FileProjection(data[key], file_mode(item, default_mode))
    return payload


def file_mode(item: Obj, default_mode: int | None) -> int:
    mode = item.get("mode")
    if mode is not None:
        return int(mode)
    return DEFAULT_MODE if default_mode is None else int(default_mode)


def decode_base64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SourceError(f"illegal base64 data: {error}") from None
