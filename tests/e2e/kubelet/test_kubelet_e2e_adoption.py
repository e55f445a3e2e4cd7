"""A kubelet that stops and a new one on the same data directory: running pods are adopted
without restarts, containers of pods that went away meanwhile are removed. Static pods."""

from __future__ import annotations

import yaml
from kubelet_e2e import (
    container,
    container_status,
    create_pod,
    get_pod,
    running,
    wait_pod,
    wait_until,
)

from pilothouse.kubelet import labels
from pilothouse.runtime.interface import ContainerFilter


async def test_restarted_kubelet_adopts_running_pods(node) -> None:  # type: ignore[no-untyped-def]
    readiness = {"exec": {"command": ["true"]}, "periodSeconds": 1}
    await create_pod(node, "keep", container("app", "sleep", "3600", readinessProbe=readiness))
    await create_pod(node, "gone", container("app", "sleep", "3600"))
    keep = await wait_pod(node, "keep", lambda p: running(p) and container_status(p, "app")["ready"])
    gone = await wait_pod(node, "gone", running)
    before = container_status(keep, "app")["containerID"]

    await node.stop_kubelet()
    # While no kubelet runs: one pod is force-deleted, its containers keep running.
    await node.client["pods"].delete("gone", namespace=node.namespace, grace_period_seconds=0)
    assert await get_pod(node, "gone") is None
    await node.start_kubelet()

    gone_uid = gone["metadata"]["uid"]

    async def orphan_removed() -> bool:
        left = await node.runtime.list_containers(ContainerFilter(label_selector={labels.POD_UID: gone_uid}))
        return not left

    await wait_until(orphan_removed)
    keep = await wait_pod(node, "keep", running)
    status = container_status(keep, "app")
    assert status["containerID"] == before
    assert status["restartCount"] == 0
    assert status["ready"] is True
    assert len(await node.runtime.list_pod_sandbox()) == 1


async def test_static_pod_and_its_mirror(node) -> None:  # type: ignore[no-untyped-def]
    manifests = node.config.manifests_dir
    manifests.mkdir(parents=True, exist_ok=True)
    manifest = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "static-web", "namespace": node.namespace},
        "spec": {"containers": [container("app", "sleep", "3600")], "terminationGracePeriodSeconds": 2},
    }
    (manifests / "web.yaml").write_text(yaml.safe_dump(manifest))
    name = f"static-web-{node.name}"
    mirror = await wait_pod(node, name, running)
    annotations = mirror["metadata"]["annotations"]
    assert annotations["kubernetes.io/config.mirror"] == annotations["kubernetes.io/config.hash"]
    assert annotations["kubernetes.io/config.source"] == "file"
    assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Node"

    # A deleted mirror pod comes back; the static pod keeps running.
    first_uid = mirror["metadata"]["uid"]
    await node.client["pods"].delete(name, namespace=node.namespace, grace_period_seconds=0)
    mirror = await wait_pod(node, name, lambda p: p["metadata"]["uid"] != first_uid and running(p))
    assert container_status(mirror, "app")["restartCount"] == 0

    # A changed manifest is a new pod: the old one stops, the new one runs.
    manifest["metadata"]["labels"] = {"version": "2"}
    (manifests / "web.yaml").write_text(yaml.safe_dump(manifest))
    old_hash = annotations["kubernetes.io/config.hash"]
    mirror = await wait_pod(
        node, name,
        lambda p: p["metadata"]["annotations"]["kubernetes.io/config.mirror"] != old_hash and running(p),
    )

    # Removing the manifest removes the pod and its mirror.
    (manifests / "web.yaml").unlink()

    async def all_gone() -> bool:
        return await get_pod(node, name) is None and not await node.runtime.list_containers()

    await wait_until(all_gone)
