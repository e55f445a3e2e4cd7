"""Volumes seen from a real container: contents, read-only mounts, tmpfs, subPath files,
and a ConfigMap update reaching the running container without a restart."""

from __future__ import annotations

from typing import Any

import pytest

from pilothouse.client import APIClient
from pilothouse.kubelet.volumes import VolumeManager
from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    ContainerState,
    ImageSpec,
    PodSandboxConfig,
    PodSandboxMetadata,
)
from pilothouse.runtime.oci.runtime import LocalRuntime

pytestmark = pytest.mark.asyncio(loop_scope="module")

Obj = dict[str, Any]


async def run(runtime: LocalRuntime, container_id: str, script: str) -> tuple[int, str]:
    response = await runtime.exec_sync(container_id, ["sh", "-c", script], timeout=30)
    return response.exit_code, response.stdout.decode() + response.stderr.decode()


async def start(runtime: LocalRuntime, pod: Obj, container: Obj, mounts: list) -> str:
    meta = pod["metadata"]
    sandbox = PodSandboxConfig(metadata=PodSandboxMetadata(name=meta["name"], uid=meta["uid"],
                                                           namespace=meta["namespace"]),
                               hostname=meta["name"])
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    config = ContainerConfig(metadata=ContainerMetadata(name=container["name"]),
                             image=ImageSpec(image="busybox"), command=["sleep", "3600"],
                             mounts=mounts)
    container_id = await runtime.create_container(sandbox_id, config, sandbox)
    await runtime.start_container(container_id)
    return container_id


async def test_container_sees_its_volumes_and_live_updates(
        manager: VolumeManager, runtime: LocalRuntime, client: APIClient, namespace: str) -> None:
    config_maps = client["configmaps"]
    await config_maps.create({"metadata": {"name": "cfg", "namespace": namespace},
                              "data": {"app.conf": "v1", "other": "o"}})
    await client["secrets"].create({"metadata": {"name": "creds", "namespace": namespace},
                                    "stringData": {"password": "hunter2"}})
    container = {"name": "app", "image": "busybox", "volumeMounts": [
        {"name": "cfg", "mountPath": "/etc/cfg"},
        {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
        {"name": "creds", "mountPath": "/creds"},
        {"name": "cache", "mountPath": "/cache"},
        {"name": "info", "mountPath": "/info"}]}
    pod = await client["pods"].create({"metadata": {"name": "web", "namespace": namespace,
                                                    "labels": {"app": "web"}},
                                       "spec": {"containers": [container], "volumes": [
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}})
    volumes = await manager.setup(pod)
    container_id = await start(runtime, pod, pod["spec"]["containers"][0],
                               manager.container_mounts(pod, pod["spec"]["containers"][0], volumes))

    assert await run(runtime, container_id, "cat /etc/cfg/app.conf /etc/app.conf /creds/password "
                                            "/info/labels") == (0, 'v1v1hunter2app="web"')
    code, _ = await run(runtime, container_id, "echo x > /etc/cfg/new")
    assert code != 0  # configMap volumes are read-only
    assert await run(runtime, container_id, "echo x > /cache/f && grep -c ' /cache tmpfs' "
                                            "/proc/mounts") == (0, "1\n")

    config_map = await config_maps.get("cfg", namespace=namespace)
    config_map["data"]["app.conf"] = "v2"
    await config_maps.update(config_map)
    await manager.refresh(pod, volumes)

    assert await run(runtime, container_id, "cat /etc/cfg/app.conf") == (0, "v2")
    assert await run(runtime, container_id, "cat /etc/app.conf") == (0, "v1")  # subPath: a snapshot
    status = await runtime.container_status(container_id)
    assert status.state == ContainerState.RUNNING
