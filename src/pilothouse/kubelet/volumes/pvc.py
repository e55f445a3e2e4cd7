"""persistentVolumeClaim volumes backed by hostPath or local PersistentVolumes.

The claim must exist, not be terminating, be ``Bound`` with ``spec.volumeName``, and the
PersistentVolume must point back to it (``claimRef.uid``); otherwise the volume fails with
the kubelet's own words ("PVC is not bound", ...). The volume is then the PV's path:

* hostPath: checked against its ``type`` exactly as a hostPath volume;
* local: must exist and be a directory; the pod's fsGroup owns it unless mounted read-only.

The claim's ``readOnly`` makes every container mount of it read-only. Events name the volume
by its PersistentVolume, as upstream does. Other PersistentVolume sources are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pilothouse.client import APIClient
from pilothouse.kubelet.volumes.blocking import blocking
from pilothouse.kubelet.volumes.errors import (
    API_FAILURES,
    FAILED_MOUNT,
    SourceError,
    VolumeError,
    describe,
    processing_failed,
    setup_failed,
)
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.hostpath import check_host_path
from pilothouse.kubelet.volumes.layout import HOST_PATH, LOCAL_VOLUME
from pilothouse.kubelet.volumes.ownership import (
    fs_group_change_policy_of,
    fs_group_of,
    set_volume_ownership,
)
from pilothouse.kubelet.volumes.podvolumes import PodVolume

Obj = dict[str, Any]


class PersistentVolumeClaimPlugin:
    source: ClassVar[str] = "persistentVolumeClaim"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        source = volume.get(self.source) or {}
        namespace = pod["metadata"].get("namespace") or "default"
        claim = source.get("claimName") or ""
        try:
            pv = await bound_volume(host.client, namespace, claim)
        except SourceError as error:
            raise processing_failed(
                volume["name"], f"error processing PVC {namespace}/{claim}: {error}") from None
        read_only = bool(source.get("readOnly"))
        pv_spec = pv.get("spec") or {}
        if pv_spec.get("hostPath") is not None:
            return await self._host_path(volume["name"], pv, read_only)
        if pv_spec.get("local") is not None:
            return await self._local(volume["name"], pv, pod, read_only)
        raise processing_failed(
            volume["name"], f"error processing PVC {namespace}/{claim}: PersistentVolume "
            f"{pv['metadata']['name']} is neither hostPath nor local, the only kinds this "
            "kubelet mounts")

    @staticmethod
    async def _host_path(name: str, pv: Obj, read_only: bool) -> PodVolume:
        source = pv["spec"]["hostPath"]
        path = source.get("path") or ""
        try:
            await blocking(check_host_path, path, source.get("type") or "")
        except (OSError, SourceError) as error:
            raise setup_failed(pv["metadata"]["name"], describe(error)) from None
        return PodVolume(name, HOST_PATH, Path(path), read_only=read_only)

    @staticmethod
    async def _local(name: str, pv: Obj, pod: Obj, read_only: bool) -> PodVolume:
        path = Path(pv["spec"]["local"].get("path") or "")
        problem = await blocking(_local_path_problem, path)
        if problem:
            raise VolumeError(FAILED_MOUNT, "MountVolume.NewMounter initialization failed for "
                                            f'volume "{pv["metadata"]["name"]}" : {problem}')
        if not read_only:
            await blocking(set_volume_ownership, path, fs_group_of(pod), read_only=False,
                                    change_policy=fs_group_change_policy_of(pod))
        return PodVolume(name, LOCAL_VOLUME, path, read_only=read_only)


def _local_path_problem(path: Path) -> str:
    if not path.exists():
        return f'path "{path}" does not exist'
    if not path.is_dir():
        return "only directories are supported"  # upstream also maps block devices
    return ""


async def bound_volume(client: APIClient, namespace: str, claim_name: str) -> Obj:
    """The PersistentVolume bound to the claim; SourceError in the kubelet's words if none."""
    try:
        claim = await client["persistentvolumeclaims"].get(claim_name, namespace=namespace)
    except API_FAILURES as error:
        raise SourceError(f"failed to fetch PVC from API server: {error}") from None
    if (claim.get("metadata") or {}).get("deletionTimestamp"):
        raise SourceError("PVC is being deleted")
    if (claim.get("status") or {}).get("phase") != "Bound":
        raise SourceError("PVC is not bound")
    pv_name = (claim.get("spec") or {}).get("volumeName") or ""
    if not pv_name:
        raise SourceError("PVC has empty pvc.Spec.VolumeName")
    try:
        pv = await client["persistentvolumes"].get(pv_name)
    except API_FAILURES as error:
        raise SourceError(f"failed to fetch PV {pv_name} from API server: {error}") from None
    claim_ref = (pv.get("spec") or {}).get("claimRef")
    if not claim_ref:
        raise SourceError(f"found PV object {pv_name} but it has a nil pv.Spec.ClaimRef "
                          "indicating it is not yet bound to the claim")
    claim_uid = claim["metadata"].get("uid", "")
    if claim_ref.get("uid", "") != claim_uid:
        raise SourceError(f"found PV object {pv_name} but its pv.Spec.ClaimRef.UID "
                          f"{claim_ref.get('uid', '')} does not point to claim.UID {claim_uid}")
    return pv
