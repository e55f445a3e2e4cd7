"""projected volumes: configMap, secret, downwardAPI and serviceAccountToken sources merged
into one directory, with the volume's ``defaultMode`` for every file without a mode.

A failing source does not stop the others from being read: all failures are reported at once
and nothing is written. ServiceAccount tokens come from TokenRequest through
:class:`~pilothouse.kubelet.volumes.tokens.ServiceAccountTokens`, owned by the pod's user when
all its containers run as one, and mode 0600 when an owner or fsGroup is set (fsGroup then
makes it 0640). clusterTrustBundle sources are not supported. Files sit on a tmpfs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pilothouse.kubelet.volumes import configmap, downwardapi, secret
from pilothouse.kubelet.volumes.atomic_writer import FileProjection
from pilothouse.kubelet.volumes.emptydir import MEDIUM_MEMORY
from pilothouse.kubelet.volumes.errors import SourceError, aggregate, setup_failed
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.layout import PROJECTED
from pilothouse.kubelet.volumes.ownership import fs_group_of, fs_user_of
from pilothouse.kubelet.volumes.podvolumes import PodVolume
from pilothouse.kubelet.volumes.projection import DEFAULT_MODE, publish

Obj = dict[str, Any]


class ProjectedPlugin:
    source: ClassVar[str] = "projected"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        try:
            payload = await collect_data(host, pod, volume.get(self.source) or {})
        except SourceError as error:
            raise setup_failed(volume["name"], str(error)) from None
        return await publish(host, pod, volume, plugin=PROJECTED, medium=MEDIUM_MEMORY,
                             payload=payload)


async def collect_data(host: VolumeHost, pod: Obj, source: Obj) -> dict[str, FileProjection]:
    default_mode = source.get("defaultMode")
    payload: dict[str, FileProjection] = {}
    problems = []
    for projection in source.get("sources") or []:
        try:
            payload.update(await _project(host, pod, projection, default_mode))
        except SourceError as error:
            problems.append(str(error))
    if problems:
        raise SourceError(aggregate(problems))
    return payload


async def _project(host: VolumeHost, pod: Obj, projection: Obj,
                   default_mode: int | None) -> dict[str, FileProjection]:
    namespace = pod["metadata"].get("namespace") or "default"
    if projection.get("secret") is not None:
        source = projection["secret"]
        optional = bool(source.get("optional"))
        found = await host.secret(namespace, source.get("name") or "", optional=optional)
        return secret.make_payload(source.get("items") or [], found, default_mode,
                                   optional=optional)
    if projection.get("configMap") is not None:
        source = projection["configMap"]
        optional = bool(source.get("optional"))
        found = await host.config_map(namespace, source.get("name") or "", optional=optional)
        return configmap.make_payload(source.get("items") or [], found, default_mode,
                                      optional=optional)
    if projection.get("downwardAPI") is not None:
        return downwardapi.collect_data(projection["downwardAPI"].get("items") or [], pod,
                                        host.allocatable(), default_mode)
    if projection.get("serviceAccountToken") is not None:
        return await _token(host, pod, projection["serviceAccountToken"], default_mode)
    kind = next(iter(projection), "")
    raise SourceError(f"projected volume source {kind} is not supported by this kubelet")


async def _token(host: VolumeHost, pod: Obj, projection: Obj,
                 default_mode: int | None) -> dict[str, FileProjection]:
    token = await host.tokens.token_for(pod, projection)
    fs_user = fs_user_of(pod)
    mode = DEFAULT_MODE if default_mode is None else int(default_mode)
    if fs_user is not None or fs_group_of(pod) is not None:
        mode = 0o600  # fsGroup adds group read
    return {projection.get("path") or "": FileProjection(token.encode(), mode, fs_user)}
