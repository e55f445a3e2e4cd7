"""downwardAPI volumes: files holding the pod's own metadata and its containers' resources.

Each item is a ``fieldRef`` (name, namespace, uid, labels, annotations, or one label or
annotation) or a ``resourceFieldRef`` (a container's requests or limits, divided by the
divisor); see :mod:`fieldpath` for the exact text. Every failing item is reported at once.
Files sit on a tmpfs; ``refresh`` rewrites them when the pod's labels or annotations change.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any, ClassVar

from pilothouse.kubelet.fieldpath import FieldPathError, extract_field_path, extract_resource_value
from pilothouse.kubelet.volumes.atomic_writer import FileProjection
from pilothouse.kubelet.volumes.emptydir import MEDIUM_MEMORY
from pilothouse.kubelet.volumes.errors import SourceError, aggregate, setup_failed
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.layout import DOWNWARD_API
from pilothouse.kubelet.volumes.podvolumes import PodVolume
from pilothouse.kubelet.volumes.projection import file_mode, publish

Obj = dict[str, Any]


class DownwardAPIPlugin:
    source: ClassVar[str] = "downwardAPI"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        source = volume.get(self.source) or {}
        try:
            payload = collect_data(source.get("items") or [], pod, host.allocatable(),
                                   source.get("defaultMode"))
        except SourceError as error:
            raise setup_failed(volume["name"], str(error)) from None
        return await publish(host, pod, volume, plugin=DOWNWARD_API, medium=MEDIUM_MEMORY,
                             payload=payload)


def collect_data(items: list[Obj], pod: Obj, allocatable: Mapping[str, Any],
                 default_mode: int | None) -> dict[str, FileProjection]:
    payload, problems = {}, []
    for item in items:
        try:
            value = _item_value(item, pod, allocatable)
        except (SourceError, FieldPathError) as error:
            problems.append(str(error))
            continue
        payload[posixpath.normpath(item.get("path") or "")] = FileProjection(
            value.encode(), file_mode(item, default_mode))
    if problems:
        raise SourceError(aggregate(problems))
    return payload


def _item_value(item: Obj, pod: Obj, allocatable: Mapping[str, Any]) -> str:
    if item.get("fieldRef"):
        return extract_field_path(pod, item["fieldRef"].get("fieldPath") or "")
    if item.get("resourceFieldRef"):
        return extract_resource_value(item["resourceFieldRef"], pod, allocatable)
    return ""
