"""Probe workers with a scripted action runner: thresholds, initial results, startup gating,
holding after a liveness failure, events; and the probers' own rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubelet_builders import container, pod, rc, runtime_status
from kubelet_fakes import RecordedEvents

from pilothouse.kubelet.actions import ProbeResult
from pilothouse.kubelet.probemanager import ProbeKind, ProbeManager
from pilothouse.kubelet.prober import (
    ActionError,
    ActionRunner,
    Outcome,
    ProbeOutput,
    http_url,
    resolve_port,
)
from pilothouse.runtime.fake import FakeRuntime
from pilothouse.runtime.interface import (
    ContainerConfig,
    ExecSyncResponse,
    ImageSpec,
    PodSandboxConfig,
)

Obj = dict[str, Any]


class ScriptedRunner:
    """Answers each probe run with the next outcome of its script (the last one repeats)."""

    def __init__(self, script: list[ProbeOutput]):
        self.script = script
        self.runs = 0

    async def run(self, action: Obj, **_: Any) -> ProbeOutput:
        self.runs += 1
        return self.script[min(self.runs - 1, len(self.script) - 1)]


SUCCESS = ProbeOutput(Outcome.SUCCESS)
FAILURE = ProbeOutput(Outcome.FAILURE, "boom")


async def until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


def probed_pod(kind: str, **probe: Any) -> Obj:
    return pod(container("app", **{kind: {"exec": {"command": ["check"]}, "periodSeconds": 1, **probe}}))


@pytest.fixture
def changes() -> list[str]:
    return []


def manager(runner: Any, events: RecordedEvents, changes: list[str]) -> ProbeManager:
    return ProbeManager(runner, events=events, on_change=changes.append)


async def test_readiness_starts_false_and_follows_the_thresholds(changes: list[str]) -> None:
    events = RecordedEvents()
    runner = ScriptedRunner([SUCCESS, FAILURE, FAILURE])
    probes = manager(runner, events, changes)
    p = probed_pod("readinessProbe", failureThreshold=2)
    app = rc("app", started_at=0)
    probes.update(p, runtime_status(app), "10.244.0.5")
    assert probes.readiness[app.id] == ProbeResult.FAILURE
    await until(lambda: probes.readiness.get(app.id) == ProbeResult.SUCCESS)
    assert changes == ["uid-1"]
    await until(lambda: runner.runs >= 2)
    assert probes.readiness[app.id] == ProbeResult.SUCCESS  # one failure is below the threshold
    await probes.stop()
    assert events.messages("Unhealthy") == ["Readiness probe failed: boom"]


async def test_liveness_failure_holds_until_the_container_changes(changes: list[str]) -> None:
    runner = ScriptedRunner([FAILURE])
    probes = manager(runner, RecordedEvents(), changes)
    p = probed_pod("livenessProbe", failureThreshold=1)
    app = rc("app", started_at=0)
    probes.update(p, runtime_status(app), "10.244.0.5")
    assert probes.verdicts().liveness[app.id] == ProbeResult.SUCCESS
    await until(lambda: probes.verdicts().liveness.get(app.id) == ProbeResult.FAILURE)
    runs = runner.runs
    await asyncio.sleep(0.05)
    assert runner.runs == runs  # held
    replacement = rc("app", started_at=0)
    probes.update(p, runtime_status(replacement), "10.244.0.5")
    assert probes.verdicts().liveness[replacement.id] == ProbeResult.SUCCESS
    await probes.stop()


async def test_startup_gates_the_other_probes(changes: list[str]) -> None:
    runner = ScriptedRunner([FAILURE])
    probes = manager(runner, RecordedEvents(), changes)
    p = pod(container("app", startupProbe={"exec": {"command": ["s"]}, "periodSeconds": 1, "failureThreshold": 100},
                      readinessProbe={"exec": {"command": ["r"]}, "periodSeconds": 1}))
    app = rc("app", started_at=0)
    probes.update(p, runtime_status(app), "")
    await until(lambda: runner.runs >= 1)
    await asyncio.sleep(0.05)
    assert runner.runs == 1  # only the startup probe ran
    assert app.id not in probes.startup
    await probes.stop()


async def test_initial_delay(changes: list[str]) -> None:
    runner = ScriptedRunner([SUCCESS])
    probes = manager(runner, RecordedEvents(), changes)
    p = probed_pod("readinessProbe", initialDelaySeconds=3600)
    probes.update(p, runtime_status(rc("app", started_at=0)), "")  # started long before the delay
    await until(lambda: runner.runs == 1)
    just_started = rc("app", started_at=time.time_ns())
    probes.update(p, runtime_status(just_started), "")
    await asyncio.sleep(0.05)
    assert runner.runs == 1
    await probes.stop()


async def test_adopted_container_keeps_the_readiness_the_api_showed(changes: list[str]) -> None:
    probes = manager(ScriptedRunner([SUCCESS]), RecordedEvents(), changes)
    p = probed_pod("readinessProbe", initialDelaySeconds=3600)
    app = rc("app", started_at=10**19)
    p["status"]["containerStatuses"] = [{"name": "app", "containerID": f"pilothouse://{app.id}", "ready": True}]
    probes.update(p, runtime_status(app), "")
    assert probes.readiness[app.id] == ProbeResult.SUCCESS
    await probes.stop()


async def test_probe_errors_are_failures_with_their_own_event(changes: list[str]) -> None:
    events = RecordedEvents()
    probes = manager(ScriptedRunner([ProbeOutput(Outcome.UNKNOWN, error="port nope not found")]), events, changes)
    probes.update(probed_pod("livenessProbe", failureThreshold=1), runtime_status(app := rc("app", started_at=0)), "")
    await until(lambda: probes.verdicts().liveness.get(app.id) == ProbeResult.FAILURE)
    assert events.messages("Unhealthy") == ["Liveness probe errored and resulted in unknown state: port nope not found"]
    await probes.stop()


async def test_workers_stop_with_their_containers(changes: list[str]) -> None:
    probes = manager(ScriptedRunner([SUCCESS]), RecordedEvents(), changes)
    p = probed_pod("readinessProbe")
    app = rc("app", started_at=0)
    probes.update(p, runtime_status(app), "")
    probes.remove_pod("uid-1")
    assert app.id not in probes.readiness
    await probes.stop()


# -- the probers ------------------------------------------------------------------------------


def test_ports_by_number_and_name() -> None:
    c = container("app", ports=[{"name": "http", "containerPort": 8080}])
    assert resolve_port(80, c) == 80
    assert resolve_port("http", c) == 8080
    assert resolve_port("9090", c) == 9090
    with pytest.raises(ActionError, match='strconv.Atoi: parsing "nope": invalid syntax'):
        resolve_port("nope", c)
    with pytest.raises(ActionError, match="invalid port number: 70000"):
        resolve_port(70000, c)


def test_http_urls() -> None:
    c = container("app")
    assert http_url({"port": 80, "path": "healthz"}, c, "10.0.0.1") == "http://10.0.0.1:80/healthz"
    assert http_url({"port": 443, "scheme": "HTTPS", "host": "example"}, c, "10.0.0.1") == "https://example:443/"


async def test_exec_probe_through_the_runtime() -> None:
    runtime = FakeRuntime()
    runtime.add_image("busybox")
    sandbox = PodSandboxConfig()
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    container_id = await runtime.create_container(sandbox_id, ContainerConfig(image=ImageSpec("busybox")), sandbox)
    await runtime.start_container(container_id)
    runtime.exec_handler = lambda cid, cmd: ExecSyncResponse(b"out ", b"err", 0 if cmd == ["ok"] else 2)
    runner = ActionRunner(runtime)
    c = container("app", env=[{"name": "WORD", "value": "ok"}])
    passed = await runner.run({"exec": {"command": ["$(WORD)"]}}, container=c, container_id=container_id, pod_ip="", timeout=1)
    failed = await runner.run({"exec": {"command": ["bad"]}}, container=c, container_id=container_id, pod_ip="", timeout=1)
    runtime.exec_handler = lambda cid, cmd: None
    timed_out = await runner.run({"exec": {"command": ["slow"]}}, container=c, container_id=container_id, pod_ip="", timeout=1)
    assert passed.outcome == Outcome.SUCCESS
    assert failed == ProbeOutput(Outcome.FAILURE, "out err")
    assert timed_out == ProbeOutput(Outcome.FAILURE, 'command "slow" timed out')
    await runner.close()


async def test_http_and_tcp_probes_against_a_local_server() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        path = request.split()[1]
        status = b"200 OK" if path == b"/ok" else b"302 Found\r\nLocation: /ok" if path == b"/moved" else b"500 Oops"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    runner = ActionRunner(FakeRuntime())
    c = container("app")
    try:
        ok = await runner.run({"httpGet": {"path": "/ok", "port": port}}, container=c, container_id="", pod_ip="127.0.0.1", timeout=2)
        moved = await runner.run({"httpGet": {"path": "/moved", "port": port}}, container=c, container_id="", pod_ip="127.0.0.1", timeout=2)
        bad = await runner.run({"httpGet": {"path": "/bad", "port": port}}, container=c, container_id="", pod_ip="127.0.0.1", timeout=2)
        tcp = await runner.run({"tcpSocket": {"port": port}}, container=c, container_id="", pod_ip="127.0.0.1", timeout=2)
    finally:
        server.close()
        await server.wait_closed()
    refused = await runner.run({"tcpSocket": {"port": port}}, container=c, container_id="", pod_ip="127.0.0.1", timeout=2)
    await runner.close()
    assert ok == ProbeOutput(Outcome.SUCCESS, "hi")
    assert moved.outcome == Outcome.SUCCESS  # a redirect on the same host is followed
    assert bad == ProbeOutput(Outcome.FAILURE, "HTTP probe failed with statuscode: 500")
    assert tcp.outcome == Outcome.SUCCESS
    assert refused == ProbeOutput(Outcome.FAILURE, f"dial tcp 127.0.0.1:{port}: connect: connection refused")


def test_probe_kinds_name_their_fields() -> None:
    assert [k.field for k in ProbeKind] == ["livenessProbe", "readinessProbe", "startupProbe"]
