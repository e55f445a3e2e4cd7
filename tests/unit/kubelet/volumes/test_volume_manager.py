"""The manager's promises: idempotent setup, nothing left by a failed setup, teardown that
finds every mount (also those of an earlier agent process) and removes everything."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from volume_fakes import ALLOCATABLE, FakeClient, FakeMounter, config_map, make_pod, secret

from pilothouse.kubelet.volumes import VolumeError, VolumeManager


def all_kinds_pod() -> dict:
    return make_pod(volumes=[
        {"name": "scratch", "emptyDir": {}},
        {"name": "cache", "emptyDir": {"medium": "Memory"}},
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {"name": "creds", "secret": {"secretName": "creds"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
    ], containers=[{"name": "app", "volumeMounts": [
        {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"}]}])


@pytest.fixture
def objects(client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"app.conf": "x=1"}))
    client.add("secrets", secret("creds", {"password": b"p"}))


@pytest.mark.usefixtures("objects")
async def test_setup_is_idempotent(manager: VolumeManager, mounter: FakeMounter) -> None:
    pod = all_kinds_pod()
    first = await manager.setup(pod)
    mounted = list(mounter.mounted)

    second = await manager.setup(pod)

    assert first == second and mounter.mounted == mounted
    assert sorted(first) == ["cache", "cfg", "creds", "info", "scratch"]


@pytest.mark.usefixtures("objects")
async def test_failed_setup_leaves_nothing(manager: VolumeManager, client: FakeClient,
                                           mounter: FakeMounter, pods_dir: Path) -> None:
    pod = all_kinds_pod()
    pod["spec"]["volumes"].append({"name": "late", "configMap": {"name": "not-there"}})

    with pytest.raises(VolumeError, match='volume "late" : configmap "not-there" not found'):
        await manager.setup(pod)

    assert mounter.mounted == [] and not pods_dir.joinpath("uid-1").exists()


@pytest.mark.usefixtures("objects")
async def test_failed_setup_keeps_volumes_of_an_earlier_setup(
        manager: VolumeManager, client: FakeClient, mounter: FakeMounter) -> None:
    pod = all_kinds_pod()
    volumes = await manager.setup(pod)
    del client.objects[("secrets", "default", "creds")]

    with pytest.raises(VolumeError):
        await manager.setup(pod)

    assert all(volumes.path(name).is_dir() for name in volumes)
    assert len(mounter.mounted) == 3  # two memory volumes and the secret's tmpfs


async def test_cancelled_setup_leaves_nothing(manager: VolumeManager, client: FakeClient,
                                              mounter: FakeMounter, pods_dir: Path) -> None:
    client.gate = asyncio.Event()
    pod = make_pod(volumes=[{"name": "cache", "emptyDir": {"medium": "Memory"}},
                            {"name": "cfg", "configMap": {"name": "cfg"}}])
    task = asyncio.create_task(manager.setup(pod))
    await client.at_gate.wait()
    assert len(mounter.mounted) == 1

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert mounter.mounted == [] and not pods_dir.joinpath("uid-1").exists()


async def test_unsupported_volume_source(manager: VolumeManager) -> None:
    pod = make_pod(volumes=[{"name": "remote", "nfs": {"server": "nfs", "path": "/"}}])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)
    assert failure.value.message == (
        "Unable to attach or mount volumes: unmounted volumes=[remote], unattached volumes=[], "
        'failed to process volumes=[remote]: failed to get Plugin from volumeSpec for volume '
        '"remote" err=no volume plugin matched')


@pytest.mark.usefixtures("objects")
async def test_teardown_unmounts_and_removes_everything(
        manager: VolumeManager, mounter: FakeMounter, pods_dir: Path) -> None:
    pod = all_kinds_pod()
    volumes = await manager.setup(pod)
    manager.container_mounts(pod, pod["spec"]["containers"][0], volumes)
    assert len(mounter.mounted) == 4  # three tmpfs and the subPath bind
    (pods_dir / "uid-1" / "etc-hosts").write_text("127.0.0.1 localhost\n")

    await manager.teardown("uid-1")
    await manager.teardown("uid-1")

    assert mounter.mounted == [] and not pods_dir.joinpath("uid-1").exists()


@pytest.mark.usefixtures("objects")
async def test_teardown_after_a_crash_finds_the_old_mounts(
        pods_dir: Path, client: FakeClient, mounter: FakeMounter) -> None:
    before_crash = VolumeManager(pods_dir, client=client, mounter=mounter,  # type: ignore[arg-type]
                                 allocatable=lambda: ALLOCATABLE)
    await before_crash.setup(all_kinds_pod())

    restarted = VolumeManager(pods_dir, client=client, mounter=mounter,  # type: ignore[arg-type]
                              allocatable=lambda: ALLOCATABLE)
    assert restarted.pods_on_disk() == ["uid-1"]
    await restarted.teardown("uid-1")

    assert mounter.mounted == [] and restarted.pods_on_disk() == []


@pytest.mark.usefixtures("objects")
async def test_teardown_removes_nothing_while_mounted(
        manager: VolumeManager, mounter: FakeMounter, pods_dir: Path) -> None:
    volumes = await manager.setup(all_kinds_pod())
    mounter.fail_unmount = True

    with pytest.raises(VolumeError) as failure:
        await manager.teardown("uid-1")

    assert failure.value.reason == "FailedUnmount"
    assert (volumes.path("creds") / "password").exists()


@pytest.mark.usefixtures("objects")
async def test_refresh_after_teardown_recreates_nothing(
        manager: VolumeManager, pods_dir: Path) -> None:
    pod = all_kinds_pod()
    volumes = await manager.setup(pod)
    await manager.teardown("uid-1")

    await manager.refresh(pod, volumes)

    assert not pods_dir.joinpath("uid-1").exists()


@pytest.mark.usefixtures("objects")
async def test_pods_proceed_independently(manager: VolumeManager) -> None:
    pods = [all_kinds_pod() | {"metadata": {**all_kinds_pod()["metadata"], "uid": f"u{i}"}}
            for i in range(5)]

    results = await asyncio.gather(*(manager.setup(pod) for pod in pods))

    assert [r.pod_uid for r in results] == [f"u{i}" for i in range(5)]
    assert sorted(manager.pods_on_disk()) == [f"u{i}" for i in range(5)]
