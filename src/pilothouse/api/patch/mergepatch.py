"""JSON merge patch (RFC 7386) as kube-apiserver applies it with evanphx/json-patch's MergePatch.

Guarantees:
- An object patch merges recursively: null deletes a key, objects merge into objects, any
  other value replaces. Values that land where there was nothing (or a non-object) have their
  nested nulls pruned; nulls inside arrays stay.
- An array patch replaces the whole document (nested nulls pruned), as the library does; the
  caller's decode into the kind then rejects it.
- A null or scalar patch is a 400 "Invalid JSON Patch".
- The inputs are never mutated.
"""

from __future__ import annotations

from typing import Any

import orjson

from pilothouse.api import errors

BAD_PATCH = "Invalid JSON Patch"


def apply_merge_patch(doc: dict[str, Any], patch: Any) -> Any:
    """Apply the decoded merge patch ``patch`` to a copy of ``doc`` and return the result."""
    if isinstance(patch, dict):
        result = _copy(doc)
        _merge_objects(result, _copy(patch))
        return result
    if isinstance(patch, list):
        return _prune_array_nulls(_copy(patch))
    raise errors.BadRequest(BAD_PATCH)


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _merge_objects(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
            continue
        current = doc.get(key)
        if not isinstance(current, dict):
            # Nothing there (or not an object): the patch value lands with its nulls pruned.
            doc[key] = _prune_nulls(value)
        elif isinstance(value, dict):
            _merge_objects(current, value)
        else:
            # An object replaced by a non-object: the library keeps the patch value as is.
            doc[key] = value


def _prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return _prune_array_nulls(value)
    return value


def _prune_array_nulls(values: list[Any]) -> list[Any]:
    return [v if v is None else _prune_nulls(v) for v in values]
