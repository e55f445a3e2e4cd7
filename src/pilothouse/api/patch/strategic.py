"""Strategic merge patch, as k8s.io/apimachinery/pkg/util/strategicpatch applies it on the server.

A port of the apply half of strategicpatch (StrategicMergeMapPatch with MergeParallelList and
IgnoreUnmatchedNulls, as of apimachinery 1.33), driven by our ``Schema`` instead of Go struct
tags; the two carry the same ``patchStrategy``/``patchMergeKey``. Guarantees:

- Maps merge recursively and null deletes a key; a field with patch strategy ``replace`` is
  replaced whole. Lists are replaced unless their strategy is ``merge``: lists of maps then
  merge by the patch merge key, lists of primitives as sets.
- Directives: ``$patch: replace|delete`` in maps, ``$patch: replace|delete`` items in merging
  lists, ``$setElementOrder/<list>``, ``$retainKeys``, ``$deleteFromPrimitiveList/<list>``.
  Values added where the live object had nothing lose their nested nulls and directives.
- The order of merged lists is the one upstream computes: ``$setElementOrder`` first, then
  the patch's order, with server-only items kept where they were relative to the others
  (so an item added without ``$setElementOrder`` lands at the front), including the cases
  where Go's in-place slice edits shift that relative order (replayed by ``_GoSlice``).
- Where the schema has no node (a field it does not declare, or an ``any`` node such as a
  RawExtension) maps still merge and lists are replaced: JSON merge semantics. Upstream
  fails there with "unable to find api field"; the live objects we store never carry such
  fields, so the two only differ inside RawExtension values.
- Errors carry kube-apiserver's status: malformed directives are 400, a list of lists is the
  generic 422, everything else (a missing merge key, an unknown ``$patch`` value, ...) is the
  500 without a reason that a plain Go error becomes. The inputs are never mutated.
"""

from __future__ import annotations

from typing import Any

import orjson

from pilothouse.api import errors
from pilothouse.api.patch import gojson
from pilothouse.api.patch.status import UnreasonedServerError, rejected
from pilothouse.api.schema import Schema

DIRECTIVE = "$patch"
REPLACE = "replace"
DELETE = "delete"
MERGE = "merge"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"

# mergepatch's sentinel errors that kube-apiserver answers with 400 Bad Request.
BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
NO_LIST_OF_LISTS = "lists of lists are not supported"

Obj = dict[str, Any]


class _ListOfLists(Exception):
    """mergepatch.ErrNoListOfLists: kube-apiserver's generic 422."""


def apply_strategic_merge_patch(original: Obj, patch: Any, schema: Schema | None) -> Obj:
    """Apply the decoded strategic merge patch ``patch`` to a copy of ``original``."""
    if patch is None:
        patch = {}
    if not isinstance(patch, dict):
        raise errors.BadRequest(
            f"json: cannot unmarshal {gojson.json_kind(patch)} into Go value of type "
            "map[string]interface {}"
        )
    try:
        return _merge_map(_copy(original), _copy(patch), schema)
    except _ListOfLists as failure:
        raise rejected() from failure


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _server_error(message: str) -> UnreasonedServerError:
    return UnreasonedServerError(message)


# --- schema lookups ----------------------------------------------------------------------------


def _field(node: Schema | None, key: str) -> tuple[Schema | None, str, str]:
    """The schema of field ``key`` of a map node, its patch strategy (without retainKeys) and
    its patch merge key. Keys of a Go map carry no strategy."""
    if node is None or node.type not in ("object", "map"):
        return None, "", ""
    if node.type == "map":
        return node.values, "", ""
    child = node.properties.get(key)
    if child is None:
        return None, "", ""
    return child, _strategy(child.patch_strategy), child.patch_merge_key


def _strategy(declared: str) -> str:
    """extractRetainKeysPatchStrategy: the strategy other than retainKeys."""
    strategies = declared.split(",") if declared else []
    others = [s for s in strategies if s != "retainKeys"]
    if len(strategies) > 2 or len(others) > 1 or (len(strategies) == 2 and len(others) != 1):
        raise _server_error(f"unexpected patch strategy: {gojson.format_value(strategies)}")
    return others[0] if others else ""


def _items(node: Schema | None) -> Schema | None:
    return node.items if node is not None and node.type == "array" else None


# --- maps ----------------------------------------------------------------------------------------


def _merge_map(original: Obj | None, patch: Obj, node: Schema | None) -> Obj:
    """mergeMap: merge ``patch`` into ``original`` (both are ours to mutate)."""
    if DIRECTIVE in patch:
        return _map_directive(patch[DIRECTIVE], patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, node)
    for key in list(patch):
        value = patch[key]
        is_delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if is_delete_list:
            key = _extract_key(key, DELETE_FROM_PRIMITIVE_LIST)
        if value is None:
            original.pop(key, None)
            continue
        if key not in original:
            if not is_delete_list:
                _set_cleaned(original, key, value)
            continue
        current = original[key]
        if type(current) is not type(value):
            if not is_delete_list:
                _set_cleaned(original, key, value)
            continue
        child, strategy, merge_key = _field(node, key)
        if isinstance(current, dict):
            original[key] = value if strategy == REPLACE else _merge_map(current, value, child)
        elif isinstance(current, list):
            original[key] = _merge_list_field(
                _GoSlice(current), value, _items(child), strategy, merge_key, is_delete_list
            )
        else:
            kept, keep = _remove_directives(value)
            if keep:
                original[key] = kept
            else:
                del original[key]
    return original


def _set_cleaned(original: Obj, key: str, value: Any) -> None:
    """A patch value that replaces or adds a field loses its nulls and directives."""
    _discard_nulls(value)
    kept, keep = _remove_directives(value)
    if keep:
        original[key] = kept
    else:
        original.pop(key, None)


def _map_directive(directive: Any, patch: Obj) -> Obj:
    if directive == REPLACE:
        del patch[DIRECTIVE]
        return patch
    if directive == DELETE:
        return {}
    raise _server_error(
        f"unknown patch type: {gojson.format_value(directive)} in map: {gojson.format_value(patch)}"
    )


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        if prefix == DELETE_FROM_PRIMITIVE_LIST:
            raise errors.BadRequest(BAD_PRIMITIVE_LIST)
        raise errors.BadRequest(BAD_SET_ELEMENT_ORDER)
    return rest


def _apply_retain_keys(original: Obj, patch: Obj) -> None:
    """$retainKeys: keep only the listed fields of ``original``; every non-null field of the
    patch must be listed."""
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not isinstance(retained, list):
        raise errors.BadRequest(BAD_RETAIN_KEYS)
    keep = {_hashable(v) for v in retained}
    for key, value in patch.items():
        if (
            value is None
            or key.startswith(DELETE_FROM_PRIMITIVE_LIST)
            or key.startswith(SET_ELEMENT_ORDER)
        ):
            continue
        if _hashable(key) not in keep:
            raise errors.BadRequest(BAD_RETAIN_KEYS)
    for key in [k for k in original if _hashable(k) not in keep]:
        del original[key]


def _discard_nulls(value: Any) -> None:
    """discardNullValuesFromPatch: drop null map values, recursively, in place."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for child in value.values():
            _discard_nulls(child)
    elif isinstance(value, list):
        for child in value:
            _discard_nulls(child)


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """removeDirectives: drop maps carrying $patch; returns (value, keep)."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        for key in list(value):
            kept, keep = _remove_directives(value[key])
            if keep:
                value[key] = kept
            else:
                del value[key]
        return value, True
    if isinstance(value, list):
        out = []
        for item in value:
            kept, keep = _remove_directives(item)
            if keep:
                out.append(kept)
        return out, True
    return value, True


# --- lists ---------------------------------------------------------------------------------------


class _GoSlice:
    """A list as a Go slice over a backing array.

    mergeSlice edits its original slice in place: deleting an item shifts the rest left
    within the same array, and appending writes past the end while capacity lasts (both
    items appended by merge key and the scalars of ``append(original, patch...)``, which are
    then deduplicated in place). mergeSlice, and mergePatchIntoOriginal after it, then order
    the result by what the original slice reads: upstream's list order depends on those
    edits, so we replay them. The capacity is that of a slice grown by appends from empty
    (the next power of two), as decoding builds slices."""

    def __init__(self, values: list[Any]):
        self.original_length = len(values)
        capacity = 1 << (len(values) - 1).bit_length() if values else 0
        self.initial: list[Any] = [*values, *([None] * (capacity - len(values)))]
        self.array = self.initial
        self.length = len(values)

    def items(self) -> list[Any]:
        return self.array[: self.length]

    def original(self, length: int | None = None) -> list[Any]:
        """What a slice header over the initial array reads now."""
        return self.initial[: self.original_length if length is None else length]

    def delete(self, index: int) -> None:
        """``append(s[:index], s[index+1:]...)``."""
        self.array[index : self.length - 1] = self.array[index + 1 : self.length]
        self.length -= 1

    def append(self, *values: Any) -> None:
        """``append(s, values...)``: in place when the capacity allows, else into a new array."""
        if self.length + len(values) > len(self.array):
            capacity = max(2 * len(self.array), self.length + len(values))
            self.array = [*self.array[: self.length], *([None] * (capacity - self.length))]
        self.array[self.length : self.length + len(values)] = values
        self.length += len(values)

    def deduplicate(self) -> list[Any]:
        """deduplicateScalars, in place: a later duplicate is overwritten by the last item."""
        last = self.length - 1
        i = 0
        while i < last:
            j = i + 1
            while j <= last:
                if _hashable(self.array[i]) == _hashable(self.array[j]):
                    self.array[j] = self.array[last]
                    last -= 1
                    continue
                j += 1
            i += 1
        return self.array[: last + 1]


def _merge_list_field(
    original: _GoSlice,
    patch: list[Any],
    items: Schema | None,
    strategy: str,
    merge_key: str,
    is_delete_list: bool,
) -> list[Any]:
    """mergeSliceHandler: deletion lists and merging lists merge; other lists are replaced."""
    if strategy == MERGE or is_delete_list:
        return _merge_list(original, patch, items, merge_key, is_delete_list)
    return patch


def _merge_list(
    original: _GoSlice,
    patch: list[Any],
    items: Schema | None,
    merge_key: str,
    is_delete_list: bool,
) -> list[Any]:
    """mergeSlice."""
    if not original.length and not patch:
        return original.items()
    kind = _element_kind(original.items(), patch)
    if kind != "map":
        if is_delete_list:
            doomed = {_hashable(v) for v in patch}
            return [v for v in original.items() if _hashable(v) not in doomed]
        original.append(*patch)
        merged = original.deduplicate()
        server_order = original.original()
    else:
        if not merge_key:
            raise _server_error("cannot merge lists without merge key for struct")
        plain, replaced = _merge_special_elements(original, patch, merge_key)
        if replaced:
            merged = server_order = plain
            plain = []
        else:
            server_order = original.original(original.length)
            merged = _merge_by_key(original, plain, merge_key, items)
        patch = plain
    if merge_key:
        in_patch, server_only = _partition_maps(merged, patch, merge_key)
    else:
        in_patch, server_only = _partition_primitives(merged, patch)
    return _normalize_order(in_patch, server_only, patch, server_order, merge_key, kind)


def _element_kind(*lists: list[Any]) -> str:
    """sliceElementType: "map" or the Go type of the (primitive) elements, which must all
    have the same type."""
    first: type | None = None
    for values in lists:
        for value in values:
            if first is None:
                first = type(value)
                if first is list:
                    raise _ListOfLists(NO_LIST_OF_LISTS)
            elif type(value) is not first:
                raise _server_error(
                    "list element types are not identical: "
                    + gojson.format_value([list(v) for v in lists])
                )
    if first is None:
        raise _server_error("no elements in any of the given slices")
    return "map" if first is dict else first.__name__


def _merge_special_elements(
    original: _GoSlice, patch: list[Any], merge_key: str
) -> tuple[list[Any], bool]:
    """mergeSliceWithSpecialElements: apply the ``$patch: delete`` items to ``original``;
    returns the other items and whether a ``$patch: replace`` item asked to replace the
    list with them."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        directive = item.get(DIRECTIVE, _MISSING)
        if directive is _MISSING:
            plain.append(item)
        elif directive == DELETE:
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            while (
                position := _find_by_key(original.items(), merge_key, item[merge_key])
            ) is not None:
                original.delete(position)
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            raise _server_error("merging lists cannot yet be specified in the patch")
        else:
            raise _server_error(
                f"unknown patch type: {gojson.format_value(directive)} in map: "
                f"{gojson.format_value(item)}"
            )
    return plain, replace


_MISSING = object()


def _merge_by_key(
    original: _GoSlice, patch: list[Any], merge_key: str, items: Schema | None
) -> list[Any]:
    """mergeSliceWithoutSpecialElements: merge each patch item into the original item with
    the same merge key value, or append it."""
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        position = _find_by_key(original.items(), merge_key, item[merge_key])
        if position is None:
            original.append(item)
        else:
            original.array[position] = _merge_map(original.array[position], item, items)
    return original.items()


def _find_by_key(values: list[Any], merge_key: str, value: Any) -> int | None:
    wanted = _hashable(value)
    for position, item in enumerate(values):
        if not isinstance(item, dict):
            raise _server_error(f"value for key {position} is not a map")
        if merge_key in item and _hashable(item[merge_key]) == wanted:
            return position
    return None


def _partition_primitives(merged: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    present = {_hashable(v) for v in by}
    inside = [v for v in merged if _hashable(v) in present]
    outside = [v for v in merged if _hashable(v) not in present]
    return inside, outside


def _partition_maps(
    merged: list[Any], by: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    inside, outside = [], []
    for item in merged:
        if not isinstance(item, dict):
            raise _bad_arg_type(dict, item)
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        if _find_by_key(by, merge_key, item[merge_key]) is None:
            outside.append(item)
        else:
            inside.append(item)
    return inside, outside


def _order_key(item: Any, merge_key: str, kind: str) -> Any:
    if kind == "map":
        return _hashable(item.get(merge_key)) if isinstance(item, dict) else None
    return _hashable(item)


def _positions(order: list[Any], merge_key: str, kind: str) -> dict[Any, int]:
    """The first position of each element (by merge key for maps) in ``order``."""
    positions: dict[Any, int] = {}
    for position, item in enumerate(order):
        positions.setdefault(_order_key(item, merge_key, kind), position)
    return positions


def _normalize_order(
    in_patch: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """normalizeElementOrder: sort the patch items by the patch order and the server-only
    items by the server order, then interleave them by the server order."""
    in_patch = _sort_by(in_patch, patch_order, merge_key, kind)
    server_only = _sort_by(server_only, server_order, merge_key, kind)
    positions = _positions(server_order, merge_key, kind)
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) and j < len(in_patch):
        left = positions.get(_order_key(server_only[i], merge_key, kind))
        right = positions.get(_order_key(in_patch[j], merge_key, kind))
        if left is not None and right is not None and left < right:
            out.append(server_only[i])
            i += 1
        else:
            out.append(in_patch[j])
            j += 1
    out.extend(server_only[i:])
    out.extend(in_patch[j:])
    return out


def _sort_by(values: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """normalizeSliceOrder: a stable sort by position in ``order``; items marked
    ``$patch: delete`` go last."""
    doomed: list[Any] = []
    if kind == "map":
        for item in [*values, *order]:
            if not isinstance(item, dict):
                raise _bad_arg_type(dict, item)
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
        doomed = [v for v in values if v.get(DIRECTIVE) == DELETE]
        values = [v for v in values if v.get(DIRECTIVE) != DELETE]
    positions = _positions(order, merge_key, kind)
    # Every item is in ``order`` here (by construction of the partitions), so the upstream
    # comparator reduces to a plain stable sort by first position.
    ordered = sorted(values, key=lambda v: positions.get(_order_key(v, merge_key, kind), -1))
    return ordered + doomed


# --- $setElementOrder ----------------------------------------------------------------------------


def _merge_ordered_lists(original: Obj, patch: Obj, node: Schema | None) -> None:
    """mergePatchIntoOriginal: merge every list that has a $setElementOrder directive and
    order it by the directive; both are then removed from ``patch``."""
    for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise _bad_arg_type(list, order)
        key = _extract_key(directive_key, SET_ELEMENT_ORDER)
        found_original, found_patch = key in original, key in patch
        original_list: list[Any] = []
        patch_list: list[Any] = []
        if found_original:
            original_list = _expect_list(original[key])
        if found_patch:
            patch_list = _expect_list(patch[key])
        child, strategy, merge_key = _field(node, key)
        _check_order(patch_list, order, merge_key)
        server = _GoSlice(original_list)
        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            merged, _ = _remove_directives(patch_list)
        elif found_original and found_patch:
            merged = _merge_list_field(
                server, patch_list, _items(child), strategy, merge_key, False
            )
        else:
            continue
        if merge_key:
            in_order, server_only = _partition_maps(merged, order, merge_key)
        else:
            in_order, server_only = _partition_primitives(merged, order)
        # Upstream orders by the original slice, as the merge left its backing array.
        server_order = server.original()
        kind = _element_kind(server_order, patch_list)
        original[key] = _normalize_order(
            in_order, server_only, order, server_order, merge_key, kind
        )
        patch.pop(key, None)


def _expect_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _bad_arg_type(list, value)
    return value


def _check_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: the patch list, without deletions, must be a
    subsequence of the order list."""
    if not order or not patch_list:
        return
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _bad_arg_type(dict, item)
        kept = [v for v in patch_list if v.get(DIRECTIVE) != DELETE]
    else:
        kept = patch_list
    position = checked = 0
    while position < len(kept) and checked < len(order):
        item = kept[position]
        if isinstance(item, dict) and DIRECTIVE in item:
            position += 1
            continue
        if _key_equal(item, order[checked], merge_key):
            position += 1
        checked += 1
    if position < len(kept) and checked >= len(order):
        raise _server_error(
            f"the order in patch list:\n{gojson.format_value(patch_list)}\n doesn't match "
            f"{SET_ELEMENT_ORDER} list:\n{gojson.format_value(order)}"
        )


def _key_equal(left: Any, right: Any, merge_key: str) -> bool:
    """mergeKeyValueEqual."""
    if not merge_key:
        return _hashable(left) == _hashable(right)
    for value in (left, right):
        if not isinstance(value, dict):
            raise _bad_arg_type(dict, value)
        if merge_key not in value:
            raise _no_merge_key(value, merge_key)
    return _hashable(left[merge_key]) == _hashable(right[merge_key])


# --- helpers -------------------------------------------------------------------------------------


def _hashable(value: Any) -> Any:
    """A key under which equal JSON values (as Go compares interface values) collide."""
    if isinstance(value, (dict, list)):
        return ("json", gojson.dumps(value))
    return (type(value), value)


def _no_merge_key(item: Any, merge_key: str) -> UnreasonedServerError:
    return _server_error(
        f"map: {gojson.format_value(item)} does not contain declared merge key: {merge_key}"
    )


_GO_TYPES: dict[type, str] = {dict: "map[string]interface {}", list: "[]interface {}"}


def _bad_arg_type(expected: type, actual: Any) -> UnreasonedServerError:
    return _server_error(
        f"expected a {_GO_TYPES[expected]}, but received a {gojson.type_name(actual)}"
    )
