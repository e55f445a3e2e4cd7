"""configMap, secret, downwardAPI and projected volumes: what files they hold, their modes,
optional sources, failures worded as the kubelet's FailedMount events, and live updates."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from volume_fakes import FakeClient, FakeMounter, config_map, make_pod, secret

from pilothouse.api import errors
from pilothouse.kubelet.volumes import VolumeError, VolumeManager

Obj = dict[str, Any]


def visible(directory: Path) -> dict[str, str]:
    """The files a container sees, by path relative to the volume."""
    out = {}
    for root, dirs, names in os.walk(directory, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith("..")]
        for name in names:
            if not name.startswith(".."):
                path = Path(root, name)
                out[str(path.relative_to(directory))] = path.read_bytes().decode("latin-1")
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- configMap ---------------------------------------------------------------------------


async def test_config_map_keys_become_files(manager: VolumeManager, client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"a.conf": "A", "b": "B"}, binary={"bin": b"\x00\xff"}))
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "cfg", "defaultMode": 0o640}}])

    volumes = await manager.setup(pod)

    volume = volumes["c"]
    assert volume.path == manager._layout.pods_dir / "uid-1/volumes/kubernetes.io~configmap/c"
    assert volume.read_only and volume.managed and volume.medium == ""
    assert visible(volume.path) == {"a.conf": "A", "b": "B", "bin": "\x00\xff"}
    assert {mode(volume.path / k) for k in ("a.conf", "b", "bin")} == {0o640}


async def test_config_map_items_pick_keys_paths_and_modes(manager: VolumeManager, client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"a": "A", "b": "B", "c": "C"}))
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "cfg", "defaultMode": 0o644, "items": [
        {"key": "a", "path": "conf/a.txt"}, {"key": "b", "path": "b", "mode": 0o400}]}}])

    path = (await manager.setup(pod))["c"].path

    assert visible(path) == {"conf/a.txt": "A", "b": "B"}
    assert mode(path / "conf/a.txt") == 0o644 and mode(path / "b") == 0o400


async def test_missing_config_map_fails_the_mount(manager: VolumeManager, pods_dir: Path) -> None:
    pod = make_pod(volumes=[{"name": "cfg-vol", "configMap": {"name": "missing"}}])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)

    assert failure.value.reason == "FailedMount"
    assert failure.value.message == ('MountVolume.SetUp failed for volume "cfg-vol" : '
                                     'configmap "missing" not found')
    assert not pods_dir.joinpath("uid-1").exists()


async def test_missing_key_fails_unless_optional(manager: VolumeManager, client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"a": "A"}))
    items = [{"key": "a", "path": "a"}, {"key": "nope", "path": "nope"}]
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "cfg", "items": items}}])

    with pytest.raises(VolumeError, match="configmap references non-existent config key: nope$"):
        await manager.setup(pod)

    pod["spec"]["volumes"][0]["configMap"]["optional"] = True
    assert visible((await manager.setup(pod))["c"].path) == {"a": "A"}


async def test_optional_missing_config_map_gives_an_empty_volume(manager: VolumeManager) -> None:
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "absent", "optional": True}}])

    path = (await manager.setup(pod))["c"].path

    assert visible(path) == {} and os.readlink(path / "..data").startswith("..2")


async def test_api_errors_other_than_not_found_fail_even_optional_volumes(
        manager: VolumeManager, client: FakeClient) -> None:
    client.failures["configmaps"] = errors.Forbidden('configmaps "cfg" is forbidden: no')
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "cfg", "optional": True}}])

    with pytest.raises(VolumeError, match='volume "c" : configmaps "cfg" is forbidden: no$'):
        await manager.setup(pod)


async def test_refresh_publishes_changed_keys(manager: VolumeManager, client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"a": "1", "b": "2"}))
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "cfg"}}])
    volumes = await manager.setup(pod)
    path = volumes["c"].path
    first = os.readlink(path / "..data")

    await manager.refresh(pod, volumes)
    assert os.readlink(path / "..data") == first  # nothing changed, nothing written

    client.add("configmaps", config_map("cfg", {"a": "1", "c": "3"}))
    await manager.refresh(pod, volumes)

    assert visible(path) == {"a": "1", "c": "3"}
    assert os.readlink(path / "..data") != first
    assert [p.name for p in path.iterdir() if p.name.startswith("..2")] == [os.readlink(path / "..data")]


async def test_refresh_failure_keeps_the_last_content(manager: VolumeManager, client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"a": "1"}))
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "cfg"}}])
    volumes = await manager.setup(pod)
    del client.objects[("configmaps", "default", "cfg")]

    with pytest.raises(VolumeError, match='configmap "cfg" not found'):
        await manager.refresh(pod, volumes)
    assert visible(volumes["c"].path) == {"a": "1"}


# -- secret ------------------------------------------------------------------------------


async def test_secret_is_decoded_onto_a_tmpfs(manager: VolumeManager, client: FakeClient,
                                              mounter: FakeMounter) -> None:
    client.add("secrets", secret("s", {"password": b"hunter2", "token": b"\x01\x02"}))
    pod = make_pod(volumes=[{"name": "s", "secret": {"secretName": "s", "defaultMode": 0o400}}])

    volume = (await manager.setup(pod))["s"]

    assert volume.path.name == "s" and volume.path.parent.name == "kubernetes.io~secret"
    assert mounter.tmpfs == {volume.path: 8 * 2**30}  # node allocatable memory
    assert (volume.path / "password").read_bytes() == b"hunter2"
    assert (volume.path / "token").read_bytes() == b"\x01\x02"
    assert mode(volume.path / "password") == 0o400
    assert volume.read_only and volume.medium == "Memory"


async def test_secret_items_and_missing_key(manager: VolumeManager, client: FakeClient) -> None:
    client.add("secrets", secret("s", {"a": b"A"}))
    pod = make_pod(volumes=[{"name": "s", "secret": {"secretName": "s", "items": [
        {"key": "a", "path": "x/a"}, {"key": "b", "path": "b"}]}}])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)
    assert failure.value.message == ('MountVolume.SetUp failed for volume "s" : '
                                     "references non-existent secret key: b")


async def test_missing_secret(manager: VolumeManager, mounter: FakeMounter) -> None:
    pod = make_pod(volumes=[{"name": "s", "secret": {"secretName": "gone"}}])

    with pytest.raises(VolumeError, match='volume "s" : secret "gone" not found$'):
        await manager.setup(pod)
    assert mounter.mounted == []


async def test_tmpfs_is_mounted_once(manager: VolumeManager, client: FakeClient,
                                     mounter: FakeMounter) -> None:
    client.add("secrets", secret("s", {"a": b"1"}))
    pod = make_pod(volumes=[{"name": "s", "secret": {"secretName": "s"}}])
    volumes = await manager.setup(pod)
    client.add("secrets", secret("s", {"a": b"2"}))

    await manager.setup(pod)
    await manager.refresh(pod, volumes)

    assert len(mounter.mounted) == 1
    assert (volumes["s"].path / "a").read_bytes() == b"2"


async def test_fs_group_owns_the_files_with_group_read(manager: VolumeManager, client: FakeClient) -> None:
    group = os.getgid()
    client.add("secrets", secret("s", {"a": b"1"}))
    pod = make_pod(volumes=[{"name": "s", "secret": {"secretName": "s", "defaultMode": 0o400}}],
                   securityContext={"fsGroup": group})

    path = (await manager.setup(pod))["s"].path

    assert mode(path / "a") == 0o440 and os.stat(path / "a").st_gid == group
    assert os.stat(path).st_mode & stat.S_ISGID


# -- downwardAPI -------------------------------------------------------------------------


async def test_downward_api_files(manager: VolumeManager) -> None:
    items = [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
        {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu",
                                             "divisor": "1m"}, "mode": 0o600},
        {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "requests.memory",
                                             "divisor": "1Mi"}},
    ]
    containers = [{"name": "app", "image": "busybox",
                   "resources": {"requests": {"memory": "100M"}}}]
    pod = make_pod(volumes=[{"name": "info", "downwardAPI": {"items": items, "defaultMode": 0o644}}],
                   containers=containers)

    volume = (await manager.setup(pod))["info"]

    assert visible(volume.path) == {
        "name": "web", "ns": "default", "uid": "uid-1",
        "labels": 'app="web"\ntier="front"', "annotations": 'note="say \\"hi\\"\\n"',
        "app": "web", "cpu": "4000", "mem": "96",
    }
    assert mode(volume.path / "cpu") == 0o600 and mode(volume.path / "name") == 0o644
    assert volume.medium == "Memory"


async def test_downward_api_follows_label_changes(manager: VolumeManager) -> None:
    items = [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
    pod = make_pod(volumes=[{"name": "info", "downwardAPI": {"items": items}}])
    volumes = await manager.setup(pod)

    pod["metadata"]["labels"]["version"] = "2"
    await manager.refresh(pod, volumes)

    assert (volumes["info"].path / "labels").read_text() == 'app="web"\ntier="front"\nversion="2"'


async def test_downward_api_reports_every_bad_item(manager: VolumeManager) -> None:
    items = [{"path": "a", "fieldRef": {"fieldPath": "spec.nodeName"}},
             {"path": "b", "resourceFieldRef": {"containerName": "nope", "resource": "limits.cpu"}}]
    pod = make_pod(volumes=[{"name": "info", "downwardAPI": {"items": items}}])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)
    assert failure.value.message == ('MountVolume.SetUp failed for volume "info" : '
                                     "[unsupported fieldPath: spec.nodeName, container nope not found]")


# -- projected ---------------------------------------------------------------------------


def projected(*sources: Obj, default_mode: int = 0o644) -> Obj:
    return {"name": "all", "projected": {"sources": list(sources), "defaultMode": default_mode}}


async def test_projected_merges_sources(manager: VolumeManager, client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"c": "C", "unused": "U"}))
    client.add("secrets", secret("s", {"s": b"S"}))
    pod = make_pod(volumes=[projected(
        {"configMap": {"name": "cfg", "items": [{"key": "c", "path": "conf/c"}]}},
        {"secret": {"name": "s", "items": [{"key": "s", "path": "s", "mode": 0o400}]}},
        {"downwardAPI": {"items": [{"path": "pod", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        default_mode=0o444)])

    volume = (await manager.setup(pod))["all"]

    assert visible(volume.path) == {"conf/c": "C", "s": "S", "pod": "web"}
    assert mode(volume.path / "conf/c") == 0o444 and mode(volume.path / "s") == 0o400
    assert volume.path.parent.name == "kubernetes.io~projected" and volume.medium == "Memory"


async def test_projected_reports_every_failing_source(manager: VolumeManager) -> None:
    pod = make_pod(volumes=[projected({"configMap": {"name": "a"}}, {"secret": {"name": "b"}},
                                      {"configMap": {"name": "c", "optional": True}})])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)
    assert failure.value.message == ('MountVolume.SetUp failed for volume "all" : '
                                     '[configmap "a" not found, secret "b" not found]')


async def test_projected_service_account_token(manager: VolumeManager, client: FakeClient) -> None:
    pod = make_pod(volumes=[projected({"serviceAccountToken": {
        "path": "token", "audience": "vault", "expirationSeconds": 600}})],
        serviceAccountName="builder")

    volume = (await manager.setup(pod))["all"]

    assert (volume.path / "token").read_text() == "token-1-default-builder"
    assert mode(volume.path / "token") == 0o644
    [request] = client.token_requests
    assert request["spec"] == {"audiences": ["vault"], "expirationSeconds": 600,
                               "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                                  "name": "web", "uid": "uid-1"}}


async def test_token_is_private_to_the_pod_user(manager: VolumeManager) -> None:
    user = os.getuid()
    pod = make_pod(volumes=[projected({"serviceAccountToken": {"path": "token"}})],
                   securityContext={"runAsUser": user})

    path = (await manager.setup(pod))["all"].path

    assert mode(path / "token") == 0o600 and os.stat(path / "token").st_uid == user


async def test_token_request_failure(manager: VolumeManager, client: FakeClient) -> None:
    client.token_failure = errors.NotFound("the server could not find the requested resource")
    pod = make_pod(volumes=[projected({"serviceAccountToken": {"path": "token"}})])

    with pytest.raises(VolumeError) as failure:
        await manager.setup(pod)
    assert failure.value.message == ('MountVolume.SetUp failed for volume "all" : failed to fetch '
                                     "token: the server could not find the requested resource")


async def test_nested_mount_points_are_made_inside_read_only_volumes(
        manager: VolumeManager, client: FakeClient) -> None:
    client.add("configmaps", config_map("cfg", {"a": "A"}))
    containers = [{"name": "app", "image": "busybox", "volumeMounts": [
        {"name": "c", "mountPath": "/etc/app"},
        {"name": "data", "mountPath": "/etc/app/data"},
        {"name": "deeper", "mountPath": "/etc/app/data/deeper"}]}]
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "cfg"}},
                            {"name": "data", "emptyDir": {}}, {"name": "deeper", "emptyDir": {}}],
                   containers=containers)

    path = (await manager.setup(pod))["c"].path

    assert (path / "data").is_dir() and not (path / "data" / "deeper").exists()
    assert visible(path) == {"a": "A"}
