"""Field validation: unknown, duplicate and mistyped fields under Strict, Warn and Ignore."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pilothouse.api import errors
from pilothouse.api.fieldvalidation import (
    IGNORE,
    STRICT,
    WARN,
    check_fields,
    check_patched_fields,
    find_duplicate_fields_json,
    find_duplicate_fields_yaml,
    find_problems,
    parse_directive,
)
from pilothouse.api.schema import Schema, Schemas

SCHEMAS = Schemas.load()


def schema(group: str, version: str, kind: str) -> Schema:
    found = SCHEMAS.for_kind(group, version, kind)
    assert found is not None
    return found


DEPLOYMENT = schema("apps", "v1", "Deployment")
CONFIGMAP = schema("", "v1", "ConfigMap")
SECRET = schema("", "v1", "Secret")
REVISION = schema("apps", "v1", "ControllerRevision")
SERVICE = schema("", "v1", "Service")


def deployment(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "x",
                            "resources": {"limits": {"cpu": "500m", "memory": 1024}},
                        },
                        {"name": "b", "image": "y", **container},
                    ]
                },
            },
        },
    }


@pytest.mark.parametrize(
    ("change", "unknown"),
    [
        pytest.param(lambda o: None, [], id="clean"),
        pytest.param(lambda o: o["spec"].update(foo=1), ["spec.foo"], id="spec-field"),
        pytest.param(lambda o: o.update(extra={}), ["extra"], id="top-level"),
        pytest.param(
            lambda o: o["spec"]["template"]["spec"]["containers"][1].update(imagePullPolicyX="x"),
            ["spec.template.spec.containers[1].imagePullPolicyX"],
            id="in-a-list-item",
        ),
        pytest.param(
            lambda o: (o["metadata"].update(foo=1), o["spec"].update(bar=2)),
            ["metadata.foo", "spec.bar"],
            id="several-in-document-order",
        ),
        pytest.param(
            lambda o: o["spec"]["template"]["spec"]["containers"][0]["resources"].update(limit={}),
            ["spec.template.spec.containers[0].resources.limit"],
            id="nested",
        ),
    ],
)
def test_unknown_fields_are_found_and_pruned(change: Any, unknown: list[str]) -> None:
    obj = deployment()
    change(obj)
    findings = find_problems(obj, DEPLOYMENT)
    assert findings.unknown == unknown
    assert findings.type_error is None
    assert obj == deployment()


def test_warn_returns_warnings_and_prunes() -> None:
    obj = deployment(imagePullPolicyX="x")
    obj["spec"]["foo"] = 1
    # In document order: "foo" comes after "template" in the body.
    assert check_fields(obj, DEPLOYMENT, mode=WARN) == [
        'unknown field "spec.template.spec.containers[1].imagePullPolicyX"',
        'unknown field "spec.foo"',
    ]
    assert obj == deployment()


def test_ignore_prunes_silently() -> None:
    obj = deployment(imagePullPolicyX="x")
    assert check_fields(obj, DEPLOYMENT, mode=IGNORE) == []
    assert obj == deployment()


def test_strict_is_a_bad_request_naming_every_field() -> None:
    obj = deployment(imagePullPolicyX="x")
    obj["spec"]["foo"] = 1
    with pytest.raises(errors.BadRequest) as failure:
        check_fields(obj, DEPLOYMENT, mode=STRICT)
    assert failure.value.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
        'error: unknown field "spec.template.spec.containers[1].imagePullPolicyX", '
        'unknown field "spec.foo"',
        "reason": "BadRequest",
        "code": 400,
    }


def test_strict_reports_duplicates_first() -> None:
    obj = deployment()
    obj["spec"]["foo"] = 1
    with pytest.raises(errors.BadRequest) as failure:
        check_fields(obj, DEPLOYMENT, mode=STRICT, duplicates=['duplicate field "metadata.name"'])
    assert failure.value.message.endswith(
        'strict decoding error: duplicate field "metadata.name", unknown field "spec.foo"'
    )


def test_a_clean_object_passes_strict() -> None:
    assert check_fields(deployment(), DEPLOYMENT, mode=STRICT) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda o: o["spec"].update(replicas="3"),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
            "type int32",
            id="string-for-int32",
        ),
        pytest.param(
            lambda o: o["spec"].update(replicas=1.5),
            "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas "
            "of type int32",
            id="float-for-int32",
        ),
        pytest.param(
            lambda o: o["spec"].update(replicas=2**31),
            "json: cannot unmarshal number 2147483648 into Go struct field "
            "DeploymentSpec.spec.replicas of type int32",
            id="int32-overflow",
        ),
        pytest.param(
            lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image=3),
            "json: cannot unmarshal number into Go struct field "
            "Container.spec.template.spec.containers.image of type string",
            id="number-for-string",
        ),
        pytest.param(
            lambda o: o["spec"].update(paused="yes"),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of "
            "type bool",
            id="string-for-bool",
        ),
        pytest.param(
            lambda o: o["spec"]["template"]["spec"].update(containers={}),
            "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec."
            "containers of type []v1.Container",
            id="object-for-array",
        ),
        pytest.param(
            lambda o: o["spec"].update(template=[]),
            "json: cannot unmarshal array into Go struct field DeploymentSpec.spec.template of "
            "type v1.PodTemplateSpec",
            id="array-for-struct",
        ),
        pytest.param(
            lambda o: o["metadata"]["labels"].update(app=1),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of "
            "type string",
            id="map-value",
        ),
        pytest.param(
            lambda o: o["spec"]["template"]["spec"]["containers"][0]["resources"].update(
                limits={"cpu": True}
            ),
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            id="quantity",
        ),
        pytest.param(
            lambda o: o["spec"].update(strategy={"rollingUpdate": {"maxSurge": True}}),
            "json: cannot unmarshal bool into Go value of type int32",
            id="int-or-string",
        ),
    ],
)
def test_wrong_types_are_bad_requests_in_every_mode(change: Any, message: str) -> None:
    for mode in (IGNORE, WARN, STRICT):
        obj = deployment()
        change(obj)
        with pytest.raises(errors.BadRequest) as failure:
            check_fields(obj, DEPLOYMENT, mode=mode)
        assert failure.value.message == (
            f'Deployment in version "v1" cannot be handled as a Deployment: {message}'
        )


@pytest.mark.parametrize(
    "value",
    [None, {"any": ["thing", 1, {"x": None}]}],
    ids=["null", "anything"],
)
def test_nulls_and_any_nodes_are_accepted(value: Any) -> None:
    revision = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "r"},
        "revision": 1,
        "data": value,
    }
    before = copy.deepcopy(revision)
    assert check_fields(revision, REVISION, mode=STRICT) == []
    assert revision == before


def test_int_or_string_and_quantities_take_their_forms() -> None:
    obj = deployment()
    obj["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}
    assert check_fields(obj, DEPLOYMENT, mode=STRICT) == []
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": "http"}]},
    }
    assert check_fields(svc, SERVICE, mode=STRICT) == []


def test_byte_fields() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": 1}}
    with pytest.raises(errors.BadRequest) as failure:
        check_fields(secret, SECRET, mode=IGNORE)
    assert failure.value.message.endswith(
        "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"
    )


def test_patched_objects_are_invalid_on_the_patch_field() -> None:
    obj = deployment()
    obj["spec"]["foo"] = 1
    with pytest.raises(errors.Invalid) as failure:
        check_patched_fields(obj, DEPLOYMENT, mode=STRICT, patch_value='{"spec":{"foo":1}}')
    body = failure.value.status()
    assert body["code"] == 422
    assert body["message"] == (
        ' "" is invalid: patch: Invalid value: "{\\"spec\\":{\\"foo\\":1}}": strict decoding '
        'error: unknown field "spec.foo"'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "{\\"spec\\":{\\"foo\\":1}}": strict decoding error: unknown '
            'field "spec.foo"',
            "field": "patch",
        }
    ]


def test_patched_objects_warn_and_prune() -> None:
    obj = deployment()
    obj["spec"]["foo"] = 1
    assert check_patched_fields(obj, DEPLOYMENT, mode=WARN, patch_value="{}") == [
        'unknown field "spec.foo"'
    ]
    assert obj == deployment()


@pytest.mark.parametrize(
    ("body", "found"),
    [
        pytest.param(b'{"a":1}', [], id="none"),
        pytest.param(
            b'{"metadata":{"name":"a","name":"b"}}',
            ['duplicate field "metadata.name"'],
            id="nested",
        ),
        pytest.param(b'{"kind":"a","kind":"b"}', ['duplicate field "kind"'], id="top-level"),
        pytest.param(
            b'{"spec":{"containers":[{"name":"a"},{"name":"b","name":"c"}]}}',
            ['duplicate field "spec.containers[1].name"'],
            id="in-list",
        ),
    ],
)
def test_duplicate_json_fields(body: bytes, found: list[str]) -> None:
    assert find_duplicate_fields_json(body) == found


def test_duplicate_yaml_keys() -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata:\n  x: '1'\n  x: '2'\n"
    assert find_duplicate_fields_yaml(body) == [
        "error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 5: key "name" already set in map\n'
        '  line 8: key "x" already set in map'
    ]
    assert find_duplicate_fields_yaml(b"a: 1\nb: 2\n") == []


@pytest.mark.parametrize(
    ("value", "directive"),
    [(None, WARN), ("", WARN), ("Ignore", IGNORE), ("Warn", WARN), ("Strict", STRICT)],
)
def test_directives(value: str | None, directive: str) -> None:
    assert parse_directive(value, options_kind="CreateOptions") == directive


def test_unknown_directive_is_invalid() -> None:
    with pytest.raises(errors.Invalid) as failure:
        parse_directive("strict", options_kind="PatchOptions")
    assert failure.value.message == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )


def test_configmap_is_checked() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "1"},
        "datum": {},
    }
    assert check_fields(cm, CONFIGMAP, mode=WARN) == ['unknown field "datum"']
