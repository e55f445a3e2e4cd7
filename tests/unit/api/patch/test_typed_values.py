"""Schema-driven walks of structured-merge-diff: merge, field sets, comparison, removal.

The merge triplets are structured-merge-diff's (typed/merge_test.go), on the same schema
written as OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from pilothouse.api.patch import typed
from pilothouse.api.patch.fieldpath import (
    field,
    key_element,
    path_of,
    path_string,
    value_element,
)
from pilothouse.api.schema import Schemas


def _set(item_type: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": item_type}, "x-kubernetes-list-type": "set"}


ROOT = Schemas(
    {
        "myRoot": {
            "type": "object",
            "properties": {
                "list": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/myElement"},
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["key", "id"],
                },
                "atomicList": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-list-type": "atomic",
                },
                "setStr": _set("string"),
                "setBool": _set("boolean"),
                "setNumeric": _set("number"),
                "inner": {"type": "object", "additionalProperties": {"type": "string"}},
                "atomicMap": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "x-kubernetes-map-type": "atomic",
                },
                "struct": {"$ref": "#/$defs/myElement"},
                "raw": {"$ref": "#/$defs/io.k8s.apimachinery.pkg.runtime.RawExtension"},
                "numeric": {"type": "number"},
                "string": {"type": "string"},
                "bool": {"type": "boolean"},
            },
        },
        "myElement": {
            "type": "object",
            "properties": {
                "key": {"type": "string"},
                "id": {"type": "number"},
                "value": {"type": "object", "additionalProperties": {"type": "string"}},
                "bv": {"type": "boolean"},
                "nv": {"type": "number"},
            },
        },
        "io.k8s.apimachinery.pkg.runtime.RawExtension": {"type": "object"},
    }
).definition("myRoot")


def item(key: str, id_: int, **rest: Any) -> dict[str, Any]:
    return {"key": key, "id": id_, **rest}


MERGES = [
    ({"numeric": 1}, {"numeric": 3.14159}, {"numeric": 3.14159}),
    ({"string": "aoeu"}, {"bool": True}, {"string": "aoeu", "bool": True}),
    ({"setStr": ["a", "b", "c"]}, {"setStr": ["a", "b"]}, {"setStr": ["a", "b", "c"]}),
    ({"setStr": ["a", "b"]}, {"setStr": ["a", "b", "c"]}, {"setStr": ["a", "b", "c"]}),
    ({"setStr": ["a", "b", "c"]}, {"setStr": []}, {"setStr": ["a", "b", "c"]}),
    ({"setStr": []}, {"setStr": ["a", "b", "c"]}, {"setStr": ["a", "b", "c"]}),
    ({"setStr": ["a", "b"]}, {"setStr": ["b", "a"]}, {"setStr": ["b", "a"]}),
    (
        {"setStr": ["a", "b", "c"]},
        {"setStr": ["d", "e", "f"]},
        {"setStr": ["a", "b", "c", "d", "e", "f"]},
    ),
    ({"setBool": [True]}, {"setBool": [False]}, {"setBool": [True, False]}),
    (
        {"setNumeric": [1, 2, 3.14159]},
        {"setNumeric": [1, 2, 3]},
        {"setNumeric": [1, 2, 3.14159, 3]},
    ),
    (
        {"setStr": ["c", "a", "g", "f"]},
        {"setStr": ["c", "f", "a", "g"]},
        {"setStr": ["c", "f", "a", "g"]},
    ),
    (
        {"setStr": ["a", "b", "c", "d"]},
        {"setStr": ["d", "e", "f", "a"]},
        {"setStr": ["b", "c", "d", "e", "f", "a"]},
    ),
    ({"setStr": ["a", "b", "b"]}, {"setStr": ["c"]}, {"setStr": ["a", "b", "b", "c"]}),
    ({"setStr": ["a", "b", "b"]}, {"setStr": ["b"]}, {"setStr": ["a", "b"]}),
    (
        {"setStr": ["a", "a", "b", "b"]},
        {"setStr": ["b", "c", "d"]},
        {"setStr": ["a", "a", "b", "c", "d"]},
    ),
    ({"setStr": ["a", "a", "b", "b"]}, {"setStr": []}, {"setStr": ["a", "a", "b", "b"]}),
    (
        {"list": [item("a", 1, value={"a": "a"})]},
        {"list": [item("a", 1, value={"a": "a"})]},
        {"list": [item("a", 1, value={"a": "a"})]},
    ),
    (
        {"list": [item("a", 1, value={"a": "a"})]},
        {"list": [item("a", 2, value={"a": "a"})]},
        {"list": [item("a", 1, value={"a": "a"}), item("a", 2, value={"a": "a"})]},
    ),
    (
        {"list": [item("b", 2)]},
        {"list": [item("a", 1), item("b", 2), item("c", 3)]},
        {"list": [item("a", 1), item("b", 2), item("c", 3)]},
    ),
    (
        {"list": [item("a", 1), item("b", 2), item("c", 3)]},
        {"list": [item("c", 3), item("b", 2)]},
        {"list": [item("a", 1), item("c", 3), item("b", 2)]},
    ),
    (
        {"list": [item("a", 1), item("b", 2), item("c", 3)]},
        {"list": [item("c", 3), item("a", 1)]},
        {"list": [item("b", 2), item("c", 3), item("a", 1)]},
    ),
    ({"atomicList": ["a", "a", "a"]}, {"atomicList": None}, {"atomicList": None}),
    ({"atomicList": ["a", "b", "c"]}, {"atomicList": []}, {"atomicList": []}),
    ({"atomicList": ["a", "a", "a"]}, {"atomicList": ["a", "a"]}, {"atomicList": ["a", "a"]}),
    ({}, {"inner": {}}, {"inner": {}}),
    ({}, {"inner": None}, {"inner": None}),
    ({"inner": None}, {"inner": {}}, {"inner": {}}),
    ({"inner": {}}, {"inner": None}, {"inner": None}),
    ({"atomicMap": {"a": "1", "b": "2"}}, {"atomicMap": {"c": "3"}}, {"atomicMap": {"c": "3"}}),
    (
        {"inner": {"a": "1", "b": "2"}},
        {"inner": {"c": "3"}},
        {"inner": {"a": "1", "b": "2", "c": "3"}},
    ),
    (
        {"raw": {"a": {"b": 1}, "l": [1]}},
        {"raw": {"a": {"c": 2}, "l": [2]}},
        {"raw": {"a": {"b": 1, "c": 2}, "l": [2]}},
    ),
]


@pytest.mark.parametrize(("lhs", "rhs", "out"), MERGES, ids=[str(i) for i in range(len(MERGES))])
def test_merge(lhs: Any, rhs: Any, out: Any) -> None:
    assert typed.merge(lhs, rhs, ROOT) == out


SET_A = value_element("a")


@pytest.mark.parametrize(
    ("value", "paths"),
    [
        pytest.param({"numeric": 1}, [".numeric"], id="scalar"),
        pytest.param({"setStr": ["a", "b"]}, ['.setStr[="a"]', '.setStr[="b"]'], id="set-items"),
        pytest.param({"atomicList": ["a"]}, [".atomicList"], id="atomic-list"),
        pytest.param({"atomicMap": {"a": "1"}}, [".atomicMap"], id="atomic-map"),
        pytest.param({"inner": {"a": "1"}}, [".inner.a"], id="map-keys"),
        pytest.param({"inner": {}}, [], id="empty-map"),
        pytest.param({"struct": {"key": "k"}}, [".struct.key"], id="struct-fields-only"),
        pytest.param({"struct": None}, [], id="null-struct"),
        pytest.param(
            {"list": [item("a", 1, bv=True)]},
            [
                '.list[id=1,key="a"]',
                '.list[id=1,key="a"].bv',
                '.list[id=1,key="a"].id',
                '.list[id=1,key="a"].key',
            ],
            id="keyed-items",
        ),
        pytest.param({"raw": {"a": {"b": [1]}}}, [".raw.a", ".raw.a.b"], id="deduced"),
    ],
)
def test_to_field_set(value: Any, paths: list[str]) -> None:
    assert sorted(path_string(p) for p in typed.to_field_set(value, ROOT)) == sorted(paths)


def test_compare() -> None:
    lhs = {"numeric": 1, "string": "x", "inner": {"a": "1"}, "list": [item("a", 1, nv=1)]}
    rhs = {
        "numeric": 2,
        "inner": {"a": "1", "b": "2"},
        "list": [item("a", 1, nv=1), item("b", 2)],
        "setStr": ["a"],
    }
    comparison = typed.compare(lhs, rhs, ROOT)
    assert sorted(path_string(p) for p in comparison.added) == [
        ".inner.b",
        '.list[id=2,key="b"]',
        '.list[id=2,key="b"].id',
        '.list[id=2,key="b"].key',
        ".setStr",
        '.setStr[="a"]',
    ]
    assert sorted(path_string(p) for p in comparison.modified) == [".numeric"]
    assert sorted(path_string(p) for p in comparison.removed) == [".string"]


def test_compare_treats_empty_and_null_containers_as_leaves() -> None:
    comparison = typed.compare({"inner": None}, {"inner": {}}, ROOT)
    assert comparison.modified == frozenset([path_of("inner")])
    assert typed.compare({}, {"inner": {}}, ROOT).added == frozenset([path_of("inner")])


def test_compare_booleans_never_equal_numbers() -> None:
    assert typed.compare({"raw": {"x": 1}}, {"raw": {"x": True}}, ROOT).modified == frozenset(
        [path_of("raw", "x")]
    )


@pytest.mark.parametrize(
    ("value", "paths", "expected"),
    [
        pytest.param(
            {"setBool": [True, False]},
            [path_of("setBool") + (value_element(True),)],
            {"setBool": [False]},
            id="set-item",
        ),
        pytest.param(
            {"setBool": [False], "numeric": 1},
            [path_of("setBool") + (value_element(False),)],
            {"numeric": 1},
            id="emptied-list-disappears",
        ),
        pytest.param(
            {"setNumeric": [1, 2, 3, 4.5]},
            [
                path_of("setNumeric") + (value_element(1),),
                path_of("setNumeric") + (value_element(4.5),),
            ],
            {"setNumeric": [2, 3]},
            id="numbers",
        ),
        pytest.param(
            {"list": [item("a", 1, nv=1), item("b", 2)]},
            [path_of("list") + (key_element({"key": "a", "id": 1}), field("nv"))],
            {"list": [item("a", 1), item("b", 2)]},
            id="field-of-item",
        ),
        pytest.param(
            {"list": [item("a", 1), item("b", 2)]},
            [path_of("list") + (key_element({"key": "b", "id": 2}),)],
            {"list": [item("a", 1)]},
            id="whole-item",
        ),
        pytest.param(
            {"struct": {"key": "k", "nv": 1}},
            [path_of("struct", "nv")],
            {"struct": {"key": "k"}},
            id="struct-field",
        ),
        pytest.param(
            {"inner": {"a": "1"}, "numeric": 1},
            [path_of("inner", "a")],
            {"numeric": 1},
            id="emptied-map-disappears",
        ),
    ],
)
def test_remove_items(value: Any, paths: list[Any], expected: Any) -> None:
    assert typed.remove_items(value, frozenset(paths), ROOT) == expected


def test_named_fields_adds_struct_fields_with_owned_children() -> None:
    paths = frozenset([path_of("struct", "value", "x"), path_of("inner", "a")])
    assert typed.named_fields(paths, ROOT) == paths | {
        path_of("struct"),
        path_of("struct", "value"),
        path_of("inner"),
    }


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param({"nope": 1}, ".nope: field not declared in schema", id="unknown-field"),
        pytest.param(
            {"numeric": "1"}, ".numeric: expected numeric (int or float), got string", id="numeric"
        ),
        pytest.param(
            {"string": 1},
            ".string: expected string, got &value.valueUnstructured{Value:1}",
            id="string",
        ),
        pytest.param(
            {"inner": []}, ".inner: expected map, got &value.valueUnstructured{Value:[]}", id="map"
        ),
        pytest.param(
            {"list": [{"key": "a"}]},
            ".list: element 0: associative list with keys has an element that omits key "
            'field "id" (and doesn\'t have default value)',
            id="missing-key",
        ),
        pytest.param(
            {"list": [item("a", 1), item("a", 1)]},
            '.list: duplicate entries for key [id=1,key="a"]',
            id="duplicate",
        ),
        pytest.param(
            {"setStr": [{"a": 1}]},
            ".setStr: element 0: associative list without keys has an element that's a map type",
            id="map-in-set",
        ),
    ],
)
def test_validate(value: Any, problem: str) -> None:
    assert typed.validate(value, ROOT) == [problem]


def test_validate_accepts_nulls_and_anything_under_any() -> None:
    assert (
        typed.validate({"numeric": None, "raw": {"a": [{"b": None}]}, "struct": None}, ROOT) == []
    )


@pytest.mark.parametrize(
    "value",
    [
        {"struct": {"value": {"x": "1"}, "key": "k"}, "inner": {"a": "1"}},
        {"list": [item("a", 1, value={"b": "2"})], "raw": {"a": {"b": 1}}},
        {"struct": {}, "numeric": 1},
    ],
    ids=["struct", "list-and-any", "empty"],
)
def test_field_sets_with_named_fields_equal_named_fields_of_field_sets(value: Any) -> None:
    plain = typed.to_field_set(value, ROOT)
    assert typed.to_field_set(value, ROOT, named=True) == typed.named_fields(plain, ROOT)
