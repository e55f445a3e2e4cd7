"""The JSON kube-apiserver returns for ``as=Table`` and ``as=PartialObjectMetadataList``: the
envelope, includeObject, list metadata, noHeaders, the default table, and ages printed with
``duration.HumanDuration`` (cases of apimachinery's duration_test.go)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tables_support import NOW, REGISTRY, obj

from pilothouse.api import errors
from pilothouse.api.resources import ResourceType
from pilothouse.api.tables import (
    human_duration,
    partial_object_metadata,
    partial_object_metadata_list,
    to_table,
)

CONFIG_MAPS = REGISTRY.get("", "v1", "configmaps")
ROLES = REGISTRY.get("rbac.authorization.k8s.io", "v1", "roles")
WIDGETS = ResourceType("example.com", "v1", "Widget", "widgets", True)


def config_map(name: str, version: str = "7") -> dict[str, Any]:
    item = obj(name, data={"k": "v"}, apiVersion="v1", kind="ConfigMap")
    item["metadata"].update(
        namespace="default",
        resourceVersion=version,
        uid="u-" + name,
        labels={"app": "web"},
        managedFields=[{"manager": "kubectl", "operation": "Apply"}],
    )
    return item


def test_table_envelope() -> None:
    items = [config_map("a"), config_map("b")]
    table = to_table(
        CONFIG_MAPS, items, now=NOW, list_meta={"resourceVersion": "42", "continue": "tok"}
    )
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42", "continue": "tok"}
    assert table["columnDefinitions"][0] == {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": table["columnDefinitions"][0]["description"],
        "priority": 0,
    }
    assert [r["cells"] for r in table["rows"]] == [["a", 1, "5h"], ["b", 1, "5h"]]


def test_rows_carry_partial_object_metadata_by_default() -> None:
    item = config_map("a")
    row = to_table(CONFIG_MAPS, [item], now=NOW)["rows"][0]
    assert list(row) == ["cells", "object"]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": item["metadata"],
    }
    # The metadata is a copy: rendering never aliases the caller's object.
    assert row["object"]["metadata"] is not item["metadata"]


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        pytest.param("", "PartialObjectMetadata", id="empty-means-metadata"),
        pytest.param("Metadata", "PartialObjectMetadata", id="metadata"),
        pytest.param("Object", "ConfigMap", id="object"),
        pytest.param("None", None, id="none-is-null"),
    ],
)
def test_include_object(include: str, expected: str | None) -> None:
    row = to_table(CONFIG_MAPS, [config_map("a")], include_object=include, now=NOW)["rows"][0]
    assert "object" in row
    assert (row["object"] or {}).get("kind") == expected


def test_unknown_include_object_is_a_bad_request() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        to_table(CONFIG_MAPS, [], include_object="Everything")
    assert caught.value.message == 'unrecognized includeObject value: "Everything"'


@pytest.mark.parametrize(
    ("list_meta", "items", "metadata"),
    [
        pytest.param(None, [config_map("a", "9")], {"resourceVersion": "9"}, id="single-get"),
        pytest.param(None, [], {}, id="nothing"),
        pytest.param({"resourceVersion": ""}, [config_map("a", "9")], {}, id="empty-list-rv"),
        pytest.param(
            {"resourceVersion": "5", "continue": "", "remainingItemCount": 0},
            [],
            {"resourceVersion": "5", "remainingItemCount": 0},
            id="remaining-zero-kept",
        ),
        pytest.param(
            {"resourceVersion": "5", "continue": "c", "remainingItemCount": 12},
            [config_map("a"), config_map("b")],
            {"resourceVersion": "5", "continue": "c", "remainingItemCount": 12},
            id="paged-list",
        ),
    ],
)
def test_table_metadata(list_meta: dict | None, items: list[dict], metadata: dict) -> None:
    assert to_table(CONFIG_MAPS, items, now=NOW, list_meta=list_meta)["metadata"] == metadata


def test_no_headers_leaves_column_definitions_null() -> None:
    table = to_table(CONFIG_MAPS, [config_map("a")], now=NOW, no_headers=True)
    assert table["columnDefinitions"] is None
    assert table["rows"][0]["cells"] == ["a", 1, "5h"]


def test_rows_keep_the_order_given() -> None:
    names = ["c", "a", "b"]
    table = to_table(CONFIG_MAPS, [config_map(n) for n in names], now=NOW)
    assert [r["cells"][0] for r in table["rows"]] == names
    assert to_table(CONFIG_MAPS, [], now=NOW)["rows"] == []


@pytest.mark.parametrize("resource", [ROLES, WIDGETS], ids=["role", "custom-resource"])
def test_default_table(resource: ResourceType) -> None:
    item = obj("reader", age=None)
    item["metadata"]["creationTimestamp"] = "2024-04-30T22:15:09Z"
    table = to_table(resource, [item, obj("unset", age=None)], now=NOW)
    assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [
        ("Name", "string"),
        ("Created At", "date"),
    ]
    assert [r["cells"] for r in table["rows"]] == [
        ["reader", "2024-04-30T22:15:09Z"],
        ["unset", "0001-01-01T00:00:00Z"],
    ]
    # Upstream's default convertor leaves the rows of an empty list null.
    assert to_table(resource, [], now=NOW)["rows"] is None


def test_table_for_meta_v1beta1() -> None:
    table = to_table(CONFIG_MAPS, [config_map("a")], now=NOW, api_version="meta.k8s.io/v1beta1")
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


def test_partial_object_metadata() -> None:
    item = config_map("a")
    assert partial_object_metadata(item) == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": item["metadata"],
    }


def test_partial_object_metadata_list() -> None:
    items = [config_map("a"), config_map("b")]
    listed = partial_object_metadata_list(
        items, {"resourceVersion": "12", "continue": "next", "remainingItemCount": 3}
    )
    assert listed["kind"] == "PartialObjectMetadataList"
    assert listed["apiVersion"] == "meta.k8s.io/v1"
    assert listed["metadata"] == {
        "resourceVersion": "12",
        "continue": "next",
        "remainingItemCount": 3,
    }
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]
    assert all(i["kind"] == "PartialObjectMetadata" for i in listed["items"])
    # An empty list's items are null, as upstream's nil slice serializes.
    assert partial_object_metadata_list([], {"resourceVersion": "12"})["items"] is None


@pytest.mark.parametrize(
    ("elapsed", "text"),
    [
        pytest.param(timedelta(seconds=1), "1s", id="1s"),
        pytest.param(timedelta(seconds=70), "70s", id="70s"),
        pytest.param(timedelta(seconds=119), "119s", id="119s"),
        pytest.param(timedelta(seconds=120), "2m", id="2m"),
        pytest.param(timedelta(seconds=190), "3m10s", id="3m10s"),
        pytest.param(timedelta(minutes=70), "70m", id="70m"),
        pytest.param(timedelta(minutes=179), "179m", id="179m"),
        pytest.param(timedelta(hours=3), "3h", id="3h"),
        pytest.param(timedelta(hours=3, minutes=5), "3h5m", id="3h5m"),
        pytest.param(timedelta(hours=47), "47h", id="47h"),
        pytest.param(timedelta(hours=49), "2d1h", id="2d1h"),
        pytest.param(timedelta(hours=8 * 24 + 2), "8d", id="8d"),
        pytest.param(timedelta(hours=367 * 24), "367d", id="367d"),
        pytest.param(timedelta(hours=365 * 2 * 24 + 25), "2y1d", id="2y1d"),
        pytest.param(timedelta(hours=365 * 8 * 24 + 2), "8y", id="8y"),
        pytest.param(timedelta(milliseconds=500), "0s", id="sub-second"),
        pytest.param(timedelta(seconds=-1.5), "0s", id="slightly-in-the-future"),
        pytest.param(timedelta(seconds=-2.5), "<invalid>", id="in-the-future"),
    ],
)
def test_human_duration(elapsed: timedelta, text: str) -> None:
    assert human_duration(elapsed.total_seconds()) == text
