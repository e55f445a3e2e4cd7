"""JSON patch as kube-apiserver applies it (evanphx/json-patch v4)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pilothouse.api import errors
from pilothouse.api.patch import apply_json_patch
from pilothouse.api.patch.jsonpatch import MAX_OPERATIONS, PatchFailure
from pilothouse.api.patch.status import REJECTED


def pod() -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "labels": {"app": "web", "a/b": "1", "c~d": "2"}},
        "spec": {
            "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
            "replicas": 3,
            "flag": True,
            "nothing": None,
        },
    }


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/tier", "value": "front"}],
            lambda o: o["metadata"]["labels"].update(tier="front"),
            id="add-to-object",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/1", "value": {"name": "x"}}],
            lambda o: o["spec"]["containers"].insert(1, {"name": "x"}),
            id="add-inserts-at-index",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/-", "value": {"name": "x"}}],
            lambda o: o["spec"]["containers"].append({"name": "x"}),
            id="add-dash-appends",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/2", "value": {"name": "x"}}],
            lambda o: o["spec"]["containers"].append({"name": "x"}),
            id="add-at-length-appends",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/-1", "value": {"name": "x"}}],
            lambda o: o["spec"]["containers"].append({"name": "x"}),
            id="add-negative-index-counts-from-the-new-end",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/a~1b", "value": "9"}],
            lambda o: o["metadata"]["labels"].update({"a/b": "9"}),
            id="pointer-slash-escape",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/labels/c~0d"}],
            lambda o: o["metadata"]["labels"].pop("c~d"),
            id="pointer-tilde-escape",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/containers/0"}],
            lambda o: o["spec"]["containers"].pop(0),
            id="remove-from-array",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/containers/-1"}],
            lambda o: o["spec"]["containers"].pop(),
            id="remove-negative-index",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/replicas", "value": 5}],
            lambda o: o["spec"].update(replicas=5),
            id="replace",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/missing", "value": 1}],
            lambda o: o["spec"].update(missing=1),
            id="replace-of-a-missing-key-adds-it",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/containers/0/image", "value": "9"}],
            lambda o: o["spec"]["containers"][0].update(image="9"),
            id="replace-in-array-item",
        ),
        pytest.param(
            [{"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/name"}],
            lambda o: o["metadata"]["labels"].update(name=o["metadata"]["labels"].pop("app")),
            id="move",
        ),
        pytest.param(
            [{"op": "move", "from": "/spec/containers/0", "path": "/spec/containers/-"}],
            lambda o: o["spec"]["containers"].append(o["spec"]["containers"].pop(0)),
            id="move-within-array",
        ),
        pytest.param(
            [{"op": "copy", "from": "/spec/containers/0", "path": "/spec/containers/-"}],
            lambda o: o["spec"]["containers"].append({"name": "a", "image": "1"}),
            id="copy",
        ),
        pytest.param(
            [{"op": "copy", "from": "/spec/absent", "path": "/spec/copied"}],
            lambda o: o["spec"].update(copied=None),
            id="copy-of-a-missing-key-copies-null",
        ),
        pytest.param(
            [
                {"op": "test", "path": "/spec/replicas", "value": 3},
                {"op": "replace", "path": "/spec/replicas", "value": 4},
            ],
            lambda o: o["spec"].update(replicas=4),
            id="test-then-replace",
        ),
        pytest.param(
            [
                {
                    "op": "test",
                    "path": "/spec/containers/0",
                    "value": {"name": "a", "image": "1", "extra": 1},
                }
            ],
            lambda o: None,
            id="test-compares-objects-on-the-document-keys",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/absent", "value": None}],
            lambda o: None,
            id="test-null-against-missing-passes",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/nothing", "value": None}],
            lambda o: None,
            id="test-null-against-null-passes",
        ),
        pytest.param(
            [{"op": "add", "path": "spec/replicas", "value": 7}],
            lambda o: o.update(replicas=7),
            id="relative-path-addresses-the-root-by-last-segment",
        ),
        pytest.param(
            [{"op": "replace", "path": "", "value": {"kind": "X"}}],
            lambda o: (o.clear(), o.update(kind="X")),
            id="replace-the-whole-document",
        ),
        pytest.param(None, lambda o: None, id="null-patch-is-empty"),
        pytest.param([], lambda o: None, id="empty-patch"),
    ],
)
def test_operations(operations: Any, expected: Any) -> None:
    want = pod()
    expected(want)
    assert apply_json_patch(pod(), operations) == want


@pytest.mark.parametrize(
    ("operations", "cause"),
    [
        pytest.param(
            [{"op": "test", "path": "/spec/replicas", "value": 4}],
            "testing value /spec/replicas failed: test failed",
            id="failed-test",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/replicas", "value": 3.0}],
            "testing value /spec/replicas failed: test failed",
            id="test-compares-json-text",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/flag", "value": 1}],
            "testing value /spec/flag failed: test failed",
            id="test-bool-is-not-a-number",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/absent/x", "value": 1}],
            'add operation does not apply: doc is missing path: "/spec/absent/x": missing value',
            id="add-under-missing-parent",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/replicas/x", "value": 1}],
            'add operation does not apply: doc is missing path: "/spec/replicas/x": missing value',
            id="add-under-a-scalar",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/3", "value": 1}],
            "error in add for path: '/spec/containers/3': Unable to access invalid index: 3: "
            "invalid index referenced",
            id="add-past-the-end",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/x", "value": 1}],
            "error in add for path: '/spec/containers/x': value was not a proper array index: "
            "'x': strconv.Atoi: parsing \"x\": invalid syntax",
            id="add-bad-index",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/labels/nope"}],
            "error in remove for path: '/metadata/labels/nope': Unable to remove nonexistent "
            "key: nope: missing value",
            id="remove-missing-key",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/containers/2"}],
            "error in remove for path: '/spec/containers/2': Unable to access invalid index: 2: "
            "invalid index referenced",
            id="remove-past-the-end",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/containers/5", "value": 1}],
            "replace operation does not apply: doc is missing key: /spec/containers/5: "
            "missing value",
            id="replace-past-the-end",
        ),
        pytest.param(
            [{"op": "move", "from": "/spec/nope", "path": "/spec/x"}],
            "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
            id="move-missing",
        ),
        pytest.param(
            [{"op": "add", "value": 1}],
            "add operation failed to decode path: missing value",
            id="missing-path",
        ),
        pytest.param(
            [{"op": "frobnicate", "path": "/x"}], "Unexpected kind: frobnicate", id="bad-op"
        ),
        pytest.param([{"path": "/x"}], "Unexpected kind: unknown", id="missing-op"),
        pytest.param([None], "Unexpected kind: unknown", id="null-operation"),
        pytest.param(
            [
                {"op": "add", "path": "/spec/replicas", "value": 5},
                {"op": "test", "path": "/spec/replicas", "value": 3},
            ],
            "testing value /spec/replicas failed: test failed",
            id="later-test-sees-earlier-ops",
        ),
    ],
)
def test_failures_are_the_generic_422(operations: list[Any], cause: str) -> None:
    with pytest.raises(errors.Invalid) as failure:
        apply_json_patch(pod(), operations)
    assert failure.value.message == REJECTED
    assert failure.value.status()["reason"] == "Invalid"
    assert failure.value.code == 422
    assert isinstance(failure.value.__cause__, PatchFailure)
    assert str(failure.value.__cause__) == cause


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        pytest.param(
            {"op": "add"},
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
            id="object",
        ),
        pytest.param(
            "x", "json: cannot unmarshal string into Go value of type jsonpatch.Patch", id="string"
        ),
        pytest.param(
            [1],
            "json: cannot unmarshal number into Go value of type jsonpatch.Operation",
            id="number-op",
        ),
        pytest.param(
            [[]],
            "json: cannot unmarshal array into Go value of type jsonpatch.Operation",
            id="array-op",
        ),
    ],
)
def test_malformed_patches_are_bad_requests(patch: Any, message: str) -> None:
    with pytest.raises(errors.BadRequest) as failure:
        apply_json_patch(pod(), patch)
    assert failure.value.message == message


def test_too_many_operations() -> None:
    operations = [{"op": "test", "path": "/spec/replicas", "value": 3}] * (MAX_OPERATIONS + 1)
    with pytest.raises(errors.RequestEntityTooLarge) as failure:
        apply_json_patch(pod(), operations)
    assert failure.value.message == (
        f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, "
        f"got {MAX_OPERATIONS + 1}"
    )


def test_copies_are_limited_in_size() -> None:
    big = {"spec": {"blob": "x" * (1024 * 1024)}}
    operations = [{"op": "copy", "from": "/spec/blob", "path": f"/spec/c{i}"} for i in range(4)]
    with pytest.raises(errors.Invalid) as failure:
        apply_json_patch(big, operations)
    assert "exceeding the limit 3145728" in str(failure.value.__cause__)


def test_inputs_are_not_mutated_and_values_are_not_shared() -> None:
    doc, operations = (
        pod(),
        [
            {"op": "add", "path": "/spec/new", "value": {"k": [1]}},
            {"op": "add", "path": "/spec/new/k/-", "value": 2},
        ],
    )
    before = (copy.deepcopy(doc), copy.deepcopy(operations))
    result = apply_json_patch(doc, operations)
    assert result["spec"]["new"] == {"k": [1, 2]}
    assert (doc, operations) == before


def test_kubectl_rollout_undo_replaces_the_template() -> None:
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "a", "image": "old"}]},
    }
    deployment = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "new"}]}}}}
    result = apply_json_patch(
        deployment, [{"op": "replace", "path": "/spec/template", "value": template}]
    )
    assert result["spec"]["template"] == template
