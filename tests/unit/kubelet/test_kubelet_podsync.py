"""The pod sync over the fake runtime and an in-memory API: what it asks of the runtime,
what status it reports, what events it records, through a pod's whole life."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubelet_builders import container, pod
from kubelet_fakes import FakeAPI, RecordedEvents

from pilothouse.kubelet import labels
from pilothouse.kubelet.actions import ProbeResult
from pilothouse.kubelet.backoff import Backoff
from pilothouse.kubelet.cluster import ClusterObjects
from pilothouse.kubelet.gc import ContainerGC
from pilothouse.kubelet.images import ImagePuller
from pilothouse.kubelet.killer import ContainerKiller
from pilothouse.kubelet.lifecycle import HookRunner
from pilothouse.kubelet.podstate import RuntimeStateReader
from pilothouse.kubelet.podsync import PodSyncer, SyncSettings
from pilothouse.kubelet.probemanager import ProbeManager
from pilothouse.kubelet.prober import ActionRunner
from pilothouse.kubelet.runtimeindex import RuntimeIndex
from pilothouse.kubelet.sandboxconfig import SandboxSettings
from pilothouse.kubelet.starter import ContainerStarter, StarterSettings
from pilothouse.kubelet.staticpods import MirrorPods
from pilothouse.kubelet.statusmanager import StatusManager
from pilothouse.kubelet.volumes import VolumeManager
from pilothouse.runtime.fake import FakeRuntime
from pilothouse.runtime.interface import (
    ContainerState,
    ExecSyncResponse,
    PodSandboxConfig,
    PodSandboxNetworkStatus,
    PodSandboxState,
)

Obj = dict[str, Any]


class NetworkedRuntime(FakeRuntime):
    """The fake runtime, with an IP for every sandbox as a pod network would give."""

    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str:
        sandbox_id = await super().run_pod_sandbox(config, runtime_handler)
        self.sandboxes[sandbox_id].network = PodSandboxNetworkStatus(ip=f"10.244.0.{len(self.sandboxes) + 1}")
        return sandbox_id


@dataclass
class Harness:
    api: FakeAPI
    runtime: NetworkedRuntime
    syncer: PodSyncer
    statuses: StatusManager
    probes: ProbeManager
    events: RecordedEvents

    def status(self, pod_: Obj) -> Obj:
        found = self.statuses.get(pod_["metadata"]["uid"])
        assert found is not None
        return found

    def container_status(self, pod_: Obj, name: str) -> Obj:
        return next(s for s in self.status(pod_)["containerStatuses"] if s["name"] == name)

    def running(self, name: str) -> list[Any]:
        return [c for c in self.runtime.containers.values() if c.config.metadata.name == name and c.state == ContainerState.RUNNING]


@pytest.fixture
async def harness(tmp_path: Path) -> Harness:
    api = FakeAPI()
    runtime = NetworkedRuntime()
    runtime.add_image("busybox")
    events = RecordedEvents()
    index = RuntimeIndex()
    statuses = StatusManager(api, target=lambda p: api.objects.get(("pods", p["metadata"]["namespace"], p["metadata"]["name"])))  # type: ignore[arg-type]
    actions = ActionRunner(runtime)
    probes = ProbeManager(actions, events=events, on_change=lambda uid: None)
    hooks = HookRunner(actions)
    killer = ContainerKiller(runtime, hooks=hooks, events=events)
    volumes = VolumeManager(tmp_path / "pods", client=api)  # type: ignore[arg-type]
    starter = ContainerStarter(
        runtime=runtime, images=runtime, puller=ImagePuller(runtime, events=events, backoff=Backoff(10, 40)),
        volumes=volumes, killer=killer, hooks=hooks, events=events, backoff=Backoff(10, 40), index=index,
        settings=StarterSettings(pods_dir=tmp_path / "pods", logs_dir=tmp_path / "logs", memory_capacity=2**32),
    )
    cluster = ClusterObjects(api, node_name="node-1", node_ip="192.0.2.10")  # type: ignore[arg-type]
    syncer = PodSyncer(
        client=api,  # type: ignore[arg-type]
        runtime=runtime, reader=RuntimeStateReader(runtime, index), starter=starter, killer=killer,
        gc=ContainerGC(runtime, index=index), volumes=volumes, statuses=statuses, probes=probes, events=events,
        cluster=cluster, mirrors=MirrorPods(api, node_name="node-1", node_uid=lambda: "n-uid"),  # type: ignore[arg-type]
        mirror_of=lambda p: None,
        sandbox_settings=SandboxSettings(logs_dir=tmp_path / "logs", cluster_domain="cluster.local", cluster_dns=["10.96.0.10"]),
        settings=SyncSettings(pods_dir=tmp_path / "pods", cluster_domain="cluster.local", runtime_name="fake",
                              error_retry_seconds=10.0),
    )
    yield Harness(api, runtime, syncer, statuses, probes, events)
    await probes.stop()


def api_pod(h: Harness, body: Obj) -> Obj:
    return h.api.add("pods", body)


async def test_first_sync_makes_the_sandbox_and_starts_the_containers(harness: Harness) -> None:
    web = api_pod(harness, pod(container("app", command=["sleep", "$(GREETING)"], env=[{"name": "GREETING", "value": "3600"}])))
    outcome = await harness.syncer.sync_pod(web)
    assert not outcome.terminal
    assert harness.runtime.call_names()[:1] == ["run_pod_sandbox"]
    sandbox = next(iter(harness.runtime.sandboxes.values()))
    assert sandbox.config.hostname == "web"
    assert sandbox.config.labels[labels.POD_UID] == "uid-1"
    assert sandbox.config.linux.cgroup_parent == "kubepods/besteffort/poduid-1"
    assert sandbox.config.dns_config is not None and sandbox.config.dns_config.servers == ["10.96.0.10"]
    assert sandbox.config.log_directory.endswith("logs/default_web_uid-1")
    created = next(iter(harness.runtime.containers.values()))
    assert created.config.command == ["sleep", "3600"]
    assert created.config.log_path == "app/0.log"
    assert created.config.labels == {
        labels.POD_NAME: "web", labels.POD_NAMESPACE: "default", labels.POD_UID: "uid-1", labels.CONTAINER_NAME: "app",
    }
    assert created.config.annotations[labels.RESTART_COUNT] == "0"
    assert [m.container_path for m in created.config.mounts] == ["/etc/hosts", "/dev/termination-log"]
    status = harness.status(web)
    assert status["phase"] == "Running"
    assert status["podIP"] == sandbox.network.ip
    assert status["hostIP"] == "192.0.2.10"
    app = harness.container_status(web, "app")
    assert app["ready"] and app["started"] and "running" in app["state"]
    assert app["containerID"] == f"fake://{created.id}"
    assert harness.events.reasons() == ["Pulled", "Created", "Started"]
    assert harness.events.messages("Pulled") == ['Container image "busybox" already present on machine']


async def test_a_second_sync_changes_nothing(harness: Harness) -> None:
    web = api_pod(harness, pod(container("app")))
    await harness.syncer.sync_pod(web)
    before = len(harness.runtime.calls)
    await harness.syncer.sync_pod(web)
    mutating = {"run_pod_sandbox", "create_container", "start_container", "stop_container", "remove_container"}
    assert not mutating & {name for name, _ in harness.runtime.calls[before:]}


async def test_crash_restarts_then_backs_off(harness: Harness) -> None:
    web = api_pod(harness, pod(container("app")))
    await harness.syncer.sync_pod(web)
    first = harness.running("app")[0]
    harness.runtime.exit_container(first.id, 1)
    await harness.syncer.sync_pod(web)
    second = harness.running("app")[0]
    assert second.config.metadata.attempt == 1
    assert second.config.log_path == "app/1.log"
    assert harness.container_status(web, "app")["restartCount"] == 1
    assert harness.container_status(web, "app")["lastState"]["terminated"]["exitCode"] == 1
    harness.runtime.exit_container(second.id, 2)
    outcome = await harness.syncer.sync_pod(web)
    assert harness.running("app") == []
    assert outcome.retry_after is not None and 0 < outcome.retry_after <= 10
    waiting = harness.container_status(web, "app")["state"]["waiting"]
    assert waiting == {
        "reason": "CrashLoopBackOff",
        "message": "back-off 10s restarting failed container=app pod=web_default(uid-1)",
    }
    assert harness.events.messages("BackOff") == ["Back-off restarting failed container app in pod web_default(uid-1)"]
    assert len(harness.runtime.containers) == 1  # only the newest dead one is kept
    assert harness.container_status(web, "app")["lastState"]["terminated"]["exitCode"] == 2


async def test_a_finished_pod_is_terminal_and_kept_until_deleted(harness: Harness) -> None:
    job = api_pod(harness, pod(container("work"), restart_policy="Never"))
    await harness.syncer.sync_pod(job)
    harness.runtime.exit_container(harness.running("work")[0].id, 0)
    assert (await harness.syncer.sync_pod(job)).terminal
    await harness.syncer.terminate_pod(job)
    assert harness.status(job)["phase"] == "Succeeded"
    assert all(s.state == PodSandboxState.NOTREADY for s in harness.runtime.sandboxes.values())
    await harness.syncer.finish_pod(job, remove=False)
    assert len(harness.runtime.containers) == 1
    job["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    await harness.syncer.finish_pod(job, remove=True)
    assert harness.runtime.containers == {} and harness.runtime.sandboxes == {}
    deletes = harness.api.calls_of("delete", "pods")
    assert deletes == [("delete", "pods", "default", "web", 0, {"uid": "uid-1"})]


async def test_deleted_pod_is_stopped_and_reported_failed(harness: Harness) -> None:
    web = api_pod(harness, pod(container("app")))
    await harness.syncer.sync_pod(web)
    web["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    web["metadata"]["deletionGracePeriodSeconds"] = 5
    await harness.syncer.terminate_pod(web)
    stops = [args for name, args in harness.runtime.calls if name == "stop_container"]
    assert stops[0]["timeout"] == 5
    assert harness.events.messages("Killing") == ["Stopping container app"]
    assert harness.status(web)["phase"] == "Failed"
    await harness.syncer.finish_pod(web, remove=True)
    patches = harness.api.calls_of("patch", "pods")
    assert patches[-1][5]["status"]["phase"] == "Failed"  # the final status is written before the delete
    assert harness.api.calls.index(patches[-1]) < harness.api.calls.index(harness.api.calls_of("delete", "pods")[0])


async def test_missing_config_map_is_a_config_error(harness: Harness) -> None:
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "x"}}}]
    web = api_pod(harness, pod(container("app", env=env)))
    outcome = await harness.syncer.sync_pod(web)
    assert outcome.retry_after == 10.0
    assert harness.container_status(web, "app")["state"]["waiting"] == {
        "reason": "CreateContainerConfigError", "message": 'configmap "settings" not found',
    }
    assert harness.events.messages("Failed") == ['Error: configmap "settings" not found']
    harness.api.add("configmaps", {"metadata": {"name": "settings", "namespace": "default"}, "data": {"x": "1"}})
    await harness.syncer.sync_pod(web)
    assert "running" in harness.container_status(web, "app")["state"]
    created = harness.running("app")[0]
    assert any(kv.key == "X" and kv.value == "1" for kv in created.config.envs)


async def test_image_never_pulled(harness: Harness) -> None:
    web = api_pod(harness, pod(container("app", image="absent:1", imagePullPolicy="Never")))
    await harness.syncer.sync_pod(web)
    waiting = harness.container_status(web, "app")["state"]["waiting"]
    assert waiting["reason"] == "ErrImageNeverPull"
    assert harness.events.messages("Failed") == ["Error: ErrImageNeverPull"]


async def test_liveness_failure_restarts(harness: Harness) -> None:
    probe = {"exec": {"command": ["check"]}, "periodSeconds": 1, "failureThreshold": 1}
    harness.runtime.exec_handler = lambda container_id, cmd: ExecSyncResponse(b"", b"unhealthy", 1)
    web = api_pod(harness, pod(container("app", livenessProbe=probe)))
    await harness.syncer.sync_pod(web)
    first = harness.running("app")[0]
    for _ in range(100):
        if harness.probes.verdicts().liveness.get(first.id) == ProbeResult.FAILURE:
            break
        await asyncio.sleep(0.01)
    assert harness.events.messages("Unhealthy") == ["Liveness probe failed: unhealthy"]
    await harness.syncer.sync_pod(web)
    assert harness.events.messages("Killing") == ["Container app failed liveness probe, will be restarted"]
    restarted = harness.running("app")
    assert len(restarted) == 1 and restarted[0].id != first.id


async def test_init_containers_then_app(harness: Harness) -> None:
    web = api_pod(harness, pod(container("app"), init=[container("setup")]))
    await harness.syncer.sync_pod(web)
    assert [c.config.metadata.name for c in harness.runtime.containers.values()] == ["setup"]
    assert harness.container_status(web, "app")["state"] == {"waiting": {"reason": "PodInitializing"}}
    harness.runtime.exit_container(harness.running("setup")[0].id, 0)
    await harness.syncer.sync_pod(web)
    assert len(harness.running("app")) == 1
    init = harness.status(web)["initContainerStatuses"][0]
    assert init["ready"] is True and init["state"]["terminated"]["reason"] == "Completed"


async def test_orphaned_containers_are_stopped_and_removed(harness: Harness) -> None:
    web = api_pod(harness, pod(container("app")))
    await harness.syncer.sync_pod(web)
    orphan = {"metadata": {"uid": "uid-1", "name": "web", "namespace": "default"}, "spec": {}, "status": {}}
    await harness.syncer.terminate_pod(orphan)
    await harness.syncer.finish_pod(orphan, remove=True)
    assert harness.runtime.containers == {} and harness.runtime.sandboxes == {}
    assert harness.api.calls_of("delete", "pods") == []  # not a deleted API pod: nothing to delete


async def test_pre_stop_hook_runs_before_the_stop_and_its_failure_is_reported(harness: Harness) -> None:
    hook = {"preStop": {"exec": {"command": ["drain"]}}}
    web = api_pod(harness, pod(container("app", lifecycle=hook)))
    await harness.syncer.sync_pod(web)
    harness.runtime.exec_handler = lambda container_id, cmd: ExecSyncResponse(b"", b"not now", 1)
    web["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    web["metadata"]["deletionGracePeriodSeconds"] = 10
    await harness.syncer.terminate_pod(web)
    names = [name for name, _ in harness.runtime.calls]
    assert names.index("exec_sync") < names.index("stop_container")
    exec_call = next(args for name, args in harness.runtime.calls if name == "exec_sync")
    assert exec_call["cmd"] == ["drain"]
    assert harness.events.messages("FailedPreStopHook") == ["PreStopHook failed"]
