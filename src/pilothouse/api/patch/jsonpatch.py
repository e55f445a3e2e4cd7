"""JSON patch (RFC 6902) as kube-apiserver applies it with gopkg.in/evanphx/json-patch.v4.

Guarantees (each one is how that library behaves, including where it departs from the RFC):

- Operations ``add``, ``remove``, ``replace``, ``move``, ``copy``, ``test``; JSON pointers
  with ``~1``/``~0`` escapes; ``-`` appends; negative array indices count from the end.
- ``replace`` of a missing object key adds it; ``copy`` from a missing object key copies
  null; ``test`` compares objects by the document's keys only and scalars by their JSON text.
- A path without a leading ``/`` addresses the root's children by its last segment.
- The total size of values added by ``copy`` is limited to 3 MiB (kube-apiserver's
  JSONPatchMaxCopyBytes); a patch has at most 10,000 operations.
- Errors: a patch that is not an array of objects is a 400 with encoding/json's message;
  too many operations a 413; an operation that fails is kube-apiserver's generic 422 ("the
  server rejected our request due to an error in our request"), with the library's message
  as the exception's cause. The input document and patch are never mutated.
"""

from __future__ import annotations

from typing import Any

import orjson

from pilothouse.api import errors
from pilothouse.api.patch import gojson
from pilothouse.api.patch.status import rejected

MAX_OPERATIONS = 10000
MAX_COPY_BYTES = 3 * 1024 * 1024

Container = dict[str, Any] | list[Any]


class PatchFailure(Exception):
    """An operation that cannot be applied (evanphx/json-patch's error text)."""


def apply_json_patch(doc: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply the decoded JSON patch ``patch`` to a copy of ``doc`` and return it."""
    operations = _operations(patch)
    if len(operations) > MAX_OPERATIONS:
        raise errors.RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, "
            f"got {len(operations)}"
        )
    state = _Document(_copy(doc))
    for operation in operations:
        try:
            state.apply(operation)
        except PatchFailure as failure:
            raise rejected() from failure
    return state.root


def _operations(patch: Any) -> list[dict[str, Any] | None]:
    """The operations of a patch, checked as json.Unmarshal into jsonpatch.Patch checks."""
    if patch is None:
        return []
    if not isinstance(patch, list):
        raise errors.BadRequest(
            f"json: cannot unmarshal {gojson.json_kind(patch)} into Go value of type "
            "jsonpatch.Patch"
        )
    for operation in patch:
        if operation is not None and not isinstance(operation, dict):
            raise errors.BadRequest(
                f"json: cannot unmarshal {gojson.json_kind(operation)} into Go value of type "
                "jsonpatch.Operation"
            )
    return _copy(patch)


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _decode_key(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _atoi(key: str) -> int:
    """strconv.Atoi: an optional sign and decimal digits, nothing else."""
    digits = key[1:] if key[:1] in "+-" else key
    if not digits or not digits.isascii() or not digits.isdigit():
        raise PatchFailure(f"strconv.Atoi: parsing {gojson.quote(key)}: invalid syntax")
    return int(key)


def _index(array: list[Any], key: str, *, size: int) -> int:
    """An index into ``array`` (whose valid range is ``size``), negatives from the end."""
    idx = _atoi(key)
    if idx >= size or idx < -size:
        raise PatchFailure(f"Unable to access invalid index: {idx}: invalid index referenced")
    return idx + size if idx < 0 else idx


def _get(container: Container, key: str) -> Any:
    """The value at ``key``; None for a missing object key (as the library does)."""
    if isinstance(container, dict):
        return container.get(key)
    return container[_index(container, key, size=len(container))]


def _add(container: Container, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if key == "-":
        container.append(value)
        return
    try:
        idx = _index(container, key, size=len(container) + 1)
    except PatchFailure as failure:
        if "invalid syntax" in str(failure):
            raise PatchFailure(f"value was not a proper array index: '{key}': {failure}") from None
        raise
    container.insert(idx, value)


def _remove(container: Container, key: str) -> None:
    if isinstance(container, dict):
        if key not in container:
            raise PatchFailure(f"Unable to remove nonexistent key: {key}: missing value")
        del container[key]
        return
    del container[_index(container, key, size=len(container))]


def _json_text(value: Any) -> bytes:
    return gojson.dumps_bytes(value)


def _lazy_equal(current: Any, expected: Any) -> bool:
    """evanphx's lazyNode.equal: objects compare on the current object's keys only; scalars
    compare by their JSON text."""
    if isinstance(current, dict):
        if not isinstance(expected, dict):
            return False
        for key, value in current.items():
            if key not in expected:
                return False
            other = expected[key]
            if value is None and other is None:
                continue
            if value is None or not _lazy_equal(value, other):
                return False
        return True
    if isinstance(current, list):
        if not isinstance(expected, list) or len(current) != len(expected):
            return False
        return all(
            (a is None and b is None) or (a is not None and _lazy_equal(a, b))
            for a, b in zip(current, expected, strict=True)
        )
    if isinstance(expected, (dict, list)):
        return False
    return _json_text(current) == _json_text(expected)


class _Document:
    """The document being patched and the operations on it."""

    def __init__(self, root: dict[str, Any]):
        self.root = root
        self.copied = 0

    def find(self, path: str) -> tuple[Container, str] | None:
        """The container holding the last segment of ``path`` and that segment (findObject)."""
        parts = path.split("/")
        if len(parts) < 2:
            return None
        container: Container = self.root
        for part in parts[1:-1]:
            try:
                child = _get(container, _decode_key(part))
            except PatchFailure:
                return None
            if not isinstance(child, (dict, list)):
                return None
            container = child
        return container, _decode_key(parts[-1])

    def apply(self, operation: dict[str, Any] | None) -> None:
        kind = (operation or {}).get("op")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise PatchFailure(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
        handler(self, operation or {})

    # --- operations -------------------------------------------------------------------------

    def add(self, op: dict[str, Any]) -> None:
        path = _string_field(op, "path", "add operation failed to decode path")
        target = self.find(path)
        if target is None:
            raise PatchFailure(
                f'add operation does not apply: doc is missing path: "{path}": missing value'
            )
        try:
            _add(*target, op.get("value"))
        except PatchFailure as failure:
            raise PatchFailure(f"error in add for path: '{path}': {failure}") from None

    def remove(self, op: dict[str, Any]) -> None:
        path = _string_field(op, "path", "remove operation failed to decode path")
        target = self.find(path)
        if target is None:
            raise PatchFailure(
                f'remove operation does not apply: doc is missing path: "{path}": missing value'
            )
        try:
            _remove(*target)
        except PatchFailure as failure:
            raise PatchFailure(f"error in remove for path: '{path}': {failure}") from None

    def replace(self, op: dict[str, Any]) -> None:
        path = _string_field(op, "path", "replace operation failed to decode path")
        if path == "":
            value = op.get("value")
            if not isinstance(value, dict):
                # The library keeps the document a JSON object or array; ours is an object.
                raise PatchFailure("replace operation value must be object or array")
            self.root = value
            return
        target = self.find(path)
        if target is None:
            raise PatchFailure(
                f"replace operation does not apply: doc is missing path: {path}: missing value"
            )
        container, key = target
        if isinstance(container, dict):
            container[key] = op.get("value")
            return
        try:
            idx = _index(container, key, size=len(container))
        except PatchFailure:
            raise PatchFailure(
                f"replace operation does not apply: doc is missing key: {path}: missing value"
            ) from None
        container[idx] = op.get("value")

    def move(self, op: dict[str, Any]) -> None:
        source = _string_field(op, "from", "move operation failed to decode from")
        origin = self.find(source)
        if origin is None:
            raise PatchFailure(
                f"move operation does not apply: doc is missing from path: {source}: missing value"
            )
        container, key = origin
        try:
            value = _get(container, key)
            _remove(container, key)
        except PatchFailure as failure:
            raise PatchFailure(f"error in move for path: '{key}': {failure}") from None
        path = _string_field(op, "path", "move operation failed to decode path")
        target = self.find(path)
        if target is None:
            raise PatchFailure(
                f"move operation does not apply: doc is missing destination path: {path}: "
                "missing value"
            )
        try:
            _add(*target, value)
        except PatchFailure as failure:
            raise PatchFailure(f"error in move for path: '{path}': {failure}") from None

    def copy(self, op: dict[str, Any]) -> None:
        source = _string_field(op, "from", "copy operation failed to decode from")
        origin = self.find(source)
        if origin is None:
            raise PatchFailure(
                f"copy operation does not apply: doc is missing from path: {source}: missing value"
            )
        try:
            value = _get(*origin)
        except PatchFailure as failure:
            raise PatchFailure(f"error in copy for from: '{source}': {failure}") from None
        path = _string_field(op, "path", "copy operation failed to decode path")
        target = self.find(path)
        if target is None:
            raise PatchFailure(
                f"copy operation does not apply: doc is missing destination path: {path}: "
                "missing value"
            )
        text = _json_text(value)
        self.copied += len(text)
        if self.copied > MAX_COPY_BYTES:
            raise PatchFailure(
                "Unable to complete the copy, the accumulated size increase of copy is "
                f"{self.copied}, exceeding the limit {MAX_COPY_BYTES}"
            )
        try:
            _add(*target, orjson.loads(text))
        except PatchFailure as failure:
            raise PatchFailure(f"error while adding value during copy: {failure}") from None

    def test(self, op: dict[str, Any]) -> None:
        path = _string_field(op, "path", "test operation failed to decode path")
        target = self.find(path)
        if target is None:
            raise PatchFailure(
                f"test operation does not apply: is missing path: {path}: missing value"
            )
        try:
            current = _get(*target)
        except PatchFailure as failure:
            raise PatchFailure(f"error in test for path: '{path}': {failure}") from None
        expected = op.get("value")
        if current is None:
            if expected is None:
                return
        elif expected is not None and _lazy_equal(current, expected):
            return
        raise PatchFailure(f"testing value {path} failed: test failed")


def _string_field(op: dict[str, Any], name: str, context: str) -> str:
    """A pointer field of an operation, which must be present and a JSON string."""
    value = op.get(name)
    if value is None:
        raise PatchFailure(f"{context}: missing value")
    if not isinstance(value, str):
        raise PatchFailure(
            f"{context}: json: cannot unmarshal {gojson.json_kind(value)} into Go value of "
            "type string"
        )
    return value


_HANDLERS = {
    "add": _Document.add,
    "remove": _Document.remove,
    "replace": _Document.replace,
    "move": _Document.move,
    "copy": _Document.copy,
    "test": _Document.test,
}
