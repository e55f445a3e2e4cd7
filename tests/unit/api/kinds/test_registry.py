"""The kinds registry: every built-in kind has a strategy, field selectors per kind."""

import pytest

from pilothouse.api.kinds import (
    FieldLabelError,
    GenericStrategy,
    convert_field_label,
    strategy_for,
    supported_field_selectors,
)
from pilothouse.api.resources import builtin_resources


def test_every_builtin_kind_has_a_strategy():
    missing = {
        (r.group, r.kind)
        for r in builtin_resources()
        if "get" in r.verbs  # reviews are never stored: no strategy
        and isinstance(strategy_for(r.group, r.kind), GenericStrategy)
    }
    assert missing == set()


def test_unknown_kinds_get_the_generic_strategy():
    strategy = strategy_for("example.com", "Widget")
    assert isinstance(strategy, GenericStrategy)
    assert strategy.has_status and strategy.tracks_generation
    assert supported_field_selectors("example.com", "Widget") == {
        "metadata.name",
        "metadata.namespace",
    }


@pytest.mark.parametrize(
    ("group", "kind", "extra"),
    [
        (
            "",
            "Pod",
            {
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
                "spec.host",
            },
        ),
        ("", "Node", {"spec.unschedulable"}),
        ("", "Secret", {"type"}),
        ("", "Service", {"spec.clusterIP", "spec.type"}),
        ("", "ReplicationController", {"status.replicas"}),
        ("apps", "ReplicaSet", {"status.replicas"}),
        ("batch", "Job", {"status.successful"}),
        (
            "",
            "Event",
            {
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            },
        ),
        ("apps", "Deployment", set()),
    ],
    ids=["pod", "node", "secret", "service", "rc", "rs", "job", "event", "deployment"],
)
def test_supported_field_selectors(group, kind, extra):
    metadata = {"metadata.name"} if kind == "Node" else {"metadata.name", "metadata.namespace"}
    assert supported_field_selectors(group, kind) == metadata | extra


def test_field_label_conversion():
    assert convert_field_label("", "Pod", "spec.host") == "spec.nodeName"
    with pytest.raises(FieldLabelError) as err:
        convert_field_label("", "Pod", "spec.foo")
    assert str(err.value) == "field label not supported: spec.foo"


@pytest.mark.parametrize(
    ("group", "kind", "has_status", "generation"),
    [
        ("", "Pod", True, True),
        ("", "ConfigMap", False, False),
        ("", "Secret", False, False),
        ("", "Service", True, False),
        ("", "Namespace", True, False),
        ("apps", "Deployment", True, True),
        ("batch", "CronJob", True, True),
        ("", "PodTemplate", False, True),
        ("autoscaling", "HorizontalPodAutoscaler", True, False),
        ("policy", "PodDisruptionBudget", True, True),
        ("networking.k8s.io", "NetworkPolicy", False, True),
        ("rbac.authorization.k8s.io", "Role", False, False),
        ("coordination.k8s.io", "Lease", False, False),
        ("", "PersistentVolumeClaim", True, False),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_status_and_generation(group, kind, has_status, generation):
    strategy = strategy_for(group, kind)
    assert (strategy.has_status, strategy.tracks_generation) == (has_status, generation)
