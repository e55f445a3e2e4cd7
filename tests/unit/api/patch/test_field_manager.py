"""Managed fields and server-side apply, against the real schemas."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from pilothouse.api import errors
from pilothouse.api.patch import LAST_APPLIED, FieldManager
from pilothouse.api.patch.status import UnreasonedServerError
from pilothouse.api.schema import Schema, Schemas

SCHEMAS = Schemas.load()


def schema(group: str, version: str, kind: str) -> Schema:
    found = SCHEMAS.for_kind(group, version, kind)
    assert found is not None
    return found


CONFIGMAP = schema("", "v1", "ConfigMap")
DEPLOYMENT = schema("apps", "v1", "Deployment")
POD = schema("", "v1", "Pod")
T0, T1, T2, T3 = (f"2024-05-01T10:0{i}:00Z" for i in range(4))

manager = FieldManager()


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj.get("metadata", {}).get("managedFields", [])


def fields(obj: dict[str, Any], name: str, operation: str | None = None) -> dict[str, Any]:
    found = [
        e
        for e in entries(obj)
        if e.get("manager", "") == name and operation in (None, e["operation"])
    ]
    assert len(found) == 1, entries(obj)
    return found[0]["fieldsV1"]


def configmap(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default"},
        "data": dict(data),
    }


def create(
    obj: dict[str, Any],
    name: str,
    *,
    at: str = T0,
    schema: Schema = CONFIGMAP,
    api_version: str = "v1",
) -> dict[str, Any]:
    created = manager.update(
        None, obj, manager=name, api_version=api_version, schema=schema, now=at
    )
    created["metadata"]["uid"] = "uid-1"
    return created


def update(
    live: dict[str, Any],
    new: dict[str, Any],
    name: str,
    *,
    at: str = T1,
    schema: Schema = CONFIGMAP,
    api_version: str = "v1",
    **options: Any,
) -> dict[str, Any]:
    return manager.update(
        live, new, manager=name, api_version=api_version, schema=schema, now=at, **options
    )


def edited(obj: dict[str, Any], **data: str | None) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    for key, value in data.items():
        if value is None:
            new["data"].pop(key, None)
        else:
            new["data"][key] = value
    return new


# --- update ----------------------------------------------------------------------------------------


def test_create_records_the_creator() -> None:
    created = create(configmap(k="v"), "kubectl-create")
    assert entries(created) == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:k": {}}},
        }
    ]


def test_update_does_not_modify_its_inputs() -> None:
    live = create(configmap(k="v"), "a")
    new = edited(live, k="w")
    before = (copy.deepcopy(live), copy.deepcopy(new))
    update(live, new, "b")
    assert (live, new) == before


def test_update_takes_changed_fields_from_other_managers() -> None:
    live = create(configmap(k="v"), "kubectl-create")
    updated = update(live, edited(live, k="w", j="x"), "editor")
    assert fields(updated, "kubectl-create") == {"f:data": {}}
    assert fields(updated, "editor") == {"f:data": {"f:j": {}, "f:k": {}}}


def test_update_that_changes_nothing_leaves_entries_alone() -> None:
    live = create(configmap(k="v"), "kubectl-create")
    assert entries(update(live, copy.deepcopy(live), "other")) == entries(live)


def test_same_manager_updates_merge_and_restamp() -> None:
    live = create(configmap(k="v"), "a")
    once = update(live, edited(live, j="1"), "b", at=T1)
    twice = update(once, edited(once, i="2"), "b", at=T2)
    entry = next(e for e in entries(twice) if e["manager"] == "b")
    assert entry["fieldsV1"] == {"f:data": {"f:i": {}, "f:j": {}}}
    assert entry["time"] == T2


def test_removed_fields_leave_every_owner() -> None:
    live = create(configmap(k="v", j="w"), "a")
    updated = update(live, edited(live, k=None), "b")
    assert fields(updated, "a") == {"f:data": {".": {}, "f:j": {}}}
    assert [e["manager"] for e in entries(updated)] == ["a"]


def test_entries_of_other_versions_and_subresources_are_separate() -> None:
    live = create(configmap(k="v"), "a")
    updated = update(live, edited(live, k="w"), "a", subresource="status")
    assert [(e["manager"], e.get("subresource")) for e in entries(updated)] == [
        ("a", None),
        ("a", "status"),
    ]


def test_untracked_objects_stay_untracked_until_applied() -> None:
    live = configmap(k="v")
    live["metadata"]["uid"] = "uid-1"
    assert "managedFields" not in update(live, edited(live, k="w"), "a")["metadata"]


@pytest.mark.parametrize("reset", [[], [{}]], ids=["empty-list", "one-empty-entry"])
def test_sending_an_empty_entry_drops_managed_fields(reset: list[Any]) -> None:
    live = create(configmap(k="v"), "a")
    new = edited(live, k="w")
    new["metadata"]["managedFields"] = reset
    assert "managedFields" not in update(live, new, "b")["metadata"]


def test_managed_fields_sent_with_the_request_are_used() -> None:
    live = create(configmap(k="v"), "a")
    live = update(live, edited(live, j="x"), "b")
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [e for e in entries(live) if e["manager"] == "b"]
    assert [e["manager"] for e in entries(update(live, new, "c"))] == ["b"]


def test_subresource_requests_ignore_sent_managed_fields() -> None:
    live = create(configmap(k="v"), "a")
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    assert entries(update(live, new, "c", subresource="status")) == entries(live)


def test_undecodable_sent_managed_fields_fall_back_to_the_live_ones() -> None:
    live = create(configmap(k="v"), "a")
    new = edited(live, k="w")
    new["metadata"]["managedFields"] = [{"manager": "x", "operation": "Bogus"}]
    assert [e["manager"] for e in entries(update(live, new, "b"))] == ["a", "b"]


def test_reset_fields_are_never_owned() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Pending"},
    }
    created = manager.update(
        None, pod, manager="m", api_version="v1", schema=POD, now=T0, reset_fields=[("status",)]
    )
    assert "f:status" not in fields(created, "m")
    assert "f:spec" in fields(created, "m")


def test_update_managers_beyond_ten_become_ancient_changes() -> None:
    obj = create(configmap(k0="v"), "m0", at="2024-05-01T10:00:00Z")
    for i in range(1, 12):
        obj = update(obj, edited(obj, **{f"k{i}": "v"}), f"m{i}", at=f"2024-05-01T10:00:{i:02d}Z")
    names = [e["manager"] for e in entries(obj)]
    assert len(names) == 10
    assert "ancient-changes" in names and not {"m0", "m1", "m2"} & set(names)
    bucket = fields(obj, "ancient-changes")
    assert bucket == {"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}}
    assert next(e for e in entries(obj) if e["manager"] == "ancient-changes")["time"] == (
        "2024-05-01T10:00:02Z"
    )


# --- apply ---------------------------------------------------------------------------------------


def nginx(replicas: int = 2, image: str = "nginx:1.25", **extra: Any) -> dict[str, Any]:
    container = {"name": "nginx", "image": image, "ports": [{"containerPort": 80}], **extra}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [container]},
            },
        },
    }


def apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    name: str = "kubectl",
    *,
    force: bool = False,
    at: str = T0,
    **options: Any,
) -> dict[str, Any]:
    applied = manager.apply(
        live,
        config,
        manager=name,
        force=force,
        api_version="apps/v1",
        schema=DEPLOYMENT,
        now=at,
        **options,
    )
    applied["metadata"].setdefault("uid", "uid-1")
    return applied


NGINX_APPLIED = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:selector": {},
        "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:containers": {
                    'k:{"name":"nginx"}': {
                        ".": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {
                            'k:{"containerPort":80,"protocol":"TCP"}': {
                                ".": {},
                                "f:containerPort": {},
                            }
                        },
                    }
                }
            },
        },
    },
}


def test_apply_creates_with_the_applied_fields() -> None:
    created = apply(None, nginx())
    assert entries(created) == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": NGINX_APPLIED,
        }
    ]
    body = {k: v for k, v in created.items() if k != "metadata"}
    assert body == {k: v for k, v in nginx().items() if k != "metadata"}


def test_fields_v1_is_encoded_as_kube_apiserver_encodes_it() -> None:
    text = orjson.dumps(entries(apply(None, nginx()))[0]["fieldsV1"]).decode()
    assert text.startswith('{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{}')
    assert (
        '"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}'
        in text
    )


def scaled(obj: dict[str, Any], replicas: int) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    new["spec"]["replicas"] = replicas
    return new


def test_apply_conflicts_with_an_updater() -> None:
    live = apply(None, nginx())
    live = manager.update(
        live,
        scaled(live, 5),
        manager="kube-controller-manager",
        api_version="apps/v1",
        schema=DEPLOYMENT,
        now=T1,
    )
    with pytest.raises(errors.Conflict) as failure:
        apply(live, nginx(replicas=3), at=T2)
    assert failure.value.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "kube-controller-manager" using '
        "apps/v1: .spec.replicas",
        "reason": "Conflict",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kube-controller-manager" using apps/v1',
                    "field": ".spec.replicas",
                }
            ]
        },
        "code": 409,
    }


def test_apply_lists_every_conflict_by_manager() -> None:
    live = apply(None, nginx(), "first")
    with pytest.raises(errors.Conflict) as failure:
        apply(live, nginx(replicas=3, image="nginx:2"), "second")
    assert failure.value.message == (
        'Apply failed with 2 conflicts: conflicts with "first":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image'
    )
    assert [c.field for c in failure.value.causes] == [
        ".spec.replicas",
        '.spec.template.spec.containers[name="nginx"].image',
    ]
    assert {c.message for c in failure.value.causes} == {'conflict with "first"'}


def test_applying_the_same_value_shares_ownership() -> None:
    live = apply(None, nginx(), "first")
    shared = apply(live, nginx(), "second", at=T1)
    assert fields(shared, "first") == fields(shared, "second") == NGINX_APPLIED


def test_force_takes_ownership() -> None:
    live = apply(None, nginx(), "first")
    forced = apply(live, nginx(replicas=3), "second", force=True, at=T1)
    assert forced["spec"]["replicas"] == 3
    assert "f:replicas" not in fields(forced, "first")["f:spec"]
    assert "f:replicas" in fields(forced, "second")["f:spec"]


def test_fields_dropped_from_the_configuration_are_removed() -> None:
    live = apply(None, nginx(env=[{"name": "A", "value": "1"}]))
    again = apply(live, nginx(), at=T1)
    assert "env" not in again["spec"]["template"]["spec"]["containers"][0]
    assert fields(again, "kubectl") == NGINX_APPLIED


def test_fields_dropped_but_owned_by_another_manager_stay() -> None:
    live = apply(None, nginx(env=[{"name": "A", "value": "1"}]), "first")
    live = apply(live, nginx(env=[{"name": "A", "value": "1"}]), "second", at=T1)
    again = apply(live, nginx(), "first", at=T2)
    assert again["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"}
    ]


def test_dropped_list_items_are_removed() -> None:
    two = nginx()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = apply(None, two)
    again = apply(live, nginx(), at=T1)
    assert [c["name"] for c in again["spec"]["template"]["spec"]["containers"]] == ["nginx"]


def test_fields_set_by_updaters_survive_a_reapply() -> None:
    live = apply(None, nginx())
    annotated = copy.deepcopy(live)
    annotated["metadata"]["annotations"] = {"note": "x"}
    live = manager.update(
        live,
        annotated,
        manager="kubectl-annotate",
        api_version="apps/v1",
        schema=DEPLOYMENT,
        now=T1,
    )
    again = apply(live, nginx(image="nginx:1.26"), at=T2)
    assert again["metadata"]["annotations"] == {"note": "x"}
    assert again["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"


def test_a_no_op_apply_keeps_the_time() -> None:
    live = apply(None, nginx())
    again = apply(live, nginx(), at=T3)
    assert again == live


def untracked(config: dict[str, Any]) -> dict[str, Any]:
    live = copy.deepcopy(config)
    live["metadata"]["annotations"] = {"note": "x"}
    live["metadata"]["uid"] = "uid-1"
    return live


def test_first_apply_to_an_untracked_object_records_what_was_there() -> None:
    applied = apply(untracked(nginx()), nginx(), at=T1)
    assert [(e["manager"], e["operation"]) for e in entries(applied)] == [
        ("kubectl", "Apply"),
        ("before-first-apply", "Update"),
    ]
    assert fields(applied, "before-first-apply") == {
        "f:metadata": {
            "f:annotations": {".": {}, "f:note": {}},
            "f:labels": {".": {}, "f:app": {}},
        },
        "f:spec": {
            ".": {},
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                ".": {},
                "f:metadata": {".": {}, "f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    ".": {},
                    "f:containers": {
                        ".": {},
                        'k:{"name":"nginx"}': {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                ".": {},
                                'k:{"containerPort":80,"protocol":"TCP"}': {
                                    ".": {},
                                    "f:containerPort": {},
                                },
                            },
                        },
                    },
                },
            },
        },
    }


def test_first_apply_conflicts_with_what_was_there() -> None:
    with pytest.raises(errors.Conflict) as failure:
        apply(untracked(nginx()), nginx(image="nginx:2"), at=T1)
    assert failure.value.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: '
        '.spec.template.spec.containers[name="nginx"].image'
    )


def test_reset_fields_are_not_owned_by_appliers() -> None:
    config = nginx()
    config["status"] = {"replicas": 2}
    applied = apply(None, config, reset_fields=[("status",)])
    assert "f:status" not in fields(applied, "kubectl")


def test_apply_entries_come_first_then_by_time() -> None:
    live = create(nginx(), "creator", at=T2, schema=DEPLOYMENT, api_version="apps/v1")
    applied = apply(live, nginx(replicas=2), "applier", at=T3)
    annotated = copy.deepcopy(applied)
    annotated["metadata"]["annotations"] = {"n": "1"}
    updated = manager.update(
        applied, annotated, manager="annotator", api_version="apps/v1", schema=DEPLOYMENT, now=T1
    )
    assert [(e["manager"], e["operation"]) for e in entries(updated)] == [
        ("applier", "Apply"),
        ("annotator", "Update"),
        ("creator", "Update"),
    ]


def test_subresource_conflicts_name_the_subresource() -> None:
    live = apply(None, nginx())
    live = manager.update(
        live,
        scaled(live, 7),
        manager="hpa",
        api_version="apps/v1",
        schema=DEPLOYMENT,
        now=T1,
        subresource="scale",
    )
    with pytest.raises(errors.Conflict) as failure:
        apply(live, nginx(replicas=3), at=T2)
    assert (
        failure.value.causes[0].message
        == 'conflict with "hpa" with subresource "scale" using apps/v1'
    )


# --- kubectl: from client-side to server-side apply -----------------------------------------------


def client_side_applied(config: dict[str, Any]) -> dict[str, Any]:
    """An object as ``kubectl apply`` (client-side) creates it."""
    annotated = copy.deepcopy(config)
    text = orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode() + "\n"
    annotated["metadata"]["annotations"] = {LAST_APPLIED: text}
    return create(annotated, "kubectl-client-side-apply", schema=DEPLOYMENT, api_version="apps/v1")


def test_kubectl_takes_over_what_its_last_applied_configuration_set() -> None:
    live = client_side_applied(nginx())
    applied = apply(live, nginx(replicas=3), at=T1)
    assert applied["spec"]["replicas"] == 3
    assert "f:replicas" in fields(applied, "kubectl", "Apply")["f:spec"]
    annotation = applied["metadata"]["annotations"][LAST_APPLIED]
    assert orjson.loads(annotation) == nginx(replicas=3) and annotation.endswith("\n")


def test_kubectl_still_conflicts_on_fields_changed_since() -> None:
    live = client_side_applied(nginx())
    live = manager.update(
        live,
        scaled(live, 5),
        manager="kube-controller-manager",
        api_version="apps/v1",
        schema=DEPLOYMENT,
        now=T1,
    )
    with pytest.raises(errors.Conflict) as failure:
        apply(live, nginx(replicas=3, image="nginx:2"), at=T2)
    assert [c.field for c in failure.value.causes] == [".spec.replicas"]


def test_other_appliers_do_not_take_over_client_side_fields() -> None:
    live = client_side_applied(nginx())
    with pytest.raises(errors.Conflict):
        apply(live, nginx(replicas=3), "helm", at=T1)


# --- rejected configurations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        pytest.param(
            lambda c: c["metadata"].update(managedFields=[]),
            errors.BadRequest,
            "metadata.managedFields must be nil",
            id="managed-fields",
        ),
        pytest.param(
            lambda c: c.update(kind="StatefulSet"),
            errors.BadRequest,
            "invalid object type: apps/v1, Kind=StatefulSet",
            id="kind",
        ),
        pytest.param(
            lambda c: c.update(apiVersion="apps/v1beta1"),
            errors.BadRequest,
            "invalid object type: apps/v1beta1, Kind=Deployment",
            id="version",
        ),
        pytest.param(
            lambda c: c["spec"].update(replica=1),
            UnreasonedServerError,
            "failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): "
            ".spec.replica: field not declared in schema",
            id="unknown-field",
        ),
        pytest.param(
            lambda c: c["spec"].update(replicas="3"),
            UnreasonedServerError,
            "failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): "
            ".spec.replicas: expected numeric (int or float), got string",
            id="wrong-type",
        ),
        pytest.param(
            lambda c: c["spec"]["template"]["spec"]["containers"].append({"name": "nginx"}),
            UnreasonedServerError,
            "failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): "
            '.spec.template.spec.containers: duplicate entries for key [name="nginx"]',
            id="duplicate-key",
        ),
    ],
)
def test_rejected_configurations(
    change: Any, status: type[errors.StatusError], message: str
) -> None:
    config = nginx()
    change(config)
    with pytest.raises(status) as failure:
        apply(None, config)
    assert failure.value.message == message


def test_apply_does_not_modify_its_inputs() -> None:
    live = apply(None, nginx())
    config = nginx(replicas=4)
    before = (copy.deepcopy(live), copy.deepcopy(config))
    apply(live, config, at=T1)
    assert (live, config) == before


def test_the_server_side_apply_documentation_example() -> None:
    # kubernetes.io/docs/reference/using-api/server-side-apply/#field-management
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
        "data": {"key": "some value"},
    }
    applied = manager.apply(
        None, config, manager="kubectl", force=False, api_version="v1", schema=CONFIGMAP, now=T0
    )
    assert entries(applied) == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:data": {"f:key": {}},
                "f:metadata": {"f:labels": {"f:test-label": {}}},
            },
        }
    ]
