"""ResourceQuotas and LimitRanges."""

import copy

import pytest

from .flow import create, created, update


def quota(**spec):
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": "d"},
        "spec": spec,
    }


def limit_range(*limits):
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "l", "namespace": "d"},
        "spec": {"limits": list(limits)},
    }


def test_quota_rounds_quantities():
    obj, errors = create(
        "", quota(hard={"cpu": "0.5", "pods": "10", "count/deployments.apps": "2"})
    )
    assert errors == []
    assert obj["spec"]["hard"] == {"cpu": "500m", "pods": "10", "count/deployments.apps": "2"}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"hard": {"pods": "1.5"}},
            ['spec.hard[pods]: Invalid value: "1500m": must be an integer'],
        ),
        (
            {"hard": {"gpus": "1"}},
            [
                'spec.hard[gpus]: Invalid value: "gpus": must be a standard resource type or fully '
                "qualified",
                'spec.hard[gpus]: Invalid value: "gpus": must be a standard resource for quota',
            ],
        ),
        (
            {"hard": {"cpu": "-1"}},
            ['spec.hard[cpu]: Invalid value: "-1": must be greater than or equal to 0'],
        ),
        (
            {"hard": {"pods": "1"}, "scopes": ["BestEffort", "NotBestEffort"]},
            [
                'spec.scopes: Invalid value: []string{"BestEffort", "NotBestEffort"}: conflicting scopes'
            ],
        ),
    ],
    ids=["integer", "unknown-name", "negative", "conflicting-scopes"],
)
def test_quota_validation(spec, expected):
    assert create("", quota(**spec))[1] == expected


def test_quota_scopes_are_immutable():
    old = created("", quota(hard={"pods": "1"}, scopes=["BestEffort"]))
    new = copy.deepcopy(old)
    new["spec"]["scopes"] = ["NotBestEffort"]
    assert update("", new, old)[1] == [
        'spec.scopes: Invalid value: []string{"NotBestEffort"}: field is immutable'
    ]


def test_limit_range_container_defaults():
    obj, errors = create(
        "", limit_range({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}})
    )
    assert errors == []
    item = obj["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
            [
                'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
                'spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1',
                'spec.limits[0].default[cpu]: Invalid value: "2": min value 2 is greater than default value 1',
            ],
        ),
        (
            {"type": "Pod", "default": {"cpu": "1"}},
            ["spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"],
        ),
        (
            {"type": "PersistentVolumeClaim"},
            [
                "spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither was provided"
            ],
        ),
        (
            {"type": "Robot"},
            [
                'spec.limits[0].type: Invalid value: "Robot": must be a standard limit type or fully qualified'
            ],
        ),
    ],
    ids=["min-over-max", "pod-default", "pvc-without-bounds", "bad-type"],
)
def test_limit_range_validation(item, expected):
    assert create("", limit_range(item))[1] == expected
