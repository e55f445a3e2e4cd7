"""HorizontalPodAutoscalers: v2 defaults, validation, and v1 <-> v2 conversion."""

import json

import pytest

from pilothouse.api.kinds.conversion import convert
from pilothouse.api.kinds.hpa import BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, METRICS_ANNOTATION

from .flow import create

TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


def hpa(**spec):
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": TARGET, "maxReplicas": 5, **spec},
    }


def test_defaults():
    obj, errors = create("autoscaling", hpa())
    assert errors == []
    assert obj["spec"]["minReplicas"] == 1
    assert obj["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }
    ]
    assert "generation" not in obj["metadata"]


def test_behavior_is_completed():
    obj, _ = create("autoscaling", hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))
    assert obj["spec"]["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 60,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"minReplicas": 0},
            ["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"],
        ),
        (
            {"minReplicas": 6},
            ["spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"],
        ),
        ({"scaleTargetRef": {"kind": "Deployment"}}, ["spec.scaleTargetRef.name: Required value"]),
        (
            {
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 0},
                        },
                    }
                ]
            },
            [
                "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"
            ],
        ),
        (
            {"metrics": [{"type": "Pods"}]},
            [
                "spec.metrics[0].pods: Required value: must populate information for the given metric source"
            ],
        ),
        (
            {
                "behavior": {
                    "scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 4000}]}
                }
            },
            [
                "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 4000: must be less than or equal to 1800"
            ],
        ),
    ],
    ids=[
        "min-zero",
        "max-below-min",
        "target-name",
        "utilization-zero",
        "missing-source",
        "long-period",
    ],
)
def test_validation(spec, expected):
    assert create("autoscaling", hpa(**spec))[1] == expected


def test_v2_to_v1_keeps_the_cpu_target_in_the_field():
    obj, _ = create(
        "autoscaling",
        hpa(
            metrics=[
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                }
            ]
        ),
    )
    obj["status"] = {
        "currentReplicas": 2,
        "desiredReplicas": 2,
        "currentMetrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": 42, "averageValue": "120m"},
                },
            }
        ],
    }
    v1 = convert(obj, to_api_version="autoscaling/v1")
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {
        "scaleTargetRef": TARGET,
        "minReplicas": 1,
        "maxReplicas": 5,
        "targetCPUUtilizationPercentage": 60,
    }
    assert v1["status"]["currentCPUUtilizationPercentage"] == 42
    assert METRICS_ANNOTATION not in v1["metadata"].get("annotations", {})
    current = json.loads(
        v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/current-metrics"]
    )
    assert current == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "currentAverageUtilization": 42,
                "currentAverageValue": "120m",
            },
        }
    ]


def test_round_trip_keeps_everything_v1_cannot_express():
    obj, _ = create(
        "autoscaling",
        hpa(
            metrics=[
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                },
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "qps"},
                        "target": {"type": "AverageValue", "averageValue": "10"},
                    },
                },
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "1Gi"},
                    },
                },
            ],
            behavior={"scaleUp": {"stabilizationWindowSeconds": 30}},
        ),
    )
    obj["status"] = {
        "currentReplicas": 1,
        "desiredReplicas": 1,
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}],
    }
    v1 = convert(obj, to_api_version="autoscaling/v1")
    annotations = v1["metadata"]["annotations"]
    assert json.loads(annotations[METRICS_ANNOTATION]) == [
        {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}},
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "1Gi"}},
    ]
    assert (
        json.loads(annotations[BEHAVIOR_ANNOTATION])["ScaleUp"]["StabilizationWindowSeconds"] == 30
    )
    assert json.loads(annotations[CONDITIONS_ANNOTATION])[0]["type"] == "AbleToScale"
    back = convert(v1, to_api_version="autoscaling/v2")
    assert back["metadata"] == obj["metadata"]
    assert sorted(back["spec"]["metrics"], key=json.dumps) == sorted(
        obj["spec"]["metrics"], key=json.dumps
    )
    assert back["spec"]["behavior"] == obj["spec"]["behavior"]
    assert back["status"]["conditions"] == obj["status"]["conditions"]


def test_v1_without_target_gets_the_default_metric():
    v1 = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": TARGET, "maxReplicas": 3},
    }
    v2 = convert(v1, to_api_version="autoscaling/v2")
    assert v2["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }
    ]
