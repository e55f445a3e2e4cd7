"""Pods that cannot run as written report the Kubernetes reason, keep retrying, recover
once the cause is fixed, and leave nothing behind."""

from __future__ import annotations

from kubelet_e2e import (
    container,
    create_pod,
    delete_and_wait_gone,
    running,
    state_of,
    wait_event,
    wait_pod,
    waiting_reason,
)


async def assert_nothing_left(node) -> None:  # type: ignore[no-untyped-def]
    assert await node.runtime.list_containers() == []
    assert await node.runtime.list_pod_sandbox() == []


async def test_missing_config_map_then_created(node) -> None:  # type: ignore[no-untyped-def]
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "late", "key": "x"}}}]
    await create_pod(node, "cfg", container("app", "sleep", "3600", env=env))
    pod = await wait_pod(node, "cfg", lambda p: waiting_reason(p, "app") == "CreateContainerConfigError")
    assert state_of(pod, "app")["waiting"]["message"] == 'configmap "late" not found'
    await wait_event(node, "cfg", "Failed", 'Error: configmap "late" not found')
    await node.client["configmaps"].create({"metadata": {"name": "late", "namespace": node.namespace}, "data": {"y": "1"}})
    pod = await wait_pod(
        node, "cfg", lambda p: state_of(p, "app").get("waiting", {}).get("message", "").startswith("couldn't find key x")
    )
    assert state_of(pod, "app")["waiting"]["message"] == f"couldn't find key x in ConfigMap {node.namespace}/late"
    await node.client["configmaps"].patch("late", {"data": {"x": "1"}}, namespace=node.namespace)
    await wait_pod(node, "cfg", running)
    await delete_and_wait_gone(node, "cfg")
    await assert_nothing_left(node)


async def test_image_that_cannot_be_pulled(node) -> None:  # type: ignore[no-untyped-def]
    image = "127.0.0.1:1/missing/image:1"  # a loopback port nothing listens on
    await create_pod(node, "pull", {"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"})
    await wait_pod(node, "pull", lambda p: waiting_reason(p, "app") == "ErrImagePull")
    await wait_event(node, "pull", "Failed", f'Failed to pull image "{image}"')
    pod = await wait_pod(node, "pull", lambda p: waiting_reason(p, "app") == "ImagePullBackOff")
    assert state_of(pod, "app")["waiting"]["message"] == f'Back-off pulling image "{image}"'
    await wait_event(node, "pull", "Pulling", f'Pulling image "{image}"')
    await delete_and_wait_gone(node, "pull")
    await assert_nothing_left(node)


async def test_image_missing_with_pull_policy_never(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "never", {"name": "app", "image": "not/here:1", "imagePullPolicy": "Never"})
    pod = await wait_pod(node, "never", lambda p: waiting_reason(p, "app") == "ErrImageNeverPull")
    assert state_of(pod, "app")["waiting"]["message"] == 'Container image "not/here:1" is not present with pull policy of Never'
    await delete_and_wait_gone(node, "never")
    await assert_nothing_left(node)


async def test_unknown_runtime_class(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "rc", container("app", "sleep", "3600"), runtimeClassName="missing")
    event = await wait_event(node, "rc", "FailedCreatePodSandBox")
    assert 'runtimeclass.node.k8s.io "missing" not found' in event["message"]
    pod = await wait_pod(node, "rc", lambda p: waiting_reason(p, "app") == "ContainerCreating")
    assert pod["status"]["phase"] == "Pending"
    await delete_and_wait_gone(node, "rc")
    await assert_nothing_left(node)


async def test_missing_volume_source(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "vol", container("app", "sleep", "3600", volumeMounts=[{"name": "cfg", "mountPath": "/cfg"}]),
        volumes=[{"name": "cfg", "configMap": {"name": "absent"}}],
    )
    event = await wait_event(node, "vol", "FailedMount")
    assert 'configmap "absent" not found' in event["message"]
    await node.client["configmaps"].create({"metadata": {"name": "absent", "namespace": node.namespace}, "data": {"k": "v"}})
    await wait_pod(node, "vol", running)
    await delete_and_wait_gone(node, "vol")
    await assert_nothing_left(node)


async def test_run_as_non_root_with_a_root_image(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "nonroot", container("app", "sleep", "3600", securityContext={"runAsNonRoot": True}))
    pod = await wait_pod(node, "nonroot", lambda p: waiting_reason(p, "app") == "CreateContainerConfigError")
    assert state_of(pod, "app")["waiting"]["message"].startswith("container has runAsNonRoot and image will run as root")
    await delete_and_wait_gone(node, "nonroot")
    await assert_nothing_left(node)
