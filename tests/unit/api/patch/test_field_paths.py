"""Field paths, field sets and their FieldsV1 form, as structured-merge-diff defines them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pilothouse.api.patch import fieldpath
from pilothouse.api.patch.fieldpath import (
    FieldsV1Error,
    field,
    from_fields_v1,
    index_element,
    iterate,
    key_element,
    path_of,
    path_string,
    recursive_difference,
    to_fields_v1,
    value_element,
)

CONTAINER = key_element({"name": "nginx"})
PORT = key_element({"protocol": "TCP", "containerPort": 80})


@pytest.mark.parametrize(
    ("element", "text", "string"),
    [
        pytest.param(field("spec"), "f:spec", ".spec", id="field"),
        pytest.param(CONTAINER, 'k:{"name":"nginx"}', '[name="nginx"]', id="key"),
        pytest.param(
            PORT,
            'k:{"containerPort":80,"protocol":"TCP"}',
            '[containerPort=80,protocol="TCP"]',
            id="key-fields-sorted",
        ),
        pytest.param(value_element("a<b"), 'v:"a\\u003cb"', '[="a<b"]', id="value-go-escaped"),
        pytest.param(value_element(1.5), "v:1.5", "[=1.5]", id="float-value"),
        pytest.param(value_element(True), "v:true", "[=true]", id="bool-value"),
        pytest.param(index_element(3), "i:3", "[3]", id="index"),
    ],
)
def test_element_forms(element: Any, text: str, string: str) -> None:
    assert fieldpath.element_text(element) == text
    assert fieldpath.parse_element(text) == element
    assert path_string((element,)) == string


def test_parsing_normalizes_key_order_and_spacing() -> None:
    assert fieldpath.parse_element('k:{ "protocol": "TCP", "containerPort": 80 }') == PORT


@pytest.mark.parametrize("text", ["x:1", "nocolon", "z:{}"])
def test_unknown_element_kinds_are_skipped(text: str) -> None:
    assert fieldpath.parse_element(text) is None


@pytest.mark.parametrize("text", ["k:{bad", "k:[1]", "v:{", "i:x"])
def test_malformed_elements_are_errors(text: str) -> None:
    with pytest.raises(FieldsV1Error):
        fieldpath.parse_element(text)


CONTAINERS = path_of("spec", "template", "spec", "containers")
SET = frozenset(
    [
        path_of("metadata", "labels"),
        path_of("metadata", "labels", "app"),
        path_of("spec", "replicas"),
        (*CONTAINERS, CONTAINER),
        (*CONTAINERS, CONTAINER, field("image")),
        (*CONTAINERS, CONTAINER, field("name")),
        (*CONTAINERS, CONTAINER, field("ports"), PORT),
        (*CONTAINERS, CONTAINER, field("ports"), PORT, field("containerPort")),
        (*path_of("metadata", "finalizers"), value_element("b")),
        (*path_of("metadata", "finalizers"), value_element("a")),
    ]
)
FIELDS_V1 = (
    '{"f:metadata":{"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}},'
    '"f:labels":{".":{},"f:app":{}}},'
    '"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{'
    '"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{'
    '"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}'
)


def test_fields_v1_serialization_is_byte_exact() -> None:
    assert orjson.dumps(to_fields_v1(SET)).decode() == FIELDS_V1


def test_fields_v1_round_trip() -> None:
    assert from_fields_v1(orjson.loads(FIELDS_V1)) == SET


def test_fields_v1_orders_fields_keys_values_then_indices() -> None:
    paths = frozenset([(index_element(0),), (value_element("x"),), (CONTAINER,), (field("z"),)])
    assert list(to_fields_v1(paths)) == ["f:z", 'k:{"name":"nginx"}', 'v:"x"', "i:0"]


def test_fields_v1_orders_values_numbers_strings_booleans() -> None:
    paths = frozenset((value_element(v),) for v in ["b", True, 10, "a", 2.5, False])
    assert list(to_fields_v1(paths)) == ["v:2.5", "v:10", 'v:"a"', 'v:"b"', "v:false", "v:true"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param({}, frozenset(), id="empty"),
        pytest.param({"f:a": {}}, frozenset([path_of("a")]), id="leaf"),
        pytest.param(
            {"f:a": {".": {}, "f:b": {}}},
            frozenset([path_of("a"), path_of("a", "b")]),
            id="member-with-children",
        ),
        pytest.param({"f:a": {"f:b": {}}}, frozenset([path_of("a", "b")]), id="children-only"),
        pytest.param({"f:a": {"x:future": {}}}, frozenset([path_of("a")]), id="unknown-child"),
    ],
)
def test_reading_fields_v1(document: dict[str, Any], expected: frozenset[Any]) -> None:
    assert from_fields_v1(document) == expected


@pytest.mark.parametrize("document", [[], {"f:a": 1}, {"f:a": {"k:nope": {}}}])
def test_malformed_fields_v1(document: Any) -> None:
    with pytest.raises(FieldsV1Error):
        from_fields_v1(document)


def test_iteration_lists_members_before_children() -> None:
    paths = frozenset([path_of("a", "b"), path_of("c"), path_of("a", "a")])
    assert [path_string(p) for p in iterate(paths)] == [".c", ".a.a", ".a.b"]


def test_recursive_difference_drops_whole_subtrees() -> None:
    paths = frozenset([path_of("status"), path_of("status", "phase"), path_of("spec", "x")])
    assert recursive_difference(paths, frozenset([path_of("status")])) == frozenset(
        [path_of("spec", "x")]
    )
