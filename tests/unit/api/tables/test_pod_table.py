"""The pod table's cells, on the cases of kubernetes/kubernetes printers_test.go (TestPrintPod,
TestPrintPodWithRestartableInitContainer, TestPrintPodwide, TestPrintNonTerminatedPod,
TestPrintPodConditions) and the status strings users see in ``kubectl get pods``."""

from __future__ import annotations

from typing import Any

import pytest
from tables_support import NOW, REGISTRY, ago

from pilothouse.api.tables import to_table

PODS = REGISTRY.get("", "v1", "pods")
SUCCEEDED = [
    {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    }
]
FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


def pod(
    *,
    containers: int = 1,
    init: list[dict[str, Any]] | None = None,
    phase: str = "",
    reason: str = "",
    statuses: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    deleted: bool = False,
    **wide: Any,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "test", "namespace": "default"}
    if deleted:
        metadata["deletionTimestamp"] = ago(seconds=10)
    status: dict[str, Any] = {"phase": phase}
    for key, value in (
        ("reason", reason),
        ("containerStatuses", statuses),
        ("initContainerStatuses", init_statuses),
        ("conditions", conditions),
    ):
        if value:
            status[key] = value
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    for key in ("nodeName", "readinessGates"):
        if key in wide:
            spec[key] = wide.pop(key)
    status.update(wide)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def container(
    state: str = "",
    *,
    ready: bool = False,
    restarts: int = 0,
    finished: str | None = None,
    name: str = "",
    started: bool | None = None,
    **details: Any,
) -> dict[str, Any]:
    """A container status in ``state`` (running, waiting, terminated or none)."""
    status: dict[str, Any] = {"name": name, "ready": ready, "restartCount": restarts}
    status["state"] = {state: details} if state else {}
    if finished is not None:
        status["lastState"] = {"terminated": {"finishedAt": finished, "exitCode": 1}}
    if started is not None:
        status["started"] = started
    return status


def inits(*names: str, sidecar: bool = False) -> list[dict[str, Any]]:
    return [{"name": n, **({"restartPolicy": "Always"} if sidecar else {})} for n in names]


def row(obj: dict[str, Any]) -> dict[str, Any]:
    return to_table(PODS, [obj], now=NOW)["rows"][0]


CASES = [
    pytest.param(
        pod(
            containers=2,
            phase="podPhase",
            statuses=[container("running", ready=True, restarts=3), container(restarts=3)],
        ),
        ["1/2", "podPhase", "6"],
        id="ready-count-and-restarts",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="podPhase",
            statuses=[
                container("running", ready=True, restarts=3),
                container("waiting", restarts=3, reason="ContainerWaitingReason"),
            ],
        ),
        ["1/2", "ContainerWaitingReason", "6"],
        id="waiting-reason-overrides-phase",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="podPhase",
            statuses=[
                container("waiting", restarts=3, reason="ContainerWaitingReason"),
                container("terminated", restarts=3, reason="ContainerTerminatedReason"),
            ],
        ),
        ["0/2", "ContainerWaitingReason", "6"],
        id="first-container-has-last-word",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="podPhase",
            statuses=[
                container("running", ready=True, restarts=3),
                container(ready=True, restarts=3),
            ],
        ),
        ["1/2", "podPhase", "6"],
        id="ready-without-running-is-not-counted",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="podPhase",
            reason="podReason",
            statuses=[
                container("running", ready=True, restarts=3),
                container(ready=True, restarts=3),
            ],
        ),
        ["1/2", "podReason", "6"],
        id="pod-reason-overrides-phase",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="Running",
            statuses=[
                container("terminated", ready=True, restarts=3, reason="Completed", exitCode=0),
                container("running", ready=True, restarts=3),
            ],
        ),
        ["1/2", "NotReady", "6"],
        id="completed-and-running-without-ready-condition",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="Running",
            statuses=[
                container("terminated", ready=True, restarts=3, reason="Completed", exitCode=0),
                container("running", ready=True, restarts=3),
            ],
            conditions=[{"type": "Ready", "status": "True"}],
        ),
        ["1/2", "Running", "6"],
        id="completed-and-running-with-ready-condition",
    ),
    pytest.param(
        pod(
            init=inits("i"),
            phase="podPhase",
            init_statuses=[container("running", restarts=3, finished=ago(seconds=10))],
            statuses=[container("waiting")],
        ),
        ["0/1", "Init:0/1", "3 (10s ago)"],
        id="init-container-restarting",
    ),
    pytest.param(
        pod(
            init=inits("i1", "i2"),
            phase="podPhase",
            init_statuses=[
                container("running", restarts=3, finished=ago(seconds=10)),
                container("waiting"),
            ],
            statuses=[container("waiting")],
        ),
        ["0/1", "Init:0/2", "3 (10s ago)"],
        id="first-of-two-init-containers",
    ),
    pytest.param(
        pod(
            init=inits("i1", "i2"),
            phase="podPhase",
            init_statuses=[
                container("terminated"),
                container("running", restarts=3, finished=ago(seconds=10)),
            ],
            statuses=[container("waiting")],
        ),
        ["0/1", "Init:1/2", "3 (10s ago)"],
        id="second-of-two-init-containers",
    ),
    pytest.param(
        pod(
            init=inits("i1", "i2"),
            phase="podPhase",
            init_statuses=[
                container("terminated", restarts=2, finished=ago(minutes=2)),
                container("running", restarts=3, finished=ago(seconds=10)),
            ],
            statuses=[container("waiting")],
        ),
        ["0/1", "Init:1/2", "5 (10s ago)"],
        id="init-restarts-add-up",
    ),
    pytest.param(
        pod(
            init=inits("i"),
            phase="Running",
            init_statuses=[container("terminated", restarts=2, finished=ago(minutes=2))],
            statuses=[container("running", restarts=4, finished=ago(seconds=20))],
        ),
        ["0/1", "Running", "4 (20s ago)"],
        id="init-restarts-forgotten-once-initialized",
    ),
    pytest.param(
        pod(
            phase="Running",
            statuses=[container("running", ready=True, restarts=3, finished=ago(days=5))],
        ),
        ["1/1", "Running", "3 (5d ago)"],
        id="restarted-days-ago",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="Running",
            statuses=[
                container("running", ready=True),
                container("running", ready=True, restarts=3, finished=ago(days=10)),
            ],
        ),
        ["2/2", "Running", "3 (10d ago)"],
        id="one-of-two-restarted",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="Running",
            statuses=[
                container("running", ready=True, restarts=6, finished=ago(days=5)),
                container("running", ready=True, restarts=3, finished=ago(days=20)),
            ],
        ),
        ["2/2", "Running", "9 (5d ago)"],
        id="latest-restart-wins",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="podPhase",
            conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
        ),
        ["0/2", "SchedulingGated", "0"],
        id="scheduling-gated",
    ),
    pytest.param(
        pod(phase="Succeeded", statuses=[container("terminated", reason="Completed", exitCode=0)]),
        ["0/1", "Completed", "0"],
        id="succeeded",
    ),
    pytest.param(
        pod(phase="Failed", statuses=[container("terminated", reason="Error", exitCode=1)]),
        ["0/1", "Error", "0"],
        id="failed",
    ),
    pytest.param(
        pod(
            phase="Succeeded",
            deleted=True,
            statuses=[container("terminated", reason="Completed", exitCode=0)],
        ),
        ["0/1", "Completed", "0"],
        id="deleted-after-success-stays-completed",
    ),
    pytest.param(
        pod(phase="Running", deleted=True, statuses=[container("running")]),
        ["0/1", "Terminating", "0"],
        id="terminating-running",
    ),
    pytest.param(pod(phase="Pending", deleted=True), ["0/1", "Terminating", "0"], id="terminating"),
    pytest.param(
        pod(phase="Running", reason="NodeLost", deleted=True, statuses=[container("running")]),
        ["0/1", "Unknown", "0"],
        id="deleted-on-lost-node",
    ),
    pytest.param(pod(phase="Pending"), ["0/1", "Pending", "0"], id="pending"),
    pytest.param(
        pod(phase="Pending", statuses=[container("waiting", reason="ContainerCreating")]),
        ["0/1", "ContainerCreating", "0"],
        id="container-creating",
    ),
    pytest.param(
        pod(
            phase="Running",
            statuses=[
                container("waiting", restarts=5, finished=ago(minutes=3), reason="CrashLoopBackOff")
            ],
        ),
        ["0/1", "CrashLoopBackOff", "5 (3m ago)"],
        id="crash-loop",
    ),
    pytest.param(
        pod(phase="Pending", statuses=[container("waiting", reason="ImagePullBackOff")]),
        ["0/1", "ImagePullBackOff", "0"],
        id="image-pull-backoff",
    ),
    pytest.param(
        pod(phase="Running", statuses=[container("terminated", exitCode=3)]),
        ["0/1", "ExitCode:3", "0"],
        id="exit-code-without-reason",
    ),
    pytest.param(
        pod(phase="Running", statuses=[container("terminated", exitCode=143, signal=15)]),
        ["0/1", "Signal:15", "0"],
        id="signal-without-reason",
    ),
    pytest.param(
        pod(
            init=inits("i"),
            phase="Pending",
            init_statuses=[container("waiting", restarts=4, reason="CrashLoopBackOff")],
            statuses=[container("waiting", reason="PodInitializing")],
        ),
        ["0/1", "Init:CrashLoopBackOff", "4"],
        id="init-crash-loop",
    ),
    pytest.param(
        pod(
            init=inits("i"),
            phase="Pending",
            init_statuses=[container("terminated", reason="Error", exitCode=1)],
        ),
        ["0/1", "Init:Error", "0"],
        id="init-error",
    ),
    pytest.param(
        pod(init=inits("i"), phase="Pending", init_statuses=[container("terminated", exitCode=2)]),
        ["0/1", "Init:ExitCode:2", "0"],
        id="init-exit-code",
    ),
    pytest.param(
        pod(
            init=inits("i"),
            phase="Pending",
            init_statuses=[container("terminated", exitCode=137, signal=9)],
        ),
        ["0/1", "Init:Signal:9", "0"],
        id="init-signal",
    ),
    pytest.param(
        pod(
            init=inits("i"),
            phase="Pending",
            init_statuses=[container("waiting", reason="PodInitializing")],
        ),
        ["0/1", "Init:0/1", "0"],
        id="init-pod-initializing-is-a-count",
    ),
    # Sidecars: init containers with restartPolicy Always.
    pytest.param(
        pod(
            init=inits("s1", "s2", sidecar=True),
            phase="Pending",
            init_statuses=[
                container(
                    "running", name="s1", restarts=3, finished=ago(seconds=10), started=False
                ),
                container("waiting", name="s2", started=False),
            ],
            statuses=[container("waiting")],
            conditions=[{"type": "Initialized", "status": "False"}],
        ),
        ["0/3", "Init:0/2", "3 (10s ago)"],
        id="sidecar-not-started",
    ),
    pytest.param(
        pod(
            init=inits("s1", "s2", sidecar=True),
            phase="Pending",
            init_statuses=[
                container("running", name="s1", restarts=3, finished=ago(seconds=10), started=True),
                container("running", name="s2", started=False),
            ],
            statuses=[container("waiting")],
            conditions=[{"type": "Initialized", "status": "False"}],
        ),
        ["0/3", "Init:1/2", "3 (10s ago)"],
        id="second-sidecar-not-started",
    ),
    pytest.param(
        pod(
            init=inits("s1", "s2", sidecar=True),
            phase="Running",
            init_statuses=[
                container("running", name="s1", restarts=3, finished=ago(seconds=10), started=True),
                container("running", name="s2", started=True),
            ],
            statuses=[container("running", ready=True, restarts=4, finished=ago(seconds=20))],
            conditions=[{"type": "Initialized", "status": "True"}],
        ),
        ["1/3", "Running", "7 (10s ago)"],
        id="sidecars-started-restarts-count",
    ),
    pytest.param(
        pod(
            init=inits("s1", "s2", sidecar=True),
            phase="Running",
            init_statuses=[
                container("running", name="s1", ready=True, started=True),
                container("running", name="s2", ready=True, started=True),
            ],
            statuses=[container("running", ready=True)],
            conditions=[{"type": "Initialized", "status": "True"}],
        ),
        ["3/3", "Running", "0"],
        id="sidecars-ready",
    ),
    pytest.param(
        pod(
            init=inits("s1", "s2", sidecar=True),
            phase="Succeeded",
            init_statuses=[
                container(
                    "terminated",
                    name="s1",
                    restarts=3,
                    finished=ago(seconds=10),
                    started=False,
                    reason="Error",
                    exitCode=137,
                ),
                container("terminated", name="s2", started=False, reason="Error", exitCode=137),
            ],
            statuses=[
                container(
                    "terminated",
                    restarts=4,
                    finished=ago(seconds=20),
                    reason="Completed",
                    exitCode=0,
                )
            ],
            conditions=[{"type": "Initialized", "status": "True"}],
        ),
        ["0/3", "Completed", "7 (10s ago)"],
        id="sidecars-killed-after-completion",
    ),
    pytest.param(
        pod(
            init=[{"name": "init1"}, {"name": "sidecar1", "restartPolicy": "Always"}],
            phase="Running",
            init_statuses=[
                container(name="initinvalid"),
                container(name="init1"),
                container(name="sidecar1"),
            ],
            statuses=[container(name="containerinvalid"), container(name="c0")],
        ),
        ["0/2", "Init:0/2", "0"],
        id="statuses-of-unknown-containers",
    ),
]


@pytest.mark.parametrize(("obj", "cells"), CASES)
def test_pod_ready_status_restarts(obj: dict[str, Any], cells: list[str]) -> None:
    assert row(obj)["cells"][1:4] == cells


@pytest.mark.parametrize(
    ("phase", "conditions"),
    [
        pytest.param("Running", None, id="running"),
        pytest.param("Pending", None, id="pending"),
        pytest.param("Unknown", None, id="unknown"),
        pytest.param("Succeeded", SUCCEEDED, id="succeeded"),
        pytest.param("Failed", FAILED, id="failed"),
    ],
)
def test_finished_pods_carry_a_completed_row_condition(
    phase: str, conditions: list[dict[str, str]] | None
) -> None:
    printed = row(
        pod(
            containers=2,
            phase=phase,
            statuses=[container("running", ready=True, restarts=3), container(restarts=3)],
        )
    )
    assert printed["cells"][1:4] == ["1/2", phase, "6"]
    assert printed.get("conditions") == conditions


@pytest.mark.parametrize(
    ("obj", "wide"),
    [
        pytest.param(
            pod(
                containers=2,
                phase="podPhase",
                nodeName="test1",
                nominatedNodeName="node1",
                podIPs=[{"ip": "1.1.1.1"}, {"ip": "2001:db8::"}],
                readinessGates=[{"conditionType": c} for c in ("c1", "c2", "c3")],
                conditions=[{"type": "c1", "status": "False"}, {"type": "c2", "status": "True"}],
            ),
            ["1.1.1.1", "test1", "node1", "1/3"],
            id="everything-set",
        ),
        pytest.param(pod(), ["<none>", "<none>", "<none>", "<none>"], id="nothing-set"),
        pytest.param(
            pod(podIP="10.244.0.5"), ["10.244.0.5", "<none>", "<none>", "<none>"], id="pod-ip-only"
        ),
    ],
)
def test_wide_columns(obj: dict[str, Any], wide: list[str]) -> None:
    assert row(obj)["cells"][5:] == wide


def test_age_and_name() -> None:
    obj = pod(phase="Running")
    obj["metadata"]["creationTimestamp"] = ago(minutes=3, seconds=20)
    assert row(obj)["cells"][0] == "test"
    assert row(obj)["cells"][4] == "3m20s"
    del obj["metadata"]["creationTimestamp"]
    assert row(obj)["cells"][4] == "<unknown>"


def test_columns() -> None:
    columns = to_table(PODS, [], now=NOW)["columnDefinitions"]
    assert [(c["name"], c["type"], c["format"], c["priority"]) for c in columns] == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "string", "", 0),
        ("Age", "string", "", 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ]
    assert columns[1]["description"] == (
        "The aggregate readiness state of this pod for accepting traffic."
    )
    assert columns[0]["description"].startswith("Name must be unique within a namespace.")
