"""Deployments, ReplicaSets, ReplicationControllers, StatefulSets, DaemonSets."""

import copy

import pytest

from pilothouse.api.kinds import strategy_for

from .flow import create, created, update

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
}


def workload(kind, **spec):
    group = "" if kind == "ReplicationController" else "apps"
    selector = (
        {"app": "web"} if kind == "ReplicationController" else {"matchLabels": {"app": "web"}}
    )
    return {
        "apiVersion": "apps/v1" if group else "v1",
        "kind": kind,
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": selector, "template": copy.deepcopy(TEMPLATE), **spec},
    }


def test_deployment_defaults():
    obj, errors = create("apps", workload("Deployment"))
    assert errors == []
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert obj["metadata"]["generation"] == 1


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # As upstream: a missing selector selects nothing, so the template does not match it either.
        (
            {"selector": None},
            [
                ("spec.selector", "Required value", ""),
                (
                    "spec.template.metadata.labels",
                    "Invalid value",
                    "`selector` does not match template `labels`",
                ),
            ],
        ),
        (
            {"selector": {}},
            [("spec.selector", "Invalid value", "empty selector is invalid for deployment")],
        ),
        (
            {"selector": {"matchLabels": {"app": "other"}}},
            [
                (
                    "spec.template.metadata.labels",
                    "Invalid value",
                    "`selector` does not match template `labels`",
                )
            ],
        ),
        (
            {"replicas": -1},
            ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            {"strategy": {"type": "Recreate", "rollingUpdate": {}}},
            [
                "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
            ],
        ),
        (
            {
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0},
                }
            },
            [
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"
            ],
        ),
        (
            {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}}},
            [
                'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'
            ],
        ),
        (
            {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "x"}}},
            [
                'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "x": a valid percent string must be a numeric '
                "string followed by an ending '%' (e.g. '1%' or '93%', regex used for validation is '[0-9]+%')"
            ],
        ),
        (
            {"progressDeadlineSeconds": 5, "minReadySeconds": 10},
            [
                "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds"
            ],
        ),
        (
            {"template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}},
            [
                'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
            ],
        ),
    ],
    ids=[
        "no-selector",
        "empty-selector",
        "selector-mismatch",
        "negative-replicas",
        "recreate-rolling",
        "zero-zero",
        "over-100",
        "bad-percent",
        "deadline",
        "restart-never",
    ],
)
def test_deployment_validation(spec, expected):
    obj = workload("Deployment", **spec)
    if spec.get("selector", "") is None:
        del obj["spec"]["selector"]
    _, errors = create("apps", obj, raw=isinstance(expected[0], tuple))
    assert errors == expected


def test_deployment_selector_is_immutable():
    old = created("apps", workload("Deployment"))
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    _, errors = update("apps", new, old, raw=True)
    assert errors == [("spec.selector", "Invalid value", "field is immutable")]


def test_deployment_template_change_bumps_generation():
    old = created("apps", workload("Deployment"))
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    result, errors = update("apps", new, old)
    assert errors == []
    assert result["metadata"]["generation"] == 2


def test_replica_set_message_and_field_labels():
    _, errors = create("apps", workload("ReplicaSet", selector={}), raw=True)
    assert errors == [
        ("spec.selector", "Invalid value", "empty selector is invalid for deployment")
    ]
    obj = created("apps", workload("ReplicaSet"))
    obj["status"] = {"replicas": 3}
    assert strategy_for("apps", "ReplicaSet").field_labels(obj) == {"status.replicas": "3"}


def test_replica_set_status_counts():
    strategy = strategy_for("apps", "ReplicaSet")
    old = created("apps", workload("ReplicaSet"))
    new = copy.deepcopy(old)
    new["status"] = {"replicas": 1, "readyReplicas": 2, "availableReplicas": 2}
    assert [e.message() for e in strategy.validate_status_update(new, old)] == [
        "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
        "status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas",
    ]


class TestReplicationController:
    def test_selector_and_labels_default_from_the_template(self):
        obj = workload("ReplicationController")
        del obj["spec"]["selector"]
        result, errors = create("", obj)
        assert errors == []
        assert result["spec"]["selector"] == {"app": "web"}
        assert result["metadata"]["labels"] == {"app": "web"}
        assert result["spec"]["replicas"] == 1

    def test_mismatch(self):
        _, errors = create("", workload("ReplicationController", selector={"app": "x"}), raw=True)
        assert errors == [
            (
                "spec.template.metadata.labels",
                "Invalid value",
                "`selector` does not match template `labels`",
            )
        ]


class TestStatefulSet:
    def test_defaults(self):
        obj, errors = create(
            "apps",
            workload(
                "StatefulSet",
                serviceName="web",
                volumeClaimTemplates=[
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            ),
        )
        assert errors == []
        spec = obj["spec"]
        assert spec["podManagementPolicy"] == "OrderedReady"
        assert spec["updateStrategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"partition": 0},
        }
        assert spec["persistentVolumeClaimRetentionPolicy"] == {
            "whenDeleted": "Retain",
            "whenScaled": "Retain",
        }
        assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10
        claim = spec["volumeClaimTemplates"][0]
        assert claim["spec"]["volumeMode"] == "Filesystem"
        assert claim["status"] == {"phase": "Pending"}

    def test_only_some_fields_may_change(self):
        old = created("apps", workload("StatefulSet", serviceName="web"))
        new = copy.deepcopy(old)
        new["spec"]["serviceName"] = "other"
        _, errors = update("apps", new, old)
        assert errors == [
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
            "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
            "'minReadySeconds' are forbidden"
        ]

    def test_replicas_may_change(self):
        old = created("apps", workload("StatefulSet"))
        new = copy.deepcopy(old)
        new["spec"]["replicas"] = 5
        assert update("apps", new, old)[1] == []

    def test_pod_management_policy(self):
        _, errors = create("apps", workload("StatefulSet", podManagementPolicy="Random"))
        assert errors == [
            "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"
        ]


class TestDaemonSet:
    def test_defaults(self):
        obj, errors = create("apps", workload("DaemonSet"))
        assert errors == []
        assert obj["spec"]["updateStrategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
        }

    def test_surge_and_unavailable(self):
        _, errors = create(
            "apps",
            workload(
                "DaemonSet",
                updateStrategy={
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1},
                },
            ),
        )
        assert errors == [
            "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when "
            "maxUnavailable is non-zero"
        ]


def test_controller_revision():
    revision = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "r", "namespace": "d"},
        "revision": 1,
    }
    _, errors = create("apps", revision)
    assert errors == ["data: Required value: data is mandatory"]
    old = created("apps", {**revision, "data": {"a": 1}})
    new = copy.deepcopy(old)
    new["data"] = {"a": 2}
    assert update("apps", new, old, raw=True)[1] == [
        ("data", "Invalid value", "field is immutable")
    ]
