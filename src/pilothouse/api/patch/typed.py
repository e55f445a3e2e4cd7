"""Objects walked against their schema the way sigs.k8s.io/structured-merge-diff walks typed
values: field sets, comparison, merge (server-side apply) and removal of items.

How a schema node maps to structured-merge-diff's atoms (kube-openapi's schemaconv rules):

- an object with properties is a *struct*; an object with additionalProperties a *map*. Both
  are granular unless ``x-kubernetes-map-type: atomic``.
- an array is atomic unless ``x-kubernetes-list-type`` says ``set`` or ``map`` (keyed by
  ``x-kubernetes-list-map-keys``), or, without a list type, its patch strategy is ``merge``
  (keyed by the patch merge key, or a set of primitives without one).
- ``any`` nodes (RawExtension and the like), and fields a schema does not declare when the
  caller tolerates them, are *deduced* from the value: maps granular, lists atomic.
- everything else is a scalar.

Values follow Go's unstructured conventions: ``ABSENT`` is a field that is not there, which
differs from JSON null. Field sets are ``fieldpath.FieldSet`` (frozensets of paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pilothouse.api.patch import gojson
from pilothouse.api.patch.fieldpath import (
    FieldSet,
    Path,
    PathElement,
    Tree,
    field,
    index_element,
    key_element,
    path_string,
    recursive_difference,
    tree,
    value_element,
)
from pilothouse.api.schema import Schema


class _Absent:
    """A field that is not there (Go's nil value.Value), as opposed to JSON null."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()

# Defaults upstream's OpenAPI declares for list-map key fields (structured-merge-diff fills
# them in when an item omits the key); kubernetes-validate's schemas drop "default".
_KEY_DEFAULTS = {
    ("io.k8s.api.core.v1.ContainerPort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.ServicePort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.LocalObjectReference", "name"): "",
}


class TypeErrors(Exception):
    """Validation errors of a value against its schema (ValidationErrors.Error())."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        if len(messages) == 1:
            text = messages[0]
        else:
            text = "\n".join(["errors:", *(f"  {m}" for m in messages)])
        super().__init__(text)


@dataclass(frozen=True, slots=True)
class Shape:
    """What structured-merge-diff sees at one schema node."""

    kind: str  # "struct", "map", "list", "scalar" or "deduced"
    atomic: bool = False
    keys: tuple[str, ...] = ()  # key fields of an associative list of maps
    is_set: bool = False  # an associative list of primitives
    scalar: str = ""  # "string", "numeric", "boolean" or "untyped" for scalars


_DEDUCED = Shape("deduced")
_SHAPES: dict[int, tuple[Schema, Shape]] = {}


def shape(node: Schema | None) -> Shape:
    if node is None:
        return _DEDUCED
    cached = _SHAPES.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    result = _shape(node)
    _SHAPES[id(node)] = (node, result)
    return result


def _shape(node: Schema) -> Shape:
    kind = node.type
    if kind == "object":
        return Shape("struct", atomic=node.map_type == "atomic")
    if kind == "map":
        return Shape("map", atomic=node.map_type == "atomic")
    if kind == "array":
        return _list_shape(node)
    if kind == "any":
        return _DEDUCED
    scalar = {"string": "string", "integer": "numeric", "number": "numeric", "boolean": "boolean"}
    return Shape("scalar", scalar=scalar.get(kind, "untyped"))


def _list_shape(node: Schema) -> Shape:
    if node.list_type == "atomic":
        return Shape("list", atomic=True)
    if node.list_type == "set":
        return Shape("list", is_set=True)
    if node.list_type == "map":
        return Shape("list", keys=node.list_map_keys)
    if node.patch_strategy in ("merge", "merge,retainKeys"):
        if node.patch_merge_key:
            return Shape("list", keys=(node.patch_merge_key,))
        return Shape("list", is_set=True)
    return Shape("list", atomic=True)


def child(node: Schema | None, name: str) -> tuple[Schema | None, bool]:
    """The schema of key ``name`` of a struct or map node, and whether it is a declared field
    (an undeclared field of a struct, or any key under a deduced node, has no schema)."""
    if node is None:
        return None, False
    if node.type == "map":
        return node.values, False
    if node.type == "object":
        found = node.properties.get(name)
        return found, found is not None
    return None, False


def is_declared_field(node: Schema | None, name: str) -> bool:
    return node is not None and node.type == "object" and name in node.properties


def _deduced_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def item_element(node: Schema | None, sh: Shape, index: int, item: Any) -> PathElement:
    """listItemToPathElement: how an item of a granular list is addressed."""
    if sh.keys:
        if item is None:
            raise ValueError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise ValueError("associative list with keys may not have non-map elements")
        fields = {}
        items = node.items if node is not None else None
        for name in sh.keys:
            if name in item:
                fields[name] = item[name]
            elif items is not None and (items.ref, name) in _KEY_DEFAULTS:
                fields[name] = _KEY_DEFAULTS[(items.ref, name)]
            else:
                raise ValueError(
                    f"associative list with keys has an element that omits key field "
                    f"{gojson.quote(name)} (and doesn't have default value)"
                )
        return key_element(fields)
    if sh.is_set:
        if isinstance(item, dict):
            raise ValueError("associative list without keys has an element that's a map type")
        if isinstance(item, list):
            raise ValueError("associative list without keys has an element that's a list type")
        return value_element(item)
    return index_element(index)


def _index_items(
    node: Schema | None, sh: Shape, items: list[Any]
) -> tuple[list[PathElement], dict[PathElement, Any]]:
    """The items of a list by element, in order; repeats and unaddressable items are skipped
    (the live object may hold duplicates; configurations are validated first)."""
    order: list[PathElement] = []
    seen: dict[PathElement, Any] = {}
    for index, item in enumerate(items):
        try:
            element = item_element(node, sh, index, item)
        except ValueError:
            continue
        if element not in seen:
            seen[element] = item
            order.append(element)
    return order, seen


# --- validation ----------------------------------------------------------------------------------


def validate(value: Any, node: Schema | None) -> list[str]:
    """The errors structured-merge-diff reports converting ``value`` to a typed value without
    allowing duplicates (what server-side apply does to a configuration)."""
    problems: list[str] = []
    _validate(value, node, (), problems)
    return problems


def _validate(value: Any, node: Schema | None, path: Path, problems: list[str]) -> None:
    sh = shape(node)
    kind = _deduced_kind(value) if sh.kind == "deduced" else sh.kind
    if kind == "scalar":
        _validate_scalar(value, sh.scalar, path, problems)
    elif kind in ("struct", "map"):
        if value is None:
            return
        if not isinstance(value, dict):
            problems.append(f"{path_string(path)}: expected map, got {_go_value(value)}")
            return
        if sh.atomic:
            return
        for name, item in value.items():
            sub, declared = child(node, name)
            if kind == "struct" and not declared and not _tolerates_unknown(node):
                problems.append(
                    f"{path_string((*path, field(name)))}: field not declared in schema"
                )
                return
            _validate(item, sub, (*path, field(name)), problems)
    else:
        if value is None:
            return
        if not isinstance(value, list):
            problems.append(f"{path_string(path)}: expected list, got {_go_value(value)}")
            return
        if sh.atomic or sh.kind == "deduced":
            return
        seen: set[PathElement] = set()
        items = node.items if node is not None else None
        for index, item in enumerate(value):
            try:
                element = item_element(node, sh, index, item)
            except ValueError as error:
                problems.append(f"{path_string(path)}: element {index}: {error}")
                continue
            if element in seen:
                problems.append(
                    f"{path_string(path)}: duplicate entries for key {_element_str(element)}"
                )
                continue
            seen.add(element)
            _validate(item, items, (*path, element), problems)


def _tolerates_unknown(node: Schema | None) -> bool:
    return node is None or node.preserve_unknown_fields


def _element_str(element: PathElement) -> str:
    return path_string((element,))


def _validate_scalar(value: Any, scalar: str, path: Path, problems: list[str]) -> None:
    if value is None:
        return
    if scalar == "numeric" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        problems.append(
            f"{path_string(path)}: expected numeric (int or float), got {gojson.type_name(value)}"
        )
    elif scalar == "string" and not isinstance(value, str):
        problems.append(f"{path_string(path)}: expected string, got {_go_value(value)}")
    elif scalar == "boolean" and not isinstance(value, bool):
        problems.append(f"{path_string(path)}: expected boolean, got {_go_value(value)}")
    elif scalar == "untyped" and isinstance(value, (dict, list)):
        problems.append(f"{path_string(path)}: expected any scalar, got {_go_value(value)}")


def _go_value(value: Any) -> str:
    """How upstream prints the offending value.Value in these messages."""
    return f"&value.valueUnstructured{{Value:{gojson.format_value(value)}}}"


# --- field sets ----------------------------------------------------------------------------------


def to_field_set(value: Any, node: Schema | None, *, named: bool = False) -> FieldSet:
    """ToFieldSet: every leaf (scalars, atomic lists and maps), every list item and every map
    key, but not the fields of structs themselves; with ``named``, also the struct fields
    that have something below them (``named_fields`` of the result, computed on the way)."""
    out: set[Path] = set()
    _to_field_set(value, node, (), out, named)
    return frozenset(out)


def _to_field_set(value: Any, node: Schema | None, path: Path, out: set[Path], named: bool) -> None:
    sh = shape(node)
    kind = _deduced_kind(value) if sh.kind == "deduced" else sh.kind
    if kind == "scalar":
        out.add(path)
        return
    if kind == "list":
        if sh.atomic or sh.kind == "deduced":
            out.add(path)
            return
        if not isinstance(value, list):
            return
        items = node.items if node is not None else None
        for index, item in enumerate(value):
            try:
                element = item_element(node, sh, index, item)
            except ValueError:
                continue
            item_path = (*path, element)
            _to_field_set(item, items, item_path, out, named)
            out.add(item_path)
        return
    if sh.atomic:
        out.add(path)
        return
    if not isinstance(value, dict):
        return
    for name, item in value.items():
        sub, declared = child(node, name)
        item_path = (*path, field(name))
        before = len(out)
        _to_field_set(item, sub, item_path, out, named)
        if not declared or (named and len(out) > before):
            out.add(item_path)


def named_fields(paths: FieldSet, node: Schema | None) -> FieldSet:
    """EnsureNamedFieldsAreMembers: also own every struct field that has owned children."""
    extra: list[Path] = []

    def walk(children: Tree, prefix: Path, current: Schema | None) -> None:
        for element, (_, below) in children.items():
            if not below:
                continue
            kind, payload = element
            path = (*prefix, element)
            if kind == "f":
                if is_declared_field(current, payload):
                    extra.append(path)
                walk(below, path, child(current, payload)[0])
            elif kind == "k" and current is not None and current.type == "array":
                walk(below, path, current.items)

    if node is not None:
        walk(tree(paths), (), node)
    return paths.union(extra) if extra else paths


# --- comparison ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    def excluding(self, prefixes: FieldSet) -> Comparison:
        return Comparison(
            recursive_difference(self.added, prefixes),
            recursive_difference(self.modified, prefixes),
            recursive_difference(self.removed, prefixes),
        )


def compare(lhs: Any, rhs: Any, node: Schema | None) -> Comparison:
    """TypedValue.Compare: the paths ``rhs`` adds, modifies and removes relative to ``lhs``
    (leaves, and the non-leaf nodes that appear or disappear as a whole)."""
    added: set[Path] = set()
    modified: set[Path] = set()
    removed: set[Path] = set()
    _compare(lhs, rhs, node, (), added, modified, removed)
    return Comparison(frozenset(added), frozenset(modified), frozenset(removed))


def _compare(
    lhs: Any,
    rhs: Any,
    node: Schema | None,
    path: Path,
    added: set[Path],
    modified: set[Path],
    removed: set[Path],
) -> None:
    if isinstance(lhs, (dict, list)) and _identical(lhs, rhs):
        return  # most of an object is unchanged by a write: skip the walk
    sh = shape(node)
    kind = sh.kind
    if kind == "deduced":
        left = _deduced_kind(lhs) if lhs is not ABSENT else None
        right = _deduced_kind(rhs) if rhs is not ABSENT else None
        kind = "map" if {left, right} <= {"map", None} else "leaf"
    leaf = kind in ("scalar", "leaf") or sh.atomic
    if not leaf and kind == "list":
        lhs_list = lhs if isinstance(lhs, list) else None
        rhs_list = rhs if isinstance(rhs, list) else None
        leaf = not lhs_list and not rhs_list
        if not leaf:
            _compare_items(lhs_list or [], rhs_list or [], node, sh, path, added, modified, removed)
    elif not leaf:
        lhs_map = lhs if isinstance(lhs, dict) else None
        rhs_map = rhs if isinstance(rhs, dict) else None
        leaf = not lhs_map and not rhs_map
        if not leaf:
            lhs_map = lhs_map or {}
            rhs_map = rhs_map or {}
            for name in _union_keys(lhs_map, rhs_map):
                sub, _ = child(node, name)
                _compare(
                    lhs_map.get(name, ABSENT),
                    rhs_map.get(name, ABSENT),
                    sub,
                    (*path, field(name)),
                    added,
                    modified,
                    removed,
                )
    if leaf:
        if lhs is ABSENT:
            added.add(path)
        elif rhs is ABSENT:
            removed.add(path)
        elif not equal(lhs, rhs):
            modified.add(path)
    elif lhs is ABSENT:
        added.add(path)
    elif rhs is ABSENT:
        removed.add(path)


def _compare_items(
    lhs: list[Any],
    rhs: list[Any],
    node: Schema | None,
    sh: Shape,
    path: Path,
    added: set[Path],
    modified: set[Path],
    removed: set[Path],
) -> None:
    lhs_order, lhs_items = _index_items(node, sh, lhs)
    rhs_order, rhs_items = _index_items(node, sh, rhs)
    items = node.items if node is not None else None
    for element in [*lhs_order, *(e for e in rhs_order if e not in lhs_items)]:
        _compare(
            lhs_items.get(element, ABSENT),
            rhs_items.get(element, ABSENT),
            items,
            (*path, element),
            added,
            modified,
            removed,
        )


def _union_keys(lhs: dict[str, Any], rhs: dict[str, Any]) -> list[str]:
    return [*lhs, *(k for k in rhs if k not in lhs)]


def _identical(lhs: Any, rhs: Any) -> bool:
    """Equal, JSON text and all (so 1 and true, or 1 and 1.0, never pass), checked at C speed."""
    return lhs == rhs and orjson.dumps(lhs) == orjson.dumps(rhs)


def equal(lhs: Any, rhs: Any) -> bool:
    """value.Equals: deep equality where booleans never equal numbers."""
    if isinstance(lhs, bool) or isinstance(rhs, bool):
        return type(lhs) is type(rhs) and lhs == rhs
    if isinstance(lhs, dict):
        return (
            isinstance(rhs, dict)
            and lhs.keys() == rhs.keys()
            and all(equal(v, rhs[k]) for k, v in lhs.items())
        )
    if isinstance(lhs, list):
        return (
            isinstance(rhs, list)
            and len(lhs) == len(rhs)
            and all(equal(a, b) for a, b in zip(lhs, rhs, strict=True))
        )
    return lhs == rhs and not isinstance(rhs, (dict, list))


# --- merge ---------------------------------------------------------------------------------------


def merge(lhs: Any, rhs: Any, node: Schema | None) -> Any:
    """TypedValue.Merge: ``rhs`` (an applied configuration) over ``lhs`` (the live object).
    Leaves take ``rhs``'s value; granular maps and lists merge item by item; list items keep
    ``lhs``'s order except where ``rhs`` reorders the items they share."""
    if rhs is ABSENT or lhs is ABSENT:
        # One side alone merges to itself (a configuration is validated before it merges).
        return lhs if rhs is ABSENT else rhs
    sh = shape(node)
    kind = sh.kind
    if kind == "deduced":
        left = _deduced_kind(lhs) if lhs is not ABSENT else None
        right = _deduced_kind(rhs) if rhs is not ABSENT else None
        kind = "map" if {left, right} <= {"map", None} else "leaf"
    if kind in ("scalar", "leaf") or sh.atomic:
        return rhs if rhs is not ABSENT else lhs
    if kind == "list":
        lhs_list = lhs if isinstance(lhs, list) else None
        rhs_list = rhs if isinstance(rhs, list) else None
        if not lhs_list and not rhs_list:
            return rhs if rhs is not ABSENT else lhs
        merged = _merge_items(lhs_list or [], rhs_list or [], node, sh)
        return merged if merged else ABSENT
    lhs_map = lhs if isinstance(lhs, dict) else None
    rhs_map = rhs if isinstance(rhs, dict) else None
    if not lhs_map and not rhs_map:
        return rhs if rhs is not ABSENT else lhs
    lhs_map = lhs_map or {}
    rhs_map = rhs_map or {}
    out = {}
    for name in _union_keys(lhs_map, rhs_map):
        sub, _ = child(node, name)
        value = merge(lhs_map.get(name, ABSENT), rhs_map.get(name, ABSENT), sub)
        if value is not ABSENT:
            out[name] = value
    return out if out else ABSENT


def _merge_items(lhs: list[Any], rhs: list[Any], node: Schema | None, sh: Shape) -> list[Any]:
    """visitListItems of the merging walker: walk both lists, emitting shared items in
    ``rhs``'s order and everything else where it stands. The live list may repeat an item:
    repeats ``rhs`` does not mention are kept, one that it does becomes ``rhs``'s item."""
    items = node.items if node is not None else None
    rhs_order, rhs_items = _index_items(node, sh, rhs)
    lhs_order: list[PathElement] = []
    lhs_values: list[Any] = []
    lhs_items: dict[PathElement, Any] = {}
    for index, item in enumerate(lhs):
        try:
            element = item_element(node, sh, index, item)
        except ValueError:
            continue
        # A repeated item has no single value to merge with (upstream stores nil for it).
        lhs_items[element] = ABSENT if element in lhs_items else item
        lhs_order.append(element)
        lhs_values.append(item)
    shared = [e for e in rhs_order if e in lhs_items]
    next_shared = 0
    out: list[Any] = []
    merged_rhs: set[PathElement] = set()

    def emit(left: Any, right: Any) -> None:
        value = merge(left, right, items)
        if value is not ABSENT:
            out.append(value)

    li = ri = 0
    while li < len(lhs_order) or ri < len(rhs_order):
        if li < len(lhs_order) and ri < len(rhs_order):
            element = lhs_order[li]
            if element == rhs_order[ri]:
                merged_rhs.add(element)
                emit(lhs_items[element], rhs_items[element])
                li += 1
                ri += 1
                next_shared += 1
                continue
            wanted = shared[next_shared] if next_shared < len(shared) else None
            if element in rhs_items and wanted is not None and wanted != element:
                li += 1  # a shared item, but not the one that comes next in rhs's order
                continue
        if li < len(lhs_order):
            element = lhs_order[li]
            if element not in rhs_items:
                emit(lhs_values[li], ABSENT)
                li += 1
                continue
            if element in merged_rhs:
                li += 1
                continue
        if ri < len(rhs_order):
            element = rhs_order[ri]
            merged_rhs.add(element)
            emit(lhs_items.get(element, ABSENT), rhs_items[element])
            ri += 1
            if next_shared < len(shared) and shared[next_shared] == element:
                next_shared += 1
    return out


# --- removal -------------------------------------------------------------------------------------


def remove_items(value: Any, paths: FieldSet, node: Schema | None) -> Any:
    """TypedValue.RemoveItems: drop every member of ``paths`` (with whatever is below it).
    Maps and lists emptied by the removal disappear (ABSENT), as they do once Go decodes the
    null structured-merge-diff leaves there."""
    if not paths:
        return value
    return _remove(value, tree(paths), node)


def _remove(value: Any, node_tree: Tree, node: Schema | None) -> Any:
    sh = shape(node)
    kind = _deduced_kind(value) if sh.kind == "deduced" else sh.kind
    if kind == "scalar" or (kind == "list" and sh.kind == "deduced"):
        return value
    if sh.atomic:
        return ABSENT
    if kind == "list":
        if not isinstance(value, list) or not value:
            return value
        items = node.items if node is not None else None
        kept = []
        for index, item in enumerate(value):
            try:
                element = item_element(node, sh, index, item)
            except ValueError:
                kept.append(item)
                continue
            entry = node_tree.get(element)
            if entry is None:
                kept.append(item)
            elif not entry[0]:
                result = _remove(item, entry[1], items)
                kept.append({} if result is ABSENT else result)
        return kept if kept else ABSENT
    if not isinstance(value, dict) or not value:
        return value
    out = {}
    for name, item in value.items():
        entry = node_tree.get(field(name))
        if entry is None:
            out[name] = item
        elif not entry[0]:
            sub, _ = child(node, name)
            result = _remove(item, entry[1], sub)
            if result is not ABSENT:
                out[name] = result
    return out if out else ABSENT
