"""persistentVolumeClaim volumes: claim and volume checks in the kubelet's words."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from volume_fakes import FakeClient, make_pod

from pilothouse.kubelet.volumes import VolumeError, VolumeManager

Obj = dict[str, Any]


def claim(name: str = "data", *, phase: str = "Bound", volume: str = "pv-1", uid: str = "claim-uid",
          deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "uid": uid}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"volumeName": volume}, "status": {"phase": phase}}


def persistent_volume(source: Obj, *, name: str = "pv-1", claim_uid: str | None = "claim-uid") -> Obj:
    spec: Obj = dict(source)
    if claim_uid is not None:
        spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": "default",
                            "name": "data", "uid": claim_uid}
    return {"metadata": {"name": name}, "spec": spec}


def pod_using(claim_name: str = "data", read_only: bool = False) -> Obj:
    source: Obj = {"claimName": claim_name}
    if read_only:
        source["readOnly"] = True
    return make_pod(volumes=[{"name": "store", "persistentVolumeClaim": source}])


async def test_host_path_volume(manager: VolumeManager, client: FakeClient, tmp_path: Path) -> None:
    client.add("persistentvolumeclaims", claim())
    client.add("persistentvolumes", persistent_volume(
        {"hostPath": {"path": str(tmp_path / "pv"), "type": "DirectoryOrCreate"}}))

    volume = (await manager.setup(pod_using()))["store"]

    assert volume.path == tmp_path / "pv" and volume.path.is_dir()
    assert not volume.read_only and volume.plugin == "kubernetes.io/host-path"


async def test_local_volume_read_only(manager: VolumeManager, client: FakeClient, tmp_path: Path) -> None:
    client.add("persistentvolumeclaims", claim())
    client.add("persistentvolumes", persistent_volume({"local": {"path": str(tmp_path)}}))

    volume = (await manager.setup(pod_using(read_only=True)))["store"]

    assert volume.path == tmp_path and volume.read_only
    assert volume.plugin == "kubernetes.io/local-volume"


async def test_local_volume_gets_the_fs_group(manager: VolumeManager, client: FakeClient,
                                              tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    client.add("persistentvolumeclaims", claim())
    client.add("persistentvolumes", persistent_volume({"local": {"path": str(tmp_path)}}))
    pod = pod_using()
    pod["spec"]["securityContext"] = {"fsGroup": os.getgid()}

    await manager.setup(pod)

    assert os.stat(tmp_path / "file").st_mode & 0o060 == 0o060


async def test_missing_local_path(manager: VolumeManager, client: FakeClient, tmp_path: Path) -> None:
    client.add("persistentvolumeclaims", claim())
    client.add("persistentvolumes", persistent_volume({"local": {"path": str(tmp_path / "gone")}}))

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod_using())
    assert failure.value.message == ('MountVolume.NewMounter initialization failed for volume '
                                     f'"pv-1" : path "{tmp_path / "gone"}" does not exist')


async def test_host_path_type_failure_names_the_persistent_volume(
        manager: VolumeManager, client: FakeClient, tmp_path: Path) -> None:
    client.add("persistentvolumeclaims", claim())
    client.add("persistentvolumes", persistent_volume(
        {"hostPath": {"path": str(tmp_path / "gone"), "type": "Directory"}}))

    with pytest.raises(VolumeError, match=r'^MountVolume\.SetUp failed for volume "pv-1" : '):
        await manager.setup(pod_using())


PREFIX = ("Unable to attach or mount volumes: unmounted volumes=[store], unattached volumes=[], "
          "failed to process volumes=[store]: error processing PVC default/data: ")


@pytest.mark.parametrize(("objects", "cause"), [
    ([], 'failed to fetch PVC from API server: persistentvolumeclaims "data" not found'),
    ([("persistentvolumeclaims", claim(phase="Pending", volume=""))], "PVC is not bound"),
    ([("persistentvolumeclaims", claim(deleting=True))], "PVC is being deleted"),
    ([("persistentvolumeclaims", claim(volume=""))], "PVC has empty pvc.Spec.VolumeName"),
    ([("persistentvolumeclaims", claim())],
     'failed to fetch PV pv-1 from API server: persistentvolumes "pv-1" not found'),
    ([("persistentvolumeclaims", claim()),
      ("persistentvolumes", persistent_volume({"hostPath": {"path": "/x"}}, claim_uid=None))],
     "found PV object pv-1 but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim"),
    ([("persistentvolumeclaims", claim()),
      ("persistentvolumes", persistent_volume({"hostPath": {"path": "/x"}}, claim_uid="other"))],
     "found PV object pv-1 but its pv.Spec.ClaimRef.UID other does not point to claim.UID claim-uid"),
    ([("persistentvolumeclaims", claim()),
      ("persistentvolumes", persistent_volume({"nfs": {"server": "x", "path": "/"}}))],
     "PersistentVolume pv-1 is neither hostPath nor local, the only kinds this kubelet mounts"),
], ids=["no-claim", "pending", "deleting", "no-volume-name", "no-pv", "no-claim-ref",
        "other-claim", "unsupported-source"])
async def test_claim_problems(manager: VolumeManager, client: FakeClient, pods_dir: Path,
                              objects: list[tuple[str, Obj]], cause: str) -> None:
    for plural, obj in objects:
        client.add(plural, obj)

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod_using())

    assert failure.value.reason == "FailedMount"
    assert failure.value.message == PREFIX + cause
    assert not pods_dir.joinpath("uid-1").exists()
