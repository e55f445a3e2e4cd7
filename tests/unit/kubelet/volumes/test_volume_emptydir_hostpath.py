"""emptyDir (disk and memory, sizes, fsGroup) and hostPath (every type, upstream's messages)."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from volume_fakes import FakeMounter, make_pod

from pilothouse.kubelet.volumes import VolumeError, VolumeManager
from pilothouse.kubelet.volumes.emptydir import memory_volume_size, pod_memory_limit

GI = 2**30
MI = 2**20


def with_memory(limit: str | None) -> dict[str, Any]:
    return {"resources": {"limits": {"memory": limit}}} if limit else {}


# -- emptyDir ----------------------------------------------------------------------------


async def test_empty_dir_on_disk(manager: VolumeManager, mounter: FakeMounter) -> None:
    pod = make_pod(volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}])

    volume = (await manager.setup(pod))["scratch"]

    assert volume.path.parent.name == "kubernetes.io~empty-dir" and volume.path.is_dir()
    assert stat.S_IMODE(os.stat(volume.path).st_mode) == 0o777
    assert volume.size_limit == GI and volume.medium == "" and not volume.read_only
    assert mounter.mounted == []  # sizeLimit on disk is recorded, not mounted


async def test_memory_empty_dir_is_a_sized_tmpfs(manager: VolumeManager, mounter: FakeMounter) -> None:
    pod = make_pod(volumes=[{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}])

    volume = (await manager.setup(pod))["cache"]

    assert mounter.tmpfs == {volume.path: 64 * MI}
    assert volume.medium == "Memory" and volume.size_limit == 64 * MI


async def test_unknown_medium(manager: VolumeManager, pods_dir: Path) -> None:
    pod = make_pod(volumes=[{"name": "x", "emptyDir": {"medium": "Floppy"}}])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)
    assert failure.value.message == 'MountVolume.SetUp failed for volume "x" : unknown storage medium "Floppy"'
    assert not pods_dir.joinpath("uid-1").exists()


async def test_fs_group_owns_a_new_empty_dir(manager: VolumeManager) -> None:
    group = os.getgid()
    pod = make_pod(volumes=[{"name": "d", "emptyDir": {}}], securityContext={"fsGroup": group})

    path = (await manager.setup(pod))["d"].path

    info = os.stat(path)
    assert info.st_gid == group and stat.S_IMODE(info.st_mode) == 0o2777


@pytest.mark.parametrize(("size_limit", "containers", "expected"), [
    (None, [with_memory(None)], 8 * GI),  # no bounds: node allocatable
    (None, [with_memory("1Gi"), with_memory("512Mi")], GI + 512 * MI),  # the pod's limit
    (None, [with_memory("1Gi"), with_memory(None)], 8 * GI),  # a container without a limit
    (256 * MI, [with_memory("1Gi")], 256 * MI),  # sizeLimit below the pod's limit
    (4 * GI, [with_memory("1Gi")], GI),  # sizeLimit above it
    (16 * GI, [with_memory(None)], 8 * GI),  # sizeLimit above allocatable
], ids=["allocatable", "pod-limit", "undeclared", "size-limit", "pod-smaller", "allocatable-smaller"])
def test_memory_volume_size(size_limit: int | None, containers: list[dict[str, Any]],
                            expected: int) -> None:
    pod = make_pod(containers=[{"name": f"c{i}", **c} for i, c in enumerate(containers)])
    assert memory_volume_size(pod, size_limit, {"memory": "8Gi"}) == expected


def test_pod_memory_limit_counts_init_and_sidecar_containers() -> None:
    pod = make_pod(containers=[{"name": "app", **with_memory("100Mi")}], initContainers=[
        {"name": "sidecar", "restartPolicy": "Always", **with_memory("50Mi")},
        {"name": "big-init", **with_memory("300Mi")}])
    # max(app + sidecar, sidecar + big-init)
    assert pod_memory_limit(pod) == 350 * MI
    pod["spec"]["overhead"] = {"memory": "10Mi"}
    assert pod_memory_limit(pod) == 360 * MI


# -- hostPath ----------------------------------------------------------------------------


def host_path(path: Path | str, path_type: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"path": str(path)}
    if path_type is not None:
        source["type"] = path_type
    return {"name": "host", "hostPath": source}


async def test_host_path_is_used_in_place(manager: VolumeManager, tmp_path: Path) -> None:
    volume = (await manager.setup(make_pod(volumes=[host_path(tmp_path / "nothing-here")])))["host"]

    assert volume.path == tmp_path / "nothing-here" and not volume.read_only
    assert not volume.path.exists()  # no type, no check


async def test_directory_or_create(manager: VolumeManager, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    await manager.setup(make_pod(volumes=[host_path(target, "DirectoryOrCreate")]))
    assert target.is_dir()


async def test_file_or_create(manager: VolumeManager, tmp_path: Path) -> None:
    target = tmp_path / "log"
    await manager.setup(make_pod(volumes=[host_path(target, "FileOrCreate")]))
    assert target.is_file() and target.read_bytes() == b""


@pytest.fixture
def host_files(tmp_path: Path) -> dict[str, Path]:
    files = {"dir": tmp_path / "dir", "file": tmp_path / "file", "socket": tmp_path / "sock",
             "chardev": Path("/dev/null")}
    files["dir"].mkdir()
    files["file"].write_text("x")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(files["socket"]))
    return files


@pytest.mark.parametrize(("path_type", "good", "bad", "noun"), [
    ("Directory", "dir", "file", "a directory"),
    ("DirectoryOrCreate", "dir", "file", "a directory"),
    ("File", "file", "dir", "a file"),
    ("FileOrCreate", "socket", "dir", "a file"),
    ("Socket", "socket", "file", "a socket file"),
    ("CharDevice", "chardev", "file", "a character device"),
    ("BlockDevice", None, "chardev", "a block device"),
])
async def test_host_path_types(manager: VolumeManager, host_files: dict[str, Path], path_type: str,
                               good: str | None, bad: str, noun: str) -> None:
    if good:
        await manager.setup(make_pod(volumes=[host_path(host_files[good], path_type)]))
    with pytest.raises(VolumeError) as failure:
        await manager.setup(make_pod(volumes=[host_path(host_files[bad], path_type)], uid="u2"))
    assert failure.value.reason == "FailedMount"
    assert failure.value.message == (f'MountVolume.SetUp failed for volume "host" : hostPath type '
                                     f"check failed: {host_files[bad]} is not {noun}")


async def test_missing_paths_fail_the_checks(manager: VolumeManager, tmp_path: Path) -> None:
    with pytest.raises(VolumeError, match="is not a file$"):
        await manager.setup(make_pod(volumes=[host_path(tmp_path / "gone", "File")]))


async def test_backsteps_and_unknown_types(manager: VolumeManager) -> None:
    with pytest.raises(VolumeError, match=r": invalid HostPath `/a/../etc`: must not contain '\.\.'$"):
        await manager.setup(make_pod(volumes=[host_path("/a/../etc")]))
    with pytest.raises(VolumeError, match=": Weird is an invalid volume type$"):
        await manager.setup(make_pod(volumes=[host_path("/tmp", "Weird")]))
