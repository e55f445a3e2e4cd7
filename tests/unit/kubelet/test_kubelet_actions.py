"""compute_pod_actions, table-driven: each case is a pod, what the runtime holds, and the
actions expected (kill pod, create sandbox, init containers and containers to start,
containers to kill with their reasons)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from kubelet_builders import (
    CREATED,
    EXITED,
    UNKNOWN,
    container,
    pod,
    rc,
    runtime_status,
    sandbox,
    sidecar,
)

from pilothouse.kubelet.actions import (
    KillReason,
    ProbeResult,
    ProbeVerdicts,
    compute_pod_actions,
)


@dataclass
class Expected:
    kill_pod: bool = False
    create_sandbox: bool = False
    attempt: int = 0
    init: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    kill: dict[str, KillReason] = field(default_factory=dict)  # container name -> reason


def two_apps(**kw):  # type: ignore[no-untyped-def]
    return pod(container("a"), container("b"), **kw)


def liveness_failed(c):  # type: ignore[no-untyped-def]
    return ProbeVerdicts(liveness={c.id: ProbeResult.FAILURE})


def startup(c, result):  # type: ignore[no-untyped-def]
    return ProbeVerdicts(startup={c.id: result})


a_run, b_run = rc("a"), rc("b")
a_fail = rc("a", EXITED, exit_code=1)
a_ok = rc("a", EXITED, exit_code=0)
init1 = container("init1")
init2 = container("init2")
side = sidecar("side")
side_probed = sidecar("side", startupProbe={"exec": {"command": ["true"]}})
side_run = rc("side")
side_probed_run = rc("side", spec=side_probed)

CASES = [
    # -- sandboxes
    ("new pod", two_apps(), runtime_status(sandboxes=()), None,
     Expected(kill_pod=True, create_sandbox=True, start=[0, 1])),
    ("all running", two_apps(), runtime_status(a_run, b_run), None, Expected()),
    ("sandbox not ready", two_apps(), runtime_status(a_run, b_run, sandboxes=(sandbox(ready=False),)), None,
     Expected(kill_pod=True, create_sandbox=True, attempt=1, start=[0, 1])),
    ("sandbox lost its ip", two_apps(), runtime_status(a_run, b_run, sandboxes=(sandbox(ips=()),)), None,
     Expected(kill_pod=True, create_sandbox=True, attempt=1, start=[0, 1])),
    ("network mode changed", two_apps(hostNetwork=True), runtime_status(a_run, b_run), None,
     Expected(kill_pod=True, create_sandbox=True, attempt=1, start=[0, 1])),
    ("two ready sandboxes", two_apps(), runtime_status(a_run, b_run, sandboxes=(sandbox(attempt=1), sandbox())), None,
     Expected(kill_pod=True, create_sandbox=True, attempt=2, start=[0, 1])),
    ("never-restart pod whose sandbox died is only cleaned up", two_apps(restart_policy="Never"),
     runtime_status(a_fail, sandboxes=(sandbox(ready=False),)), None,
     Expected(kill_pod=True, create_sandbox=False, attempt=1)),
    ("OnFailure: a new sandbox skips containers that succeeded", two_apps(restart_policy="OnFailure"),
     runtime_status(a_ok, rc("b", EXITED, exit_code=2), sandboxes=(sandbox(ready=False),)), None,
     Expected(kill_pod=True, create_sandbox=True, attempt=1, start=[1])),
    ("OnFailure: all succeeded, no new sandbox", two_apps(restart_policy="OnFailure"),
     runtime_status(a_ok, rc("b", EXITED), sandboxes=(sandbox(ready=False),)), None,
     Expected(kill_pod=True, attempt=1)),
    ("new sandbox restarts from the first init container", pod(container("a"), init=[init1, init2]),
     runtime_status(rc("a"), sandboxes=(sandbox(ready=False),)), None,
     Expected(kill_pod=True, create_sandbox=True, attempt=1, init=[0])),
    # -- restart policy
    ("Always restarts an exited container", two_apps(), runtime_status(a_ok, b_run), None, Expected(start=[0])),
    ("OnFailure restarts a failed container", two_apps(restart_policy="OnFailure"),
     runtime_status(a_fail, b_run), None, Expected(start=[0])),
    ("OnFailure keeps a succeeded container", two_apps(restart_policy="OnFailure"),
     runtime_status(a_ok, b_run), None, Expected()),
    ("Never keeps a failed container", two_apps(restart_policy="Never"), runtime_status(a_fail, b_run), None,
     Expected()),
    ("Never: all done kills the pod", two_apps(restart_policy="Never"),
     runtime_status(a_fail, rc("b", EXITED)), None, Expected(kill_pod=True)),
    ("a missing container is started", two_apps(), runtime_status(a_run), None, Expected(start=[1])),
    ("a created container is started again", two_apps(), runtime_status(a_run, rc("b", CREATED)), None,
     Expected(start=[1])),
    ("an unknown container is killed and started", two_apps(), runtime_status(a_run, b_unknown := rc("b", UNKNOWN)),
     None, Expected(start=[1], kill={"b": KillReason.UNKNOWN})),
    # -- probes and definition changes
    ("liveness failure restarts", two_apps(), runtime_status(a_run, b_run), liveness_failed(a_run),
     Expected(start=[0], kill={"a": KillReason.LIVENESS_PROBE})),
    ("liveness failure under Never kills without restart", two_apps(restart_policy="Never"),
     runtime_status(a_run, b_run), liveness_failed(a_run), Expected(kill={"a": KillReason.LIVENESS_PROBE})),
    ("startup failure restarts", two_apps(), runtime_status(a_run, b_run), startup(a_run, ProbeResult.FAILURE),
     Expected(start=[0], kill={"a": KillReason.STARTUP_PROBE})),
    ("image change restarts even under Never", pod(container("a", image="busybox:2"), restart_policy="Never"),
     runtime_status(a_run), None, Expected(start=[0], kill={"a": KillReason.DEFINITION_CHANGED})),
    ("the only container killed for liveness under Never kills the pod", pod(container("a"), restart_policy="Never"),
     runtime_status(a_run), liveness_failed(a_run), Expected(kill_pod=True, kill={"a": KillReason.LIVENESS_PROBE})),
    # -- init containers
    ("first init container", pod(container("a"), init=[init1, init2]), runtime_status(), None, Expected(init=[0])),
    ("init container running: wait", pod(container("a"), init=[init1, init2]), runtime_status(rc("init1")), None,
     Expected()),
    ("init container done: next", pod(container("a"), init=[init1, init2]),
     runtime_status(rc("init1", EXITED)), None, Expected(init=[1])),
    ("all init containers done: apps", pod(container("a"), init=[init1, init2]),
     runtime_status(rc("init1", EXITED), rc("init2", EXITED)), None, Expected(start=[0])),
    ("init failed: restart it", pod(container("a"), init=[init1, init2]),
     runtime_status(rc("init1", EXITED), rc("init2", EXITED, exit_code=3)), None, Expected(init=[1])),
    ("init OOMKilled counts as failed", pod(container("a"), init=[init1]),
     runtime_status(rc("init1", EXITED, exit_code=0, reason="OOMKilled")), None, Expected(init=[0])),
    ("init failed under Never kills the pod", pod(container("a"), init=[init1], restart_policy="Never"),
     runtime_status(rc("init1", EXITED, exit_code=1)), None, Expected(kill_pod=True)),
    ("removed init containers of an initialized pod are not rerun", pod(container("a"), init=[init1]),
     runtime_status(a_run), None, Expected()),
    ("init container unknown is killed and rerun", pod(container("a"), init=[init1]),
     runtime_status(init_unknown := rc("init1", UNKNOWN)), None,
     Expected(init=[0], kill={"init1": KillReason.UNKNOWN})),
    # -- sidecars
    ("sidecar running starts the next init container", pod(container("a"), init=[side, init1]),
     runtime_status(side_run), None, Expected(init=[1])),
    ("sidecar last: apps start", pod(container("a"), init=[init1, side]),
     runtime_status(rc("init1", EXITED), side_run), None, Expected(start=[0])),
    ("sidecar waits for its startup probe", pod(container("a"), init=[side_probed, init1]),
     runtime_status(side_probed_run), None, Expected()),
    ("sidecar started per its startup probe", pod(container("a"), init=[side_probed, init1]),
     runtime_status(side_probed_run), startup(side_probed_run, ProbeResult.SUCCESS), Expected(init=[1])),
    ("sidecar failing its startup probe is restarted", pod(container("a"), init=[side_probed, init1]),
     runtime_status(side_probed_run), startup(side_probed_run, ProbeResult.FAILURE),
     Expected(init=[0], kill={"side": KillReason.STARTUP_PROBE})),
    ("exited sidecar of an initialized pod is restarted", pod(container("a"), init=[side]),
     runtime_status(rc("side", EXITED, exit_code=1), a_run), None, Expected(init=[0])),
    ("missing sidecar of an initialized pod is started", pod(container("a"), init=[side]),
     runtime_status(a_run), None, Expected(init=[0])),
    ("sidecar failing liveness is restarted", pod(container("a"), init=[side]),
     runtime_status(side_run, a_run), liveness_failed(side_run),
     Expected(init=[0], kill={"side": KillReason.LIVENESS_PROBE})),
    ("sidecars do not keep a finished pod alive", pod(container("a"), init=[side], restart_policy="Never"),
     runtime_status(side_run, a_ok), None, Expected(kill_pod=True)),
]


@pytest.mark.parametrize(("pod_", "status", "probes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_compute_pod_actions(pod_, status, probes, expected: Expected) -> None:  # type: ignore[no-untyped-def]
    actions = compute_pod_actions(pod_, status, probes or ProbeVerdicts())
    got = Expected(
        kill_pod=actions.kill_pod,
        create_sandbox=actions.create_sandbox,
        attempt=actions.attempt,
        init=actions.init_containers_to_start,
        start=actions.containers_to_start,
        kill={k.name: k.reason for k in actions.containers_to_kill.values()},
    )
    assert got == expected


def test_deleted_pod_does_not_restart_containers() -> None:
    deleted = two_apps()
    deleted["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    actions = compute_pod_actions(deleted, runtime_status(a_ok, b_run))
    assert actions.containers_to_start == []


def test_kill_messages_say_why() -> None:
    actions = compute_pod_actions(two_apps(), runtime_status(a_run, b_run), liveness_failed(a_run))
    assert actions.containers_to_kill[a_run.id].message == "Container a failed liveness probe, will be restarted"
    unknown = compute_pod_actions(two_apps(), runtime_status(a_run, b_unknown))
    assert unknown.containers_to_kill[b_unknown.id].message == (
        'Container is in "unknown" state, try killing it before restart'
    )
    init = compute_pod_actions(pod(container("a"), init=[init1]), runtime_status(init_unknown))
    assert init.containers_to_kill[init_unknown.id].message.startswith("Init container is in")


def test_the_sandbox_in_use_is_named() -> None:
    status = runtime_status(a_run, b_run)
    assert compute_pod_actions(two_apps(), status).sandbox_id == status.sandboxes[0].id
