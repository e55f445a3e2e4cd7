"""What the kubelet writes to the API: pod statuses (only when changed, to mirror pods for
static pods), events (repeats counted), mirror pods; and how static pods are read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kubelet_builders import container, pod
from kubelet_fakes import FakeAPI

from pilothouse.kubelet import podutil
from pilothouse.kubelet.events import EventRecorder
from pilothouse.kubelet.staticpods import MirrorPods, read_manifests, static_pod
from pilothouse.kubelet.statusmanager import StatusManager

Obj = dict[str, Any]
STATUS = {"phase": "Running", "podIP": "10.244.0.5", "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None}]}


def status_manager(api: FakeAPI) -> StatusManager:
    def target(p: Obj) -> Obj | None:
        if podutil.is_static(p):
            return next((o for (plural, _, _), o in api.objects.items() if plural == "pods" and podutil.is_mirror(o)), None)
        return api.objects.get(("pods", p["metadata"]["namespace"], p["metadata"]["name"]))

    return StatusManager(api, target=target)  # type: ignore[arg-type]


async def test_status_is_written_once_and_only_when_it_changed() -> None:
    api = FakeAPI()
    web = api.add("pods", pod(container("app")))
    web["status"]["message"] = "stale"
    statuses = status_manager(api)
    statuses.set(web, STATUS)
    await statuses.flush("uid-1")
    patches = api.calls_of("patch", "pods")
    assert len(patches) == 1
    body = patches[0][5]
    assert patches[0][4] == "status"
    assert body["metadata"] == {"uid": "uid-1"}
    assert body["status"]["message"] is None  # no longer reported: removed
    assert body["status"]["phase"] == "Running"
    statuses.set(web, dict(STATUS))
    await statuses.flush("uid-1")
    assert len(api.calls_of("patch", "pods")) == 1
    assert statuses.get("uid-1") == STATUS


async def test_nothing_is_written_when_the_api_shows_it_already() -> None:
    api = FakeAPI()
    web = api.add("pods", pod(container("app")))
    web["status"] = {"phase": "Running", "podIP": "10.244.0.5", "conditions": [{"type": "Ready", "status": "True"}]}
    statuses = status_manager(api)
    statuses.set(web, STATUS)
    await statuses.flush("uid-1")
    assert api.calls_of("patch") == []


async def test_static_pod_status_waits_for_its_mirror_pod() -> None:
    api = FakeAPI()
    static = pod(container("app"))
    static["metadata"]["annotations"] = {podutil.CONFIG_SOURCE_ANNOTATION: "file", podutil.CONFIG_HASH_ANNOTATION: "uid-1"}
    statuses = status_manager(api)
    statuses.set(static, STATUS)
    await statuses.flush("uid-1")
    assert api.calls_of("patch") == []
    mirror = pod(container("app"), uid="mirror-uid")
    mirror["metadata"]["annotations"] = {podutil.MIRROR_ANNOTATION: "uid-1"}
    api.add("pods", mirror)
    statuses.mark_dirty("uid-1")
    await statuses.flush("uid-1")
    assert api.calls_of("patch")[0][5]["metadata"] == {"uid": "mirror-uid"}


async def test_events_are_created_then_counted() -> None:
    api = FakeAPI()
    recorder = EventRecorder(api, node_name="node-1")  # type: ignore[arg-type]
    web = pod(container("app"))
    for _ in range(3):
        recorder.record(web, "Warning", "BackOff", "Back-off restarting failed container app", container="app")
    recorder.record(web, "Normal", "Killing", "Stopping container app", container="app")
    for _ in range(4):
        await recorder._write(recorder._queue.get_nowait())
    created = [o for (plural, _, _), o in api.objects.items() if plural == "events"]
    assert len(created) == 2
    backoff = next(e for e in created if e["reason"] == "BackOff")
    assert backoff["count"] == 3
    assert backoff["involvedObject"] == {
        "kind": "Pod", "namespace": "default", "name": "web", "uid": "uid-1", "apiVersion": "v1",
        "resourceVersion": "1", "fieldPath": "spec.containers{app}",
    }
    assert backoff["source"] == {"component": "kubelet", "host": "node-1"}
    assert backoff["reportingComponent"] == "kubelet" and backoff["reportingInstance"] == "node-1"
    assert backoff["metadata"]["name"].startswith("web.")


def manifest(**spec: Any) -> bytes:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etcd"},
                           "spec": {"containers": [{"name": "etcd", "image": "busybox"}], **spec}}).encode()


def test_static_pods_from_manifests(tmp_path: Path) -> None:
    (tmp_path / "etcd.yaml").write_bytes(manifest())
    (tmp_path / "broken.yaml").write_text("kind: Pod\nmetadata: {}\n")
    (tmp_path / ".hidden.yaml").write_bytes(manifest())
    (tmp_path / "notes.txt").write_text("ignored")
    pods = read_manifests(tmp_path, "node-1")
    assert len(pods) == 1
    etcd = next(iter(pods.values()))
    meta = etcd["metadata"]
    assert meta["name"] == "etcd-node-1" and meta["namespace"] == "default"
    assert meta["annotations"][podutil.CONFIG_HASH_ANNOTATION] == meta["uid"]
    assert meta["annotations"][podutil.CONFIG_SOURCE_ANNOTATION] == "file"
    assert etcd["spec"]["nodeName"] == "node-1"
    assert {"operator": "Exists", "effect": "NoExecute"} in etcd["spec"]["tolerations"]
    assert etcd["spec"]["restartPolicy"] == "Always"  # defaulted like the API defaults pods
    assert podutil.is_static(etcd)
    same = static_pod(manifest(), str(tmp_path / "etcd.yaml"), "node-1")
    changed = static_pod(manifest(hostNetwork=True), str(tmp_path / "etcd.yaml"), "node-1")
    assert same["metadata"]["uid"] == meta["uid"] != changed["metadata"]["uid"]


async def test_mirror_pods() -> None:
    api = FakeAPI()
    mirrors = MirrorPods(api, node_name="node-1", node_uid=lambda: "node-uid")  # type: ignore[arg-type]
    static = static_pod(manifest(), "/etc/manifests/etcd.yaml", "node-1")
    await mirrors.ensure(static, None)
    created = api.objects[("pods", "default", "etcd-node-1")]
    assert created["metadata"]["annotations"][podutil.MIRROR_ANNOTATION] == static["metadata"]["uid"]
    assert created["metadata"]["uid"] != static["metadata"]["uid"]
    assert created["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "node-uid", "controller": True},
    ]
    await mirrors.ensure(static, created)
    assert len(api.calls_of("create")) == 1  # up to date: left alone
    stale = {**created, "metadata": {**created["metadata"], "annotations": {podutil.MIRROR_ANNOTATION: "old"}}}
    await mirrors.ensure(static, stale)
    assert api.calls_of("delete")[0][4:] == (0, {"uid": created["metadata"]["uid"]})
    assert len(api.calls_of("create")) == 2
