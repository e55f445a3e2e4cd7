"""The pod status the kubelet reports: phase, conditions, container statuses, addresses."""

from __future__ import annotations

from typing import Any

import pytest
from kubelet_builders import CREATED, EXITED, container, pod, rc, runtime_status, sandbox, sidecar

from pilothouse.kubelet.actions import ProbeResult
from pilothouse.kubelet.containerstatus import StartFailure
from pilothouse.kubelet.status import (
    StatusInputs,
    generate_pod_status,
    get_phase,
    terminated_status,
)

NOW = "2024-05-01T10:00:00Z"
Obj = dict[str, Any]


def generate(pod_: Obj, status: Any, *, previous: Obj | None = None, terminal: bool = False, **inputs: Any) -> Obj:
    return generate_pod_status(
        StatusInputs(
            pod=pod_, runtime=status, previous=previous or {}, readiness=inputs.get("readiness", {}),
            startup=inputs.get("startup", {}), failures=inputs.get("failures", {}), host_ips=("192.0.2.10",),
            runtime_name="fake", now=NOW, terminal=terminal,
        )
    )


def conditions(status: Obj) -> dict[str, Obj]:
    return {c["type"]: c for c in status["conditions"]}


def running(name: str) -> Obj:
    return {"name": name, "state": {"running": {"startedAt": NOW}}, "started": True, "ready": True}


def terminated(name: str, code: int) -> Obj:
    return {"name": name, "state": {"terminated": {"exitCode": code}}}


def waiting(name: str, *, last_code: int | None = None) -> Obj:
    status: Obj = {"name": name, "state": {"waiting": {"reason": "X"}}}
    if last_code is not None:
        status["lastState"] = {"terminated": {"exitCode": last_code}}
    return status


PHASES = [
    ("all running", pod(container("a")), [running("a")], False, "Running"),
    ("never started", pod(container("a")), [waiting("a")], False, "Pending"),
    ("restarting under Always", pod(container("a")), [waiting("a", last_code=1)], False, "Running"),
    ("all exited under Always", pod(container("a")), [terminated("a", 1)], False, "Running"),
    ("all succeeded under Never", pod(container("a"), restart_policy="Never"), [terminated("a", 0)], False, "Succeeded"),
    ("one failed under Never", pod(container("a"), container("b"), restart_policy="Never"),
     [terminated("a", 0), terminated("b", 1)], False, "Failed"),
    ("failed under OnFailure restarts", pod(container("a"), restart_policy="OnFailure"), [terminated("a", 1)], False,
     "Running"),
    ("terminal pod under Always", pod(container("a")), [terminated("a", 137)], True, "Failed"),
    ("terminal pod all succeeded", pod(container("a")), [terminated("a", 0)], True, "Succeeded"),
    ("init running", pod(container("a"), init=[container("i")]), [running("i"), waiting("a")], False, "Pending"),
    ("init failed under Never", pod(container("a"), init=[container("i")], restart_policy="Never"),
     [terminated("i", 1), waiting("a")], False, "Failed"),
    ("init failed and retried under Always", pod(container("a"), init=[container("i")]),
     [waiting("i", last_code=1), waiting("a")], False, "Pending"),
    ("sidecar not started yet", pod(container("a"), init=[sidecar("s")]),
     [{**running("s"), "started": False}, waiting("a")], False, "Pending"),
    ("sidecar and app running", pod(container("a"), init=[sidecar("s")]), [running("s"), running("a")], False, "Running"),
    ("sidecar restarting after the app started", pod(container("a"), init=[sidecar("s")]),
     [waiting("s", last_code=1), running("a")], False, "Running"),
    ("app done, sidecar stopped, terminal", pod(container("a"), init=[sidecar("s")], restart_policy="Never"),
     [terminated("s", 137), terminated("a", 0)], True, "Succeeded"),
]


@pytest.mark.parametrize(("pod_", "statuses", "terminal", "phase"), [c[1:] for c in PHASES], ids=[c[0] for c in PHASES])
def test_phase(pod_: Obj, statuses: list[Obj], terminal: bool, phase: str) -> None:
    assert get_phase(pod_, statuses, terminal) == phase


def test_running_pod_status() -> None:
    p = pod(container("app", readinessProbe={"exec": {"command": ["true"]}}))
    app = rc("app")
    status = generate(p, runtime_status(app), readiness={app.id: ProbeResult.SUCCESS})
    assert status["phase"] == "Running"
    assert status["podIP"] == "10.244.0.5" and status["podIPs"] == [{"ip": "10.244.0.5"}]
    assert status["hostIP"] == "192.0.2.10" and status["hostIPs"] == [{"ip": "192.0.2.10"}]
    assert status["startTime"] == NOW
    assert status["qosClass"] == "BestEffort"
    cs = status["containerStatuses"][0]
    assert cs == {
        "name": "app",
        "state": {"running": {"startedAt": "2023-11-14T22:13:20Z"}},
        "lastState": {},
        "ready": True,
        "restartCount": 0,
        "image": "docker.io/library/busybox:latest",
        "imageID": app.image_ref,
        "containerID": f"fake://{app.id}",
        "started": True,
    }
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled",
    ]
    assert all(c["status"] == "True" and c["lastTransitionTime"] == NOW for c in status["conditions"])


def test_unready_container_conditions() -> None:
    p = pod(container("a", readinessProbe={"exec": {"command": ["true"]}}), container("b"))
    status = generate(p, runtime_status(rc("a")))
    found = conditions(status)
    assert found["ContainersReady"]["reason"] == "ContainersNotReady"
    assert found["ContainersReady"]["message"] == "containers with unready status: [a b]"
    assert found["Ready"]["message"] == found["ContainersReady"]["message"]


def test_readiness_gates() -> None:
    p = pod(container("a"), readinessGates=[{"conditionType": "example.com/ok"}])
    status = generate(p, runtime_status(rc("a")))
    assert conditions(status)["Ready"] == {
        "type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": NOW,
        "reason": "ReadinessGatesNotReady",
        "message": 'corresponding condition of pod readiness gate "example.com/ok" does not exist.',
    }
    p["status"]["conditions"] = [{"type": "example.com/ok", "status": "True"}]
    status = generate(p, runtime_status(rc("a")))
    assert conditions(status)["Ready"]["status"] == "True"
    assert conditions(status)["example.com/ok"]["status"] == "True"  # kept: not the kubelet's


def test_transition_times_are_kept_until_the_status_changes() -> None:
    p = pod(container("a"))
    earlier = {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"},
                              {"type": "Initialized", "status": "False", "lastTransitionTime": "2020-01-01T00:00:00Z"}]}
    found = conditions(generate(p, runtime_status(rc("a")), previous=earlier))
    assert found["Ready"]["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    assert found["Initialized"]["lastTransitionTime"] == NOW


def test_initialization_conditions() -> None:
    p = pod(container("app"), init=[container("one"), container("two")])
    status = generate(p, runtime_status(rc("one", EXITED)))
    found = conditions(status)
    assert found["Initialized"]["message"] == "containers with incomplete status: [two]"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert status["initContainerStatuses"][0]["ready"] is True


def test_start_failure_shows_as_waiting_with_the_last_termination() -> None:
    p = pod(container("app"))
    crashed = rc("app", EXITED, exit_code=3, restart_count=2)
    failures = {"app": StartFailure("CrashLoopBackOff", "back-off 20s restarting failed container=app pod=web_default(uid-1)")}
    cs = generate(p, runtime_status(crashed), failures=failures)["containerStatuses"][0]
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": failures["app"].message}}
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert cs["restartCount"] == 2 and cs["ready"] is False


def test_last_state_is_the_container_before() -> None:
    p = pod(container("app"))
    old = rc("app", EXITED, exit_code=1, created_at=1)
    new = rc("app", created_at=2, restart_count=1)
    cs = generate(p, runtime_status(old, new))["containerStatuses"][0]
    assert "running" in cs["state"]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"


def test_created_container_is_waiting() -> None:
    cs = generate(pod(container("app")), runtime_status(rc("app", CREATED)))["containerStatuses"][0]
    assert cs["state"] == {"waiting": {}}


def test_vanished_running_container_counts_as_terminated() -> None:
    previous = {"containerStatuses": [{"name": "app", "state": {"running": {"startedAt": NOW}}, "restartCount": 0}]}
    cs = generate(pod(container("app")), runtime_status(), previous=previous)["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert cs["restartCount"] == 1


def test_a_terminal_phase_is_never_left() -> None:
    p = pod(container("app"), restart_policy="Never")
    p["status"]["phase"] = "Succeeded"
    assert generate(p, runtime_status(rc("app")))["phase"] == "Succeeded"
    p["status"]["phase"] = "Running"
    assert generate(p, runtime_status(rc("app")), previous={"phase": "Failed"})["phase"] == "Failed"


def test_pod_ip_stays_after_the_sandbox_stopped() -> None:
    p = pod(container("app"), restart_policy="Never")
    p["status"]["podIPs"] = [{"ip": "10.244.0.9"}]
    status = generate(p, runtime_status(rc("app", EXITED), sandboxes=(sandbox(ready=False),)))
    assert status["podIP"] == "10.244.0.9"


def test_host_network_pod_has_the_node_ip() -> None:
    p = pod(container("app"), hostNetwork=True)
    status = generate(p, runtime_status(rc("app"), sandboxes=(sandbox(ips=(), host_network=True),)))
    assert status["podIP"] == "192.0.2.10"


def test_terminated_status_marks_what_never_ran() -> None:
    p = pod(container("app"), init=[container("one"), container("two")])
    status = {
        "phase": "Pending",
        "initContainerStatuses": [
            {"name": "one", "state": {"terminated": {"exitCode": 1}}},
            {"name": "two", "state": {"waiting": {"reason": "PodInitializing"}}},
        ],
        "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}],
    }
    final = terminated_status(p, status)
    assert final["phase"] == "Failed"
    assert final["containerStatuses"][0]["state"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert final["initContainerStatuses"][1]["state"] == {"waiting": {"reason": "PodInitializing"}}
