"""Probes on a real node: exec, httpGet and tcpSocket; liveness, readiness and startup."""

from __future__ import annotations

from kubelet_e2e import (
    condition,
    container,
    container_status,
    create_pod,
    exec_in,
    running,
    wait_event,
    wait_pod,
)

HTTPD = "mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"


def ready(pod) -> bool:  # type: ignore[no-untyped-def]
    return condition(pod, "Ready").get("status") == "True"


def not_ready(pod) -> bool:  # type: ignore[no-untyped-def]
    return running(pod) and condition(pod, "Ready").get("status") == "False"


async def test_exec_readiness_drives_ready(node) -> None:  # type: ignore[no-untyped-def]
    probe = {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
    await create_pod(node, "ready", container("app", "sleep", "3600", readinessProbe=probe))
    pod = await wait_pod(node, "ready", not_ready)
    assert container_status(pod, "app")["ready"] is False
    assert condition(pod, "ContainersReady") == {
        "type": "ContainersReady", "status": "False",
        "lastTransitionTime": condition(pod, "ContainersReady")["lastTransitionTime"],
        "reason": "ContainersNotReady", "message": "containers with unready status: [app]",
    }
    await exec_in(node, pod, "app", "touch", "/tmp/ready")
    pod = await wait_pod(node, "ready", ready)
    assert container_status(pod, "app")["ready"] is True
    await exec_in(node, pod, "app", "rm", "/tmp/ready")
    await wait_pod(node, "ready", not_ready)
    await wait_event(node, "ready", "Unhealthy", "Readiness probe failed")


async def test_http_liveness_failure_restarts_the_container(node) -> None:  # type: ignore[no-untyped-def]
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1, "failureThreshold": 2}
    await create_pod(
        node, "live",
        container("web", "sh", "-c", HTTPD, ports=[{"name": "http", "containerPort": 8080}], livenessProbe=probe),
    )
    pod = await wait_pod(node, "live", running)
    await exec_in(node, pod, "web", "rm", "/www/healthz")
    await wait_event(node, "live", "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404")
    await wait_event(node, "live", "Killing", "Container web failed liveness probe, will be restarted")
    pod = await wait_pod(node, "live", lambda p: running(p) and container_status(p, "web")["restartCount"] >= 1)
    assert container_status(pod, "web")["lastState"]["terminated"]


async def test_tcp_readiness(node) -> None:  # type: ignore[no-untyped-def]
    probe = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    await create_pod(node, "tcp", container("web", "sh", "-c", HTTPD, readinessProbe=probe))
    await wait_pod(node, "tcp", ready)


async def test_startup_probe_gates_readiness_and_liveness(node) -> None:  # type: ignore[no-untyped-def]
    startup = {"exec": {"command": ["test", "-f", "/tmp/started"]}, "periodSeconds": 1, "failureThreshold": 60}
    liveness = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    await create_pod(node, "startup", container("app", "sleep", "3600", startupProbe=startup, livenessProbe=liveness))
    pod = await wait_pod(node, "startup", running)
    assert container_status(pod, "app")["started"] is False
    assert container_status(pod, "app")["ready"] is False
    assert container_status(pod, "app")["restartCount"] == 0  # liveness not run before startup
    await exec_in(node, pod, "app", "touch", "/tmp/started")
    # once started, the failing liveness probe restarts it
    await wait_event(node, "startup", "Killing", "failed liveness probe")


async def test_probe_on_a_port_name_that_does_not_exist(node) -> None:  # type: ignore[no-untyped-def]
    probe = {"httpGet": {"path": "/", "port": "nope"}, "periodSeconds": 1}
    await create_pod(node, "badprobe", container("app", "sleep", "3600", readinessProbe=probe))
    await wait_event(node, "badprobe", "Unhealthy", "Readiness probe errored and resulted in unknown state")
    pod = await wait_pod(node, "badprobe", not_ready)
    assert container_status(pod, "app")["restartCount"] == 0
