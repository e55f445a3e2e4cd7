"""The kubelet driven with real kubectl, and volumes kept live by the pod sync."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml
from kubelet_e2e import container, exec_in, running, wait_pod, wait_until


async def kubectl(server, node, *args: str, input: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Real kubectl, run in a thread so that the kubelet sharing this event loop keeps going."""
    result = await asyncio.to_thread(server.kubectl, "-n", node.namespace, *args, input=input)
    return result.stdout


async def test_kubectl_apply_wait_describe_delete(server, node) -> None:  # type: ignore[no-untyped-def]
    manifest = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kc"},
        "spec": {
            "nodeName": node.name, "terminationGracePeriodSeconds": 2,
            "containers": [container("app", "sleep", "3600", readinessProbe={
                "exec": {"command": ["true"]}, "periodSeconds": 1})],
        },
    }
    await kubectl(server, node, "apply", "-f", "-", input=yaml.safe_dump(manifest))
    await kubectl(server, node, "wait", "--for=condition=Ready", "pod/kc", "--timeout=60s")
    table = await kubectl(server, node, "get", "pod", "kc", "-o", "wide")
    assert "1/1" in table and "Running" in table and node.name in table
    described = await kubectl(server, node, "describe", "pod", "kc")
    assert "Started container app" in described
    pod = json.loads(await kubectl(server, node, "get", "pod", "kc", "-o", "json"))
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    await kubectl(server, node, "delete", "pod", "kc", "--wait=true", "--timeout=60s")
    gone = await asyncio.to_thread(server.kubectl, "-n", node.namespace, "get", "pod", "kc", check=False)
    assert "NotFound" in gone.stderr


@pytest.mark.parametrize("node", [{"sync_frequency_seconds": 1.0}], indirect=True)
async def test_config_map_volume_follows_updates(node) -> None:  # type: ignore[no-untyped-def]
    await node.client["configmaps"].create(
        {"metadata": {"name": "live", "namespace": node.namespace}, "data": {"greeting": "hello"}}
    )
    await node.client["pods"].create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "live", "namespace": node.namespace},
        "spec": {
            "nodeName": node.name, "terminationGracePeriodSeconds": 2,
            "containers": [container("app", "sleep", "3600", volumeMounts=[{"name": "cfg", "mountPath": "/cfg"}])],
            "volumes": [{"name": "cfg", "configMap": {"name": "live"}}],
        },
    })
    pod = await wait_pod(node, "live", running)
    assert await exec_in(node, pod, "app", "cat", "/cfg/greeting") == "hello"
    await node.client["configmaps"].patch("live", {"data": {"greeting": "bonjour"}}, namespace=node.namespace)

    async def updated() -> bool:
        return await exec_in(node, pod, "app", "cat", "/cfg/greeting") == "bonjour"

    await wait_until(updated)
