"""configMap volumes: one file per key of a ConfigMap (``data`` as UTF-8, ``binaryData``
decoded), or only the keys ``items`` name, at their paths and modes.

A missing ConfigMap or key fails the volume unless it is ``optional`` (then the volume holds
what exists, possibly nothing). Files sit on the node's disk, as upstream keeps them, and are
kept up to date by ``refresh``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pilothouse.kubelet.volumes.atomic_writer import FileProjection
from pilothouse.kubelet.volumes.emptydir import MEDIUM_DEFAULT
from pilothouse.kubelet.volumes.errors import SourceError, setup_failed
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.layout import CONFIG_MAP
from pilothouse.kubelet.volumes.podvolumes import PodVolume
from pilothouse.kubelet.volumes.projection import decode_base64, key_files, publish

Obj = dict[str, Any]


class ConfigMapPlugin:
    source: ClassVar[str] = "configMap"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        source = volume.get(self.source) or {}
        optional = bool(source.get("optional"))
        try:
            config_map = await host.config_map(pod["metadata"].get("namespace") or "default",
                                               source.get("name") or "", optional=optional)
            payload = make_payload(source.get("items") or [], config_map,
                                   source.get("defaultMode"), optional=optional)
        except SourceError as error:
            raise setup_failed(volume["name"], str(error)) from None
        return await publish(host, pod, volume, plugin=CONFIG_MAP, medium=MEDIUM_DEFAULT,
                             payload=payload)


def make_payload(items: list[Obj], config_map: Obj, default_mode: int | None, *,
                 optional: bool) -> dict[str, FileProjection]:
    binary = {key: decode_base64(value)
              for key, value in (config_map.get("binaryData") or {}).items()}
    data = {key: value.encode() for key, value in (config_map.get("data") or {}).items()}
    return key_files(binary | data, items, default_mode, optional=optional,
                     missing="configmap references non-existent config key")
