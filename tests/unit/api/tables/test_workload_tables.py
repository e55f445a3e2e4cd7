"""Cells of deployments, replica sets, replication controllers, stateful sets, daemon sets,
jobs, cron jobs, controller revisions, pod templates, autoscalers and disruption budgets."""

from __future__ import annotations

from typing import Any

import pytest
from tables_support import ago, cells, obj

# --- workloads -----------------------------------------------------------------------------

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]
    },
}


def test_deployment() -> None:
    item = obj(
        "web",
        spec={"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
        status={"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    )
    assert cells("apps", "v1", "deployments", item) == [
        "web",
        "2/3",
        3,
        2,
        "5h",
        "web,log",
        "nginx:1.27,busybox",
        "app=web",
    ]


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        pytest.param(None, "", id="nil-selects-nothing"),
        pytest.param({}, "", id="empty-selects-everything"),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Bad"}]}, "<invalid>", id="invalid"
        ),
    ],
)
def test_deployment_selector(selector: dict | None, text: str) -> None:
    item = obj("web", spec={"selector": selector})
    assert cells("apps", "v1", "deployments", item)[-1] == text


def test_replica_set_and_replication_controller() -> None:
    rs = obj(
        "web-1",
        spec={"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
        status={"replicas": 3, "readyReplicas": 1},
    )
    assert cells("apps", "v1", "replicasets", rs) == [
        "web-1",
        3,
        3,
        1,
        "5h",
        "web,log",
        "nginx:1.27,busybox",
        "app=web",
    ]
    rc = obj("rc", spec={"replicas": 2, "selector": {"b": "2", "a": "1"}})
    assert cells("", "v1", "replicationcontrollers", rc) == ["rc", 2, 0, 0, "5h", "", "", "a=1,b=2"]


def test_stateful_set_and_daemon_set() -> None:
    sts = obj("db", spec={"replicas": 3, "template": TEMPLATE}, status={"readyReplicas": 3})
    assert cells("apps", "v1", "statefulsets", sts) == [
        "db",
        "3/3",
        "5h",
        "web,log",
        "nginx:1.27,busybox",
    ]
    template = {
        **TEMPLATE,
        "spec": {**TEMPLATE["spec"], "nodeSelector": {"kubernetes.io/os": "linux"}},
    }
    ds = obj(
        "agent",
        spec={"selector": {"matchLabels": {"app": "agent"}}, "template": template},
        status={
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "numberReady": 2,
            "updatedNumberScheduled": 3,
            "numberAvailable": 2,
        },
    )
    assert cells("apps", "v1", "daemonsets", ds) == [
        "agent",
        3,
        3,
        2,
        3,
        2,
        "kubernetes.io/os=linux",
        "5h",
        "web,log",
        "nginx:1.27,busybox",
        "app=agent",
    ]


@pytest.mark.parametrize(
    ("spec", "status", "metadata", "expected"),
    [
        pytest.param(
            {"completions": 3},
            {"succeeded": 1, "startTime": ago(minutes=5)},
            {},
            ["Running", "1/3", "5m"],
            id="running-with-completions",
        ),
        pytest.param(
            {"parallelism": 2},
            {"succeeded": 0},
            {},
            ["Running", "0/1 of 2", ""],
            id="parallel-work-queue-not-started",
        ),
        pytest.param(
            {},
            {
                "succeeded": 1,
                "startTime": ago(minutes=10),
                "completionTime": ago(minutes=8),
                "conditions": [{"type": "Complete", "status": "True"}],
            },
            {},
            ["Complete", "1/1", "2m"],
            id="complete",
        ),
        pytest.param(
            {"completions": 1},
            {"conditions": [{"type": "Failed", "status": "True"}]},
            {},
            ["Failed", "0/1", ""],
            id="failed",
        ),
        pytest.param(
            {},
            {"conditions": [{"type": "Suspended", "status": "True"}]},
            {"deletionTimestamp": ago(seconds=1)},
            ["Terminating", "0/1", ""],
            id="terminating-wins-over-suspended",
        ),
        pytest.param(
            {},
            {"conditions": [{"type": "Suspended", "status": "True"}]},
            {},
            ["Suspended", "0/1", ""],
            id="suspended",
        ),
        pytest.param(
            {},
            {"conditions": [{"type": "FailureTarget", "status": "True"}]},
            {},
            ["FailureTarget", "0/1", ""],
            id="failure-target",
        ),
        pytest.param(
            {},
            {"conditions": [{"type": "Complete", "status": "False"}]},
            {},
            ["Running", "0/1", ""],
            id="false-condition-ignored",
        ),
    ],
)
def test_job(spec: dict, status: dict, metadata: dict, expected: list[str]) -> None:
    selector = {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}
    item = obj(
        "job",
        metadata=metadata,
        spec={**spec, "selector": selector, "template": TEMPLATE},
        status=status,
    )
    assert cells("batch", "v1", "jobs", item) == [
        "job",
        *expected,
        "5h",
        "web,log",
        "nginx:1.27,busybox",
        "batch.kubernetes.io/controller-uid=u1",
    ]


def test_cron_job() -> None:
    item = obj(
        "nightly",
        spec={
            "schedule": "0 3 * * *",
            "timeZone": "Etc/UTC",
            "suspend": False,
            "jobTemplate": {"spec": {"template": TEMPLATE}},
        },
        status={"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(hours=9)},
    )
    assert cells("batch", "v1", "cronjobs", item) == [
        "nightly",
        "0 3 * * *",
        "Etc/UTC",
        "False",
        1,
        "9h",
        "5h",
        "web,log",
        "nginx:1.27,busybox",
        "<none>",
    ]
    bare = obj("c", spec={"schedule": "* * * * *"})
    assert cells("batch", "v1", "cronjobs", bare)[:6] == [
        "c",
        "* * * * *",
        "<none>",
        "<unset>",
        0,
        "<none>",
    ]


def test_controller_revision() -> None:
    owned = obj(
        "web-5d",
        revision=4,
        metadata={
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "name": "web",
                    "controller": False,
                },
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True},
            ]
        },
    )
    assert cells("apps", "v1", "controllerrevisions", owned) == [
        "web-5d",
        "statefulset.apps/db",
        4,
        "5h",
    ]
    core_owner = obj(
        "r",
        revision=1,
        metadata={
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": "p", "controller": True}
            ]
        },
    )
    assert cells("apps", "v1", "controllerrevisions", core_owner)[1] == "pod/p"
    assert cells("apps", "v1", "controllerrevisions", obj("r"))[1:3] == ["<none>", 0]


def test_pod_template() -> None:
    item = obj("tpl", template=TEMPLATE)
    assert cells("", "v1", "podtemplates", item) == [
        "tpl",
        "web,log",
        "nginx:1.27,busybox",
        "app=web",
    ]
    assert cells("", "v1", "podtemplates", obj("empty", template={"spec": {"containers": []}})) == [
        "empty",
        "",
        "",
        "<none>",
    ]


# --- horizontal pod autoscalers ------------------------------------------------------------


def resource_metric(name: str, **target: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def resource_status(name: str, **current: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "current": current}}


@pytest.mark.parametrize(
    ("metrics", "current", "targets"),
    [
        pytest.param([], [], "<none>", id="none"),
        pytest.param(
            [resource_metric("cpu", type="Utilization", averageUtilization=80)],
            [],
            "cpu: <unknown>/80%",
            id="cpu-unknown",
        ),
        pytest.param(
            [resource_metric("cpu", type="Utilization", averageUtilization=80)],
            [resource_status("cpu", averageUtilization=50, averageValue="120m")],
            "cpu: 50%/80%",
            id="cpu-utilization",
        ),
        pytest.param(
            [resource_metric("cpu", type="Utilization")],
            [],
            "cpu: <unknown>/<auto>",
            id="cpu-auto",
        ),
        pytest.param(
            [resource_metric("memory", type="AverageValue", averageValue="1024Mi")],
            [resource_status("memory", averageValue="512Mi")],
            "memory: 512Mi/1Gi",
            id="memory-average-value-canonical",
        ),
        pytest.param(
            [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "qps"},
                        "target": {"type": "AverageValue", "averageValue": "1k"},
                    },
                }
            ],
            [
                {
                    "type": "Pods",
                    "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "1500m"}},
                }
            ],
            "1500m/1k",
            id="pods",
        ),
        pytest.param(
            [{"type": "Object", "object": {"target": {"type": "Value", "value": "10"}}}],
            [{"type": "Object", "object": {"current": {"value": "12"}}}],
            "12/10",
            id="object-value",
        ),
        pytest.param(
            [
                {
                    "type": "External",
                    "external": {"target": {"type": "AverageValue", "averageValue": "100m"}},
                }
            ],
            [],
            "<unknown>/100m (avg)",
            id="external-average-unknown",
        ),
        pytest.param(
            [
                {
                    "type": "External",
                    "external": {"target": {"type": "AverageValue", "averageValue": "100m"}},
                }
            ],
            [{"type": "External", "external": {"current": {"averageValue": "50m"}}}],
            "50m/100m (avg)",
            id="external-average",
        ),
        pytest.param(
            [
                {
                    "type": "ContainerResource",
                    "containerResource": {
                        "name": "cpu",
                        "container": "app",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                }
            ],
            [
                {
                    "type": "ContainerResource",
                    "containerResource": {
                        "name": "cpu",
                        "container": "app",
                        "current": {"averageUtilization": 30},
                    },
                }
            ],
            "cpu: 30%/60%",
            id="container-resource",
        ),
        pytest.param([{"type": "Custom"}], [], "<unknown type>", id="unknown-type"),
        pytest.param(
            [
                resource_metric("cpu", type="Utilization", averageUtilization=80),
                resource_metric("memory", type="Utilization", averageUtilization=70),
                {"type": "Pods", "pods": {"target": {"averageValue": "1"}}},
            ],
            [],
            "cpu: <unknown>/80%, memory: <unknown>/70% + 1 more...",
            id="more-than-two",
        ),
    ],
)
def test_hpa_targets(metrics: list, current: list, targets: str) -> None:
    item = obj(
        "web",
        spec={
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": metrics,
        },
        status={"currentReplicas": 3, "currentMetrics": current},
    )
    assert cells("autoscaling", "v2", "horizontalpodautoscalers", item) == [
        "web",
        "Deployment/web",
        targets,
        "1",
        10,
        3,
        "5h",
    ]


def test_hpa_v1_object() -> None:
    item = obj(
        "web",
        apiVersion="autoscaling/v1",
        spec={
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 5,
            "targetCPUUtilizationPercentage": 80,
        },
        status={"currentReplicas": 2, "currentCPUUtilizationPercentage": 35},
    )
    assert cells("autoscaling", "v1", "horizontalpodautoscalers", item) == [
        "web",
        "Deployment/web",
        "cpu: 35%/80%",
        "<unset>",
        5,
        2,
        "5h",
    ]


def test_pod_disruption_budget() -> None:
    item = obj("pdb", spec={"minAvailable": 2}, status={"disruptionsAllowed": 1})
    assert cells("policy", "v1", "poddisruptionbudgets", item) == ["pdb", "2", "N/A", 1, "5h"]
    item = obj("pdb", spec={"maxUnavailable": "25%"})
    assert cells("policy", "v1", "poddisruptionbudgets", item) == ["pdb", "N/A", "25%", 0, "5h"]
