"""Strategic merge patch: upstream's own cases, and the patches real clients send."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from pilothouse.api import errors
from pilothouse.api.patch import apply_strategic_merge_patch
from pilothouse.api.patch.status import REJECTED, UnreasonedServerError
from pilothouse.api.schema import Schema, Schemas

# The schema of upstream's MergeItem test struct (strategicpatch/patch_test.go).
_ITEM = "#/$defs/mergeItem"
MERGE_ITEM = Schemas(
    {
        "mergeItem": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "mergingList": {
                    "type": "array",
                    "items": {"$ref": _ITEM},
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name",
                },
                "nonMergingList": {"type": "array", "items": {"$ref": _ITEM}},
                "mergingIntList": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "x-kubernetes-patch-strategy": "merge",
                },
                "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
                "mergeItemPtr": {
                    "type": "array",
                    "items": {"$ref": _ITEM},
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name",
                },
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "replacingItem": {
                    "$ref": "#/$defs/io.k8s.apimachinery.pkg.runtime.RawExtension",
                    "x-kubernetes-patch-strategy": "replace",
                },
                "retainKeysMap": {
                    "$ref": "#/$defs/retainKeysMergeItem",
                    "x-kubernetes-patch-strategy": "retainKeys",
                },
                "retainKeysMergingList": {
                    "type": "array",
                    "items": {"$ref": _ITEM},
                    "x-kubernetes-patch-strategy": "merge,retainKeys",
                    "x-kubernetes-patch-merge-key": "name",
                },
            },
        },
        "retainKeysMergeItem": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "mergingIntList": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "x-kubernetes-patch-strategy": "merge",
                },
                "mergingList": {
                    "type": "array",
                    "items": {"$ref": _ITEM},
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name",
                },
                "nonMergingList": {"type": "array", "items": {"$ref": _ITEM}},
            },
        },
        "io.k8s.apimachinery.pkg.runtime.RawExtension": {"type": "object"},
    }
).definition("mergeItem")

UPSTREAM = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "strategic_merge_upstream.yaml").read_text()
)


@pytest.mark.parametrize("case", UPSTREAM, ids=[c["name"] for c in UPSTREAM])
def test_upstream_cases(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(errors.StatusError) as failure:
            apply_strategic_merge_patch(case["original"], case["patch"], MERGE_ITEM)
        assert case["error"] in failure.value.message
    else:
        assert (
            apply_strategic_merge_patch(case["original"], case["patch"], MERGE_ITEM)
            == case["result"]
        )


def test_inputs_are_not_mutated() -> None:
    original = {"mergingList": [{"name": "a", "value": "1"}], "simpleMap": {"k": "v"}}
    patch = {
        "$setElementOrder/mergingList": [{"name": "b"}, {"name": "a"}],
        "mergingList": [{"name": "b"}],
        "simpleMap": {"k": None},
    }
    before = (copy.deepcopy(original), copy.deepcopy(patch))
    apply_strategic_merge_patch(original, patch, MERGE_ITEM)
    assert (original, patch) == before


# --- real clients against real schemas ----------------------------------------------------------

SCHEMAS = Schemas.load()


def schema(group: str, version: str, kind: str) -> Schema:
    found = SCHEMAS.for_kind(group, version, kind)
    assert found is not None
    return found


DEPLOYMENT = schema("apps", "v1", "Deployment")
POD = schema("", "v1", "Pod")
SERVICE = schema("", "v1", "Service")
PDB = schema("policy", "v1", "PodDisruptionBudget")


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "k", "operator": "Exists"}],
                },
            },
        },
    }


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


def test_kubectl_client_side_apply_changes_one_image() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                    "containers": [{"image": "nginx:1.26", "name": "nginx"}],
                }
            }
        }
    }
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert [c["name"] for c in containers(result)] == ["nginx", "sidecar"]
    assert containers(result)[0]["image"] == "nginx:1.26"
    assert containers(result)[0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]


def test_kubectl_set_image() -> None:
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "alpine"}]}}}
    }
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert [(c["name"], c["image"]) for c in containers(result)] == [
        ("nginx", "nginx:1.25"),
        ("sidecar", "alpine"),
    ]


def test_kubectl_rollout_restart_and_pause() -> None:
    restart = {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-05-01T10:00:00Z"}
                }
            }
        }
    }
    result = apply_strategic_merge_patch(deployment(), restart, DEPLOYMENT)
    assert result["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-05-01T10:00:00Z"},
    }
    paused = apply_strategic_merge_patch(result, {"spec": {"paused": True}}, DEPLOYMENT)
    assert paused["spec"]["paused"] is True
    assert paused["spec"]["template"] == result["spec"]["template"]


def test_added_container_without_set_element_order_goes_first() -> None:
    # The kubectl patch documentation's example: the new container is listed first.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "redis", "image": "redis"}]}}}}
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert [c["name"] for c in containers(result)] == ["redis", "nginx", "sidecar"]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param(
            {"env": [{"name": "B", "value": "3"}]},
            [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}],
            id="change-one",
        ),
        pytest.param(
            {"env": [{"name": "A", "$patch": "delete"}]},
            [{"name": "B", "value": "2"}],
            id="delete-one",
        ),
        pytest.param(
            {"env": [{"name": "C", "value": "3"}, {"$patch": "replace"}]},
            [{"name": "C", "value": "3"}],
            id="replace-all",
        ),
        pytest.param(
            {"env": [{"name": "A", "value": None, "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]},
            [
                {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "x"}}},
                {"name": "B", "value": "2"},
            ],
            id="null-deletes-a-field-of-an-item",
        ),
    ],
)
def test_env_merges_by_name(patch: dict[str, Any], expected: list[Any]) -> None:
    full = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", **patch}]}}}}
    result = apply_strategic_merge_patch(deployment(), full, DEPLOYMENT)
    assert containers(result)[0]["env"] == expected


def test_ports_merge_by_container_port() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "ports": [
                                {"containerPort": 80, "name": "http"},
                                {"containerPort": 443},
                            ],
                        }
                    ]
                }
            }
        }
    }
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert containers(result)[0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 443},
    ]


def test_tolerations_are_replaced_whole() -> None:
    patch = {
        "spec": {"template": {"spec": {"tolerations": [{"key": "other", "operator": "Exists"}]}}}
    }
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert result["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "other", "operator": "Exists"}
    ]


def test_volume_retain_keys_switches_the_source() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {
                            "$retainKeys": ["configMap", "name"],
                            "name": "data",
                            "configMap": {"name": "cfg"},
                        }
                    ]
                }
            }
        }
    }
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert result["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "configMap": {"name": "cfg"}}
    ]


def test_strategy_retain_keys_drops_rolling_update() -> None:
    # kubectl patch deployment --patch '{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}'
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_labels_merge_and_null_deletes() -> None:
    patch = {"metadata": {"labels": {"tier": "front", "app": None}}}
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert result["metadata"]["labels"] == {"tier": "front"}


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list() -> None:
    obj = deployment()
    obj["metadata"]["finalizers"] = ["a", "b"]
    added = apply_strategic_merge_patch(obj, {"metadata": {"finalizers": ["b", "c"]}}, DEPLOYMENT)
    assert added["metadata"]["finalizers"] == ["a", "b", "c"]
    removed = apply_strategic_merge_patch(
        added, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "c"]}}, DEPLOYMENT
    )
    assert removed["metadata"]["finalizers"] == ["b"]


def test_owner_references_merge_by_uid() -> None:
    obj = deployment()
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "X", "name": "x", "uid": "1"},
    ]
    patch = {
        "metadata": {
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Y", "name": "y", "uid": "2"},
                {"uid": "1", "controller": True},
            ]
        }
    }
    result = apply_strategic_merge_patch(obj, patch, DEPLOYMENT)
    assert result["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Y", "name": "y", "uid": "2"},
        {"apiVersion": "v1", "kind": "X", "name": "x", "uid": "1", "controller": True},
    ]


def test_pod_disruption_budget_selector_is_replaced() -> None:
    pdb = {"spec": {"selector": {"matchLabels": {"a": "1"}, "matchExpressions": []}}}
    result = apply_strategic_merge_patch(
        pdb, {"spec": {"selector": {"matchLabels": {"b": "2"}}}}, PDB
    )
    assert result["spec"]["selector"] == {"matchLabels": {"b": "2"}}


def test_service_ports_merge_by_port() -> None:
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    result = apply_strategic_merge_patch(
        svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, SERVICE
    )
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090, "protocol": "TCP"}]


def test_directives_of_values_new_to_the_object_are_dropped() -> None:
    # apimachinery#117568: directives of values that land where nothing was must not be kept.
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "resources": {
                                "limits": {"cpu": "1", "memory": None},
                            },
                        }
                    ],
                    "affinity": {"$patch": "replace", "nodeAffinity": {}},
                }
            }
        }
    }
    result = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert containers(result)[0]["resources"] == {"limits": {"cpu": "1"}}
    assert "affinity" not in result["spec"]["template"]["spec"]


def test_top_level_patch_delete_empties_the_object() -> None:
    assert apply_strategic_merge_patch(deployment(), {"$patch": "delete"}, DEPLOYMENT) == {}


def test_unknown_fields_and_any_nodes_merge_like_json_merge_patch() -> None:
    revision = schema("apps", "v1", "ControllerRevision")
    obj = {"data": {"spec": {"list": [1, 2], "keep": 1, "drop": 2}}}
    patch = {"data": {"spec": {"list": [3], "drop": None}}, "unknown": {"a": [1]}}
    assert apply_strategic_merge_patch(obj, patch, revision) == {
        "data": {"spec": {"list": [3], "keep": 1}},
        "unknown": {"a": [1]},
    }


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "status", "message"),
    [
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": "type"}}},
            errors.BadRequest,
            "invalid patch format of retainKeys",
            id="retain-keys-not-a-list",
        ),
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
            errors.BadRequest,
            "invalid patch format of retainKeys",
            id="retain-keys-misses-a-field",
        ),
        pytest.param(
            {"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}},
            errors.BadRequest,
            "invalid patch format of primitive list",
            id="bad-delete-list-key",
        ),
        pytest.param(
            {"spec": {"template": {"spec": {"$setElementOrdercontainers": []}}}},
            errors.BadRequest,
            "invalid patch format of setElementOrder list",
            id="bad-order-key",
        ),
        pytest.param(
            {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
            UnreasonedServerError,
            "map: map[image:x] does not contain declared merge key: name",
            id="missing-merge-key",
        ),
        pytest.param(
            {
                "spec": {
                    "template": {"spec": {"containers": [{"name": "nginx", "$patch": "merge"}]}}
                }
            },
            UnreasonedServerError,
            "merging lists cannot yet be specified in the patch",
            id="merge-directive-in-list",
        ),
        pytest.param(
            {"spec": {"strategy": {"$patch": "explode"}}},
            UnreasonedServerError,
            "unknown patch type: explode in map: map[$patch:explode]",
            id="unknown-map-directive",
        ),
        pytest.param(
            {"spec": {"template": {"spec": {"$setElementOrder/containers": "nginx"}}}},
            UnreasonedServerError,
            "expected a []interface {}, but received a string",
            id="order-not-a-list",
        ),
        pytest.param(
            {"metadata": {"ownerReferences": [["a"]]}},
            errors.Invalid,
            REJECTED,
            id="list-of-lists",
        ),
        pytest.param(
            {"metadata": {"finalizers": [1]}},
            UnreasonedServerError,
            "list element types are not identical: [[a] [1]]",
            id="mixed-element-types",
        ),
    ],
)
def test_errors_carry_kube_apiserver_status(
    patch: dict[str, Any], status: type[errors.StatusError], message: str
) -> None:
    obj = deployment()
    obj["metadata"]["finalizers"] = ["a"]
    obj["metadata"]["ownerReferences"] = []
    with pytest.raises(status) as failure:
        apply_strategic_merge_patch(obj, patch, DEPLOYMENT)
    assert failure.value.message == message
    body = failure.value.status()
    assert body["code"] == failure.value.code
    if status is UnreasonedServerError:
        assert body["code"] == 500 and "reason" not in body


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        pytest.param(
            [],
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
            id="array",
        ),
        pytest.param(
            "x",
            "json: cannot unmarshal string into Go value of type map[string]interface {}",
            id="string",
        ),
    ],
)
def test_a_patch_that_is_not_an_object_is_a_bad_request(patch: Any, message: str) -> None:
    with pytest.raises(errors.BadRequest) as failure:
        apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert failure.value.message == message


def test_null_patch_changes_nothing() -> None:
    assert apply_strategic_merge_patch(deployment(), None, DEPLOYMENT) == deployment()


def test_pod_spec_patch_keeps_unpatched_containers_in_place() -> None:
    pod = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}}
    patch = {"spec": {"containers": [{"name": "b", "image": "3"}]}}
    assert apply_strategic_merge_patch(pod, patch, POD)["spec"]["containers"] == [
        {"name": "a", "image": "1"},
        {"name": "b", "image": "3"},
    ]
