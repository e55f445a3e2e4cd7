"""Pods on a real node: running, status, networking, deletion, nothing left behind."""

from __future__ import annotations

import asyncio

from kubelet_e2e import (
    condition,
    container,
    create_pod,
    delete_and_wait_gone,
    exec_in,
    running,
    wait_pod,
)

from pilothouse.runtime.interface import ContainerFilter


async def test_pod_runs_and_reports_status(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "web", container("app", "sleep", "3600"))
    pod = await wait_pod(node, "web", running)
    status = pod["status"]
    assert status["podIP"].startswith(str(node.network.pod_cidr.network_address)[:-1])
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["hostIP"] == str(node.network.gateway)
    assert status["qosClass"] == "BestEffort"
    assert status["startTime"]
    app = status["containerStatuses"][0]
    assert app["ready"] is True and app["started"] is True and app["restartCount"] == 0
    assert app["image"] == "docker.io/library/busybox:latest"
    assert app["containerID"].startswith("pilothouse://")
    assert app["imageID"]
    for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
        assert condition(pod, kind)["status"] == "True", kind
    assert (await exec_in(node, pod, "app", "hostname")).strip() == "web"
    await delete_and_wait_gone(node, "web")
    assert await node.runtime.list_containers(ContainerFilter()) == []
    assert await node.runtime.list_pod_sandbox() == []


async def test_pod_ip_reachable_from_the_node(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "httpd",
        container("web", "sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"),
    )
    pod = await wait_pod(node, "httpd", running)
    ip = pod["status"]["podIP"]

    async def fetch() -> bytes:
        reader, writer = await asyncio.open_connection(ip, 8080)
        writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = await reader.read()
        writer.close()
        return data

    for _ in range(50):
        try:
            answer = await fetch()
            break
        except OSError:
            await asyncio.sleep(0.1)
    assert answer.endswith(b"hello\n")
