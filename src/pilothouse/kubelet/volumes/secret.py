"""secret volumes: one file per key of a Secret (``data`` decoded from base64), or only the
keys ``items`` name, at their paths and modes.

A missing Secret or key fails the volume unless it is ``optional``. Files sit on a tmpfs so
secrets never reach the node's disk, and are kept up to date by ``refresh``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pilothouse.kubelet.volumes.atomic_writer import FileProjection
from pilothouse.kubelet.volumes.emptydir import MEDIUM_MEMORY
from pilothouse.kubelet.volumes.errors import SourceError, setup_failed
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.layout import SECRET
from pilothouse.kubelet.volumes.podvolumes import PodVolume
from pilothouse.kubelet.volumes.projection import decode_base64, key_files, publish

Obj = dict[str, Any]


class SecretPlugin:
    source: ClassVar[str] = "secret"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        source = volume.get(self.source) or {}
        optional = bool(source.get("optional"))
        try:
            secret = await host.secret(pod["metadata"].get("namespace") or "default",
                                       source.get("secretName") or "", optional=optional)
            payload = make_payload(source.get("items") or [], secret,
                                   source.get("defaultMode"), optional=optional)
        except SourceError as error:
            raise setup_failed(volume["name"], str(error)) from None
        return await publish(host, pod, volume, plugin=SECRET, medium=MEDIUM_MEMORY,
                             payload=payload)


def make_payload(items: list[Obj], secret: Obj, default_mode: int | None, *,
                 optional: bool) -> dict[str, FileProjection]:
    data = {key: decode_base64(value) for key, value in (secret.get("data") or {}).items()}
    return key_files(data, items, default_mode, optional=optional,
                     missing="references non-existent secret key")
