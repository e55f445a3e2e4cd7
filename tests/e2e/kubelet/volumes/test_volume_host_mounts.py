"""Real mounts: tmpfs volumes with their sizes, subPath binds, and teardown that leaves
nothing mounted, also after a failed setup and after the agent process was replaced."""

# ruff: noqa: ASYNC240 (tests read small files on the event loop; nothing else runs on it)

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from volume_e2e import mounts_below

from pilothouse.client import APIClient
from pilothouse.kubelet.volumes import VolumeError, VolumeManager
from pilothouse.kubelet.volumes.mounter import LinuxMounter

pytestmark = pytest.mark.asyncio(loop_scope="module")

Obj = dict[str, Any]


def tmpfs_options(path: Path) -> str:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" ")
        if fields[4] == os.path.realpath(path):
            separator = fields.index("-")
            assert fields[separator + 1] == "tmpfs"
            return fields[separator + 3]
    raise AssertionError(f"{path} is not a mount point")


async def make_pod(client: APIClient, namespace: str, volumes: list[Obj],
                   mounts: list[Obj] | None = None) -> Obj:
    """Created through the API, so it carries the server's defaults (uid, defaultMode...)."""
    return await client["pods"].create({
        "metadata": {"name": f"p{len(volumes)}", "namespace": namespace},
        "spec": {"containers": [{"name": "app", "image": "busybox", "volumeMounts": mounts or []}],
                 "volumes": volumes}})


async def test_memory_volumes_are_sized_tmpfs(manager: VolumeManager, client: APIClient,
                                              namespace: str, tmp_path: Path) -> None:
    await client["secrets"].create({"metadata": {"name": "creds", "namespace": namespace},
                                    "stringData": {"password": "hunter2"}})
    pod = await make_pod(client, namespace, [
        {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        {"name": "creds", "secret": {"secretName": "creds"}},
        {"name": "disk", "emptyDir": {}}])

    volumes = await manager.setup(pod)

    assert "size=16384k" in tmpfs_options(volumes.path("cache"))
    assert "size=1048576k" in tmpfs_options(volumes.path("creds"))  # node allocatable memory
    assert (volumes.path("creds") / "password").read_text() == "hunter2"
    assert oct(os.stat(volumes.path("creds") / "password").st_mode & 0o777) == oct(0o644)
    assert len(mounts_below(tmp_path)) == 2

    await manager.teardown(pod["metadata"]["uid"])

    assert mounts_below(tmp_path) == []
    assert not (tmp_path / "pods" / pod["metadata"]["uid"]).exists()


async def test_failed_setup_leaves_nothing_mounted(manager: VolumeManager, client: APIClient,
                                                   namespace: str, tmp_path: Path) -> None:
    pod = await make_pod(client, namespace, [
        {"name": "cache", "emptyDir": {"medium": "Memory"}},
        {"name": "creds", "secret": {"secretName": "creds"}},
        {"name": "cfg", "configMap": {"name": "absent"}}])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)

    assert failure.value.message == ('MountVolume.SetUp failed for volume "creds" : '
                                     'secret "creds" not found')
    assert mounts_below(tmp_path) == [] and manager.pods_on_disk() == []


async def test_a_new_agent_tears_down_what_the_old_one_mounted(
        manager: VolumeManager, client: APIClient, namespace: str, tmp_path: Path) -> None:
    pod = await make_pod(client, namespace, [{"name": "cache", "emptyDir": {"medium": "Memory"}},
                                             {"name": "data", "emptyDir": {}}],
                         mounts=[{"name": "data", "mountPath": "/logs", "subPath": "logs"}])
    volumes = await manager.setup(pod)
    manager.container_mounts(pod, pod["spec"]["containers"][0], volumes)
    assert len(mounts_below(tmp_path)) == 2

    restarted = VolumeManager(tmp_path / "pods", client=client,
                              allocatable=lambda: {"cpu": "2", "memory": "1Gi"})
    again = await restarted.setup(pod)  # adoption: nothing mounted twice
    assert again == volumes and len(mounts_below(tmp_path)) == 2
    await restarted.teardown(pod["metadata"]["uid"])

    assert mounts_below(tmp_path) == [] and restarted.pods_on_disk() == []


async def test_sub_path_bind_shows_only_the_sub_directory(
        manager: VolumeManager, client: APIClient, namespace: str, tmp_path: Path) -> None:
    pod = await make_pod(client, namespace, [{"name": "data", "emptyDir": {}}],
                         mounts=[{"name": "data", "mountPath": "/logs", "subPath": "app/logs"}])
    volumes = await manager.setup(pod)
    (volumes.path("data") / "app" / "logs").mkdir(parents=True)
    (volumes.path("data") / "app" / "logs" / "today").write_text("x")
    (volumes.path("data") / "secret-of-the-volume").write_text("y")

    [mount] = manager.container_mounts(pod, pod["spec"]["containers"][0], volumes)

    assert os.listdir(mount.host_path) == ["today"]
    assert LinuxMounter().is_mount_point(Path(mount.host_path))


async def test_symlink_swapped_in_cannot_escape(manager: VolumeManager, client: APIClient,
                                                namespace: str, tmp_path: Path) -> None:
    outside = tmp_path / "host-secrets"
    outside.mkdir()
    (outside / "shadow").write_text("root:x")
    pod = await make_pod(client, namespace, [{"name": "data", "emptyDir": {}}],
                         mounts=[{"name": "data", "mountPath": "/x", "subPath": "evil"}])
    volumes = await manager.setup(pod)
    os.symlink(outside, volumes.path("data") / "evil")  # what a container could do

    with pytest.raises(VolumeError, match="^failed to prepare subPath for volumeMount"):
        manager.container_mounts(pod, pod["spec"]["containers"][0], volumes)

    assert mounts_below(tmp_path) == []
