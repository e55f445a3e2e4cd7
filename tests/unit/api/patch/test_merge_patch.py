"""JSON merge patch as kube-apiserver applies it (evanphx/json-patch MergePatch)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pilothouse.api import errors
from pilothouse.api.patch import apply_merge_patch
from pilothouse.api.patch.mergepatch import BAD_PATCH


@pytest.mark.parametrize(
    ("doc", "patch", "expected"),
    [
        # RFC 7386 appendix A.
        pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="rfc-replace"),
        pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="rfc-add"),
        pytest.param({"a": "b"}, {"a": None}, {}, id="rfc-delete"),
        pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="rfc-delete-one"),
        pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="rfc-array-by-scalar"),
        pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="rfc-scalar-by-array"),
        pytest.param(
            {"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}, id="rfc-nested"
        ),
        pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="rfc-arrays-replace"),
        pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="rfc-existing-null-stays"),
        pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="rfc-nulls-pruned"),
        # evanphx specifics.
        pytest.param(
            {"a": "x"},
            {"a": {"b": None, "c": 1}},
            {"a": {"c": 1}},
            id="object-over-scalar-is-pruned",
        ),
        pytest.param(
            {"a": {"b": 1}},
            {"a": [{"x": None}]},
            {"a": [{"x": None}]},
            id="array-over-object-keeps-nulls",
        ),
        pytest.param({}, {"a": [None, {"b": None}]}, {"a": [None, {}]}, id="array-nulls-stay"),
        pytest.param(
            {"metadata": {"labels": {"app": "web", "tier": "x"}}},
            {"metadata": {"labels": {"tier": None, "new": "1"}}},
            {"metadata": {"labels": {"app": "web", "new": "1"}}},
            id="kubectl-label",
        ),
    ],
)
def test_merge(doc: dict[str, Any], patch: Any, expected: Any) -> None:
    before = (copy.deepcopy(doc), copy.deepcopy(patch))
    assert apply_merge_patch(doc, patch) == expected
    assert (doc, patch) == before


def test_an_array_patch_replaces_the_document() -> None:
    assert apply_merge_patch({"a": 1}, [{"b": None}, None]) == [{}, None]


@pytest.mark.parametrize("patch", [None, "x", 1, True], ids=["null", "string", "number", "bool"])
def test_a_null_or_scalar_patch_is_a_bad_request(patch: Any) -> None:
    with pytest.raises(errors.BadRequest) as failure:
        apply_merge_patch({"a": 1}, patch)
    assert failure.value.message == BAD_PATCH == "Invalid JSON Patch"
