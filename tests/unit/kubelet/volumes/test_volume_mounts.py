"""Container mounts: read-only and propagation rules, and subPaths that cannot escape."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from volume_fakes import FakeClient, FakeMounter, config_map, make_pod

from pilothouse.kubelet.expansion import expand
from pilothouse.kubelet.volumes import PodVolumes, VolumeError, VolumeManager
from pilothouse.runtime.interface import Mount, MountPropagation

Obj = dict[str, Any]


def container(*mounts: Obj, name: str = "app") -> Obj:
    return {"name": name, "image": "busybox", "volumeMounts": list(mounts)}


async def set_up(manager: VolumeManager, client: FakeClient, *mounts: Obj) -> tuple[Obj, PodVolumes]:
    client.add("configmaps", config_map("cfg", {"app.conf": "x=1"}))
    pod = make_pod(volumes=[{"name": "data", "emptyDir": {}},
                            {"name": "cfg", "configMap": {"name": "cfg"}}],
                   containers=[container(*mounts)])
    return pod, await manager.setup(pod)


def resolved(path: Path) -> str:
    return os.path.realpath(path)


def mounts_of(manager: VolumeManager, pod: Obj, volumes: PodVolumes,
              env: dict[str, str] | None = None) -> list[Mount]:
    return manager.container_mounts(pod, pod["spec"]["containers"][0], volumes, env=env)


async def test_plain_mounts(manager: VolumeManager, client: FakeClient) -> None:
    pod, volumes = await set_up(
        manager, client,
        {"name": "data", "mountPath": "/data"},
        {"name": "data", "mountPath": "relative/ro", "readOnly": True,
         "mountPropagation": "HostToContainer"},
        {"name": "cfg", "mountPath": "/etc/cfg"},
        {"name": "data", "mountPath": "/shared", "mountPropagation": "Bidirectional"},
        {"name": "data", "mountPath": "/none", "mountPropagation": "None"})

    assert mounts_of(manager, pod, volumes) == [
        Mount("/data", str(volumes.path("data")), False, MountPropagation.PRIVATE),
        Mount("/relative/ro", str(volumes.path("data")), True, MountPropagation.HOST_TO_CONTAINER),
        Mount("/etc/cfg", str(volumes.path("cfg")), True, MountPropagation.PRIVATE),  # always ro
        Mount("/shared", str(volumes.path("data")), False, MountPropagation.BIDIRECTIONAL),
        Mount("/none", str(volumes.path("data")), False, MountPropagation.PRIVATE),
    ]


async def test_unknown_volume_and_propagation(manager: VolumeManager, client: FakeClient) -> None:
    pod, volumes = await set_up(manager, client, {"name": "ghost", "mountPath": "/g"})
    with pytest.raises(VolumeError) as failure:
        mounts_of(manager, pod, volumes)
    assert failure.value.reason == "CreateContainerConfigError"
    assert failure.value.message == 'cannot find volume "ghost" to mount into container "app"'

    pod["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/d", "mountPropagation": "Sideways"}]
    with pytest.raises(VolumeError, match='^invalid MountPropagation mode: "Sideways"$'):
        mounts_of(manager, pod, volumes)


async def test_sub_path_is_created_and_bound(manager: VolumeManager, client: FakeClient,
                                             mounter: FakeMounter, pods_dir: Path) -> None:
    pod, volumes = await set_up(manager, client,
                                {"name": "data", "mountPath": "/logs", "subPath": "a/b"})
    data = volumes.path("data")

    [mount] = mounts_of(manager, pod, volumes)

    target = pods_dir / "uid-1/volume-subpaths/data/app/0"
    assert mount.host_path == str(target) and target.is_dir()
    assert (data / "a" / "b").is_dir()
    assert stat.S_IMODE(os.stat(data / "a" / "b").st_mode) == 0o777  # the volume root's mode
    assert mounter.binds == {target: resolved(data / "a" / "b")}


async def test_sub_path_of_a_config_map_key_is_the_file(
        manager: VolumeManager, client: FakeClient, mounter: FakeMounter) -> None:
    pod, volumes = await set_up(manager, client,
                                {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"})

    [mount] = mounts_of(manager, pod, volumes)

    target = Path(mount.host_path)
    assert stat.S_ISREG(os.stat(target).st_mode) and mount.readonly
    data_dir = os.readlink(volumes.path("cfg") / "..data")
    assert mounter.binds[target] == str(volumes.path("cfg") / data_dir / "app.conf")


async def test_existing_bind_is_reused(manager: VolumeManager, client: FakeClient,
                                       mounter: FakeMounter) -> None:
    pod, volumes = await set_up(manager, client, {"name": "data", "mountPath": "/x", "subPath": "x"})
    first = mounts_of(manager, pod, volumes)
    # What a real bind leaves: a mount point showing the same directory as the subPath.
    mounter.mounted.append(Path(first[0].host_path))
    os.rmdir(first[0].host_path)
    os.symlink(volumes.path("data") / "x", first[0].host_path)

    assert mounts_of(manager, pod, volumes) == first
    assert len(mounter.binds) == 1


@pytest.mark.parametrize(("sub_path", "message"), [
    ("/etc", "error SubPath `/etc` must not be an absolute path"),
    ("a/../../etc", "unable to provision SubPath `a/../../etc`: must not contain '..'"),
])
async def test_bad_sub_paths(manager: VolumeManager, client: FakeClient, sub_path: str,
                             message: str) -> None:
    pod, volumes = await set_up(manager, client,
                                {"name": "data", "mountPath": "/x", "subPath": sub_path})
    with pytest.raises(VolumeError) as failure:
        mounts_of(manager, pod, volumes)
    assert failure.value.message == message


@pytest.mark.parametrize("plant", ["link-to-root", "link-in-the-middle", "dangling-to-outside"])
async def test_symlinks_cannot_lead_out_of_the_volume(
        manager: VolumeManager, client: FakeClient, mounter: FakeMounter, tmp_path: Path,
        plant: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    pod, volumes = await set_up(manager, client)
    data = volumes.path("data")
    if plant == "link-to-root":
        os.symlink(outside, data / "evil")
        sub_path = "evil"
    elif plant == "link-in-the-middle":
        os.symlink(tmp_path, data / "evil")
        sub_path = "evil/outside"
    else:
        os.symlink(outside / "new", data / "evil")
        sub_path = "evil"
    pod["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/x", "subPath": sub_path}]

    with pytest.raises(VolumeError) as failure:
        mounts_of(manager, pod, volumes)

    assert failure.value.reason == "CreateContainerConfigError"
    assert failure.value.message in (
        'failed to prepare subPath for volumeMount "data" of container "app"',
        'failed to create subPath directory for volumeMount "data" of container "app"')
    assert mounter.binds == {} and os.listdir(outside) == []


async def test_links_that_stay_inside_are_followed(
        manager: VolumeManager, client: FakeClient, mounter: FakeMounter) -> None:
    pod, volumes = await set_up(manager, client)
    data = volumes.path("data")
    (data / "real").mkdir()
    os.symlink("real", data / "alias")
    pod["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/x", "subPath": "alias"}]

    [mount] = mounts_of(manager, pod, volumes)

    assert mounter.binds[Path(mount.host_path)] == resolved(data / "real")


async def test_sub_path_expr(manager: VolumeManager, client: FakeClient, mounter: FakeMounter) -> None:
    pod, volumes = await set_up(manager, client, {"name": "data", "mountPath": "/logs",
                                                  "subPathExpr": "$(POD_NAME)/logs"})

    [mount] = mounts_of(manager, pod, volumes, env={"POD_NAME": "web-0"})

    assert mounter.binds[Path(mount.host_path)] == resolved(volumes.path("data") / "web-0/logs")


async def test_sub_path_expr_needs_every_variable(manager: VolumeManager, client: FakeClient) -> None:
    pod, volumes = await set_up(manager, client, {"name": "data", "mountPath": "/x",
                                                  "subPathExpr": "$(B)/$(A)/$(EMPTY)/$(SET)"})
    with pytest.raises(VolumeError) as failure:
        mounts_of(manager, pod, volumes, env={"EMPTY": "", "SET": "s"})
    assert failure.value.message == "missing value for A, B, EMPTY"


@pytest.mark.parametrize(("text", "expected"), [
    ("$(A)", "1"),
    ("x$(A)y$(B)z", "x1y2z"),
    ("$$(A)", "$(A)"),
    ("$(A", "$(A"),
    ("$", "$"),
    ("$x", "$x"),
    ("a$$b", "a$b"),
    ("$(UNKNOWN)", ""),
    ("$()", ""),
])
def test_expansion(text: str, expected: str) -> None:
    values = {"A": "1", "B": "2"}
    assert expand(text, lambda name: values.get(name, "")) == expected
