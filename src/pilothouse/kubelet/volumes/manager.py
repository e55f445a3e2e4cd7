"""The kubelet's volume manager: a pod's volumes ready before its containers, gone after.

Guarantees:

* ``setup`` makes every volume of the pod ready under ``<pods_dir>/<uid>/volumes`` and is
  idempotent: on a pod set up before (also by an agent that was killed) it mounts nothing
  twice and only brings generated content up to date. When it fails, everything this call
  created is unmounted and removed, and volumes set up earlier are left as they were (their
  containers may be running).
* ``container_mounts`` gives a container its mounts, binding subPaths safely.
* ``refresh`` rewrites configMap, secret, downwardAPI and projected volumes whose source
  changed (readers see each update atomically); other volumes are left alone, and a volume
  whose update fails keeps its previous content.
* ``teardown`` unmounts every mount below the pod's directory, found in the mount table so
  mounts left by a previous agent process are found too, then removes the directory; it is
  idempotent and removes nothing while something is still mounted.

Calls for one pod are serialized; different pods proceed concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pilothouse.api.patch.gojson import quote
from pilothouse.client import APIClient
from pilothouse.kubelet.volumes.blocking import blocking
from pilothouse.kubelet.volumes.configmap import ConfigMapPlugin
from pilothouse.kubelet.volumes.downwardapi import DownwardAPIPlugin
from pilothouse.kubelet.volumes.emptydir import EmptyDirPlugin
from pilothouse.kubelet.volumes.errors import (
    FAILED_UNMOUNT,
    VolumeError,
    describe,
    processing_failed,
)
from pilothouse.kubelet.volumes.host import VolumeHost, VolumePlugin, machine_capacity
from pilothouse.kubelet.volumes.hostpath import HostPathPlugin
from pilothouse.kubelet.volumes.layout import PodLayout
from pilothouse.kubelet.volumes.mounter import LinuxMounter, Mounter
from pilothouse.kubelet.volumes.mounts import container_mounts
from pilothouse.kubelet.volumes.podvolumes import PodVolumes
from pilothouse.kubelet.volumes.projected import ProjectedPlugin
from pilothouse.kubelet.volumes.pvc import PersistentVolumeClaimPlugin
from pilothouse.kubelet.volumes.secret import SecretPlugin
from pilothouse.kubelet.volumes.tokens import ServiceAccountTokens
from pilothouse.runtime.interface import Mount

Obj = dict[str, Any]

PLUGINS: tuple[VolumePlugin, ...] = (
    EmptyDirPlugin(), HostPathPlugin(), ConfigMapPlugin(), SecretPlugin(), DownwardAPIPlugin(),
    ProjectedPlugin(), PersistentVolumeClaimPlugin(),
)
_POD_DIR_MODE = 0o750

log = logging.getLogger(__name__)


class VolumeManager:
    def __init__(self, pods_dir: Path, *, client: APIClient, mounter: Mounter | None = None,
                 allocatable: Callable[[], Mapping[str, Any]] = machine_capacity):
        """``allocatable`` returns the node's allocatable resources (as in Node.status);
        ``mounter`` defaults to real mounts."""
        self._layout = PodLayout(pods_dir)
        self._host = VolumeHost(self._layout, mounter or LinuxMounter(), client, allocatable,
                                ServiceAccountTokens(client=client))
        self._plugins = {plugin.source: plugin for plugin in PLUGINS}
        self._locks: dict[str, asyncio.Lock] = {}

    async def setup(self, pod: Obj) -> PodVolumes:
        uid = pod["metadata"]["uid"]
        async with self._lock(uid):
            before = await blocking(self._prepare_pod_dir, uid)
            try:
                volumes = PodVolumes(uid)
                for volume in (pod.get("spec") or {}).get("volumes") or []:
                    plugin = self._plugin_for(volume)
                    volumes.volumes[volume["name"]] = await plugin.set_up(self._host, pod, volume)
                return volumes
            except BaseException:
                await self._roll_back(uid, before)
                raise

    def container_mounts(self, pod: Obj, container: Obj, volumes: PodVolumes, *,
                         env: Mapping[str, str] | None = None) -> list[Mount]:
        """The runtime mounts of ``container``; ``env`` is its environment, for subPathExpr."""
        return container_mounts(pod, container, volumes, layout=self._layout,
                                mounter=self._host.mounter, env=env or {})

    async def refresh(self, pod: Obj, volumes: PodVolumes) -> None:
        """Bring managed volumes up to date; the first failure is raised after trying all."""
        failures = []
        async with self._lock(volumes.pod_uid):
            for volume in (pod.get("spec") or {}).get("volumes") or []:
                current = volumes.get(volume["name"])
                if current is None or not current.managed or not current.path.is_dir():
                    continue  # not a managed volume, or torn down meanwhile
                try:
                    plugin = self._plugin_for(volume)
                    volumes.volumes[volume["name"]] = await plugin.set_up(self._host, pod, volume)
                except VolumeError as error:
                    failures.append(error)
        if failures:
            raise failures[0]

    async def teardown(self, pod_uid: str) -> None:
        async with self._lock(pod_uid):
            self._host.tokens.forget_pod(pod_uid)
            await blocking(self._remove_pod_dir, pod_uid)
        self._locks.pop(pod_uid, None)

    def pods_on_disk(self) -> list[str]:
        """Uids of every pod with volumes state here: after a restart, those the kubelet no
        longer runs are orphans to tear down."""
        return self._layout.pod_uids()

    def _lock(self, pod_uid: str) -> asyncio.Lock:
        return self._locks.setdefault(pod_uid, asyncio.Lock())

    def _plugin_for(self, volume: Obj) -> VolumePlugin:
        for source, plugin in self._plugins.items():
            if volume.get(source) is not None:
                return plugin
        name = volume.get("name") or ""
        raise processing_failed(name, f"failed to get Plugin from volumeSpec for volume "
                                      f"{quote(name)} err=no volume plugin matched")

    async def _roll_back(self, pod_uid: str, before: set[Path]) -> None:
        try:
            await blocking(self._remove_new_volumes, pod_uid, before)
        except VolumeError as error:
            # The setup's own error is the one to report; teardown retries the removal.
            log.warning("cleaning up after a failed setup of pod %s: %s", pod_uid, error.message)

    # -- on the host (run in a thread) ----------------------------------------------------

    def _prepare_pod_dir(self, pod_uid: str) -> set[Path]:
        """Make the pod's directories; returns the volume directories already there."""
        volumes_dir = self._layout.pod_dir(pod_uid) / "volumes"
        volumes_dir.mkdir(mode=_POD_DIR_MODE, parents=True, exist_ok=True)
        return set(volumes_dir.glob("*/*"))

    def _remove_new_volumes(self, pod_uid: str, before: set[Path]) -> None:
        volumes_dir = self._layout.pod_dir(pod_uid) / "volumes"
        for path in set(volumes_dir.glob("*/*")) - before:
            self._remove(path)
        for directory in [*volumes_dir.glob("*"), volumes_dir, volumes_dir.parent]:
            try:
                directory.rmdir()  # only when empty: other state of the pod stays
            except OSError:
                pass

    def _remove_pod_dir(self, pod_uid: str) -> None:
        self._remove(self._layout.pod_dir(pod_uid))

    def _remove(self, path: Path) -> None:
        """Unmount everything at or below ``path``, then delete it."""
        mounter = self._host.mounter
        try:
            for mount_point in mounter.mount_points_under(path):
                mounter.unmount(mount_point)
        except OSError as error:
            raise VolumeError(FAILED_UNMOUNT,
                              f"UnmountVolume.TearDown failed for {path}: {describe(error)}") from None
        if mounter.mount_points_under(path):
            raise VolumeError(FAILED_UNMOUNT, f"UnmountVolume.TearDown failed for {path}: "
                                              "still mounted after unmount")
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            pass
