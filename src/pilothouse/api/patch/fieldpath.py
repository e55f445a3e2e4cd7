"""Field paths and field sets, and their FieldsV1 encoding, as sigs.k8s.io/structured-merge-diff
defines them.

A path is a tuple of path elements. An element is one of::

    ("f", name)                      a field of a struct, or a key of a map    f:name
    ("k", (("name", '"x"'), ...))    an item of a list keyed by fields         k:{"name":"x"}
    ("v", '"x"')                     an item of a set of values                v:"x"
    ("i", 0)                         an item of a list without keys            i:0

Values inside keys and set items are kept as their JSON text as Go encodes it, so elements
hash and compare cheaply and serialize without work; key fields are sorted by name.

A field set is a frozenset of paths, each path a *member*. structured-merge-diff stores sets
as trees (members plus children); the flat form has the same union, intersection and
difference, and the tree is built only to serialize or to iterate in upstream's order:
elements ordered field names, then keys, then values, then indices, and at each level the
members before the children. In FieldsV1 a member with children is written ``".": {}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import orjson

from pilothouse.api.patch import gojson

PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]
# A tree of paths: element -> [is_member, children].
Tree = dict[PathElement, list[Any]]


class FieldsV1Error(ValueError):
    """A FieldsV1 document that cannot be decoded."""


# --- elements ------------------------------------------------------------------------------------


def field(name: str) -> PathElement:
    return ("f", name)


def key_element(fields: dict[str, Any]) -> PathElement:
    return ("k", tuple((name, _json(fields[name])) for name in sorted(fields)))


def value_element(value: Any) -> PathElement:
    return ("v", _json(value))


@lru_cache(maxsize=16384, typed=True)
def _scalar_json(value: Any) -> str:
    return gojson.dumps(value)


def _json(value: Any) -> str:
    """The Go JSON text of a value; scalars (nearly every key) come from a cache."""
    if isinstance(value, (dict, list)):
        return gojson.dumps(value)
    return _scalar_json(value)


def index_element(index: int) -> PathElement:
    return ("i", index)


def path_of(*names: str) -> Path:
    """The path of nested field names, e.g. ``path_of("metadata", "labels")``."""
    return tuple(field(name) for name in names)


def element_text(element: PathElement) -> str:
    """The element as a FieldsV1 key: ``f:name``, ``k:{...}``, ``v:...``, ``i:0``."""
    kind, payload = element
    if kind == "f":
        return "f:" + payload
    if kind == "k":
        return "k:{" + ",".join(f"{gojson.dumps(n)}:{v}" for n, v in payload) + "}"
    if kind == "v":
        return "v:" + payload
    return f"i:{payload}"


def parse_element(text: str) -> PathElement | None:
    """The element of a FieldsV1 key; None for a kind of element we do not know (upstream
    skips those so that newer servers' sets still load)."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("f", "k", "v", "i"):
        return None
    if kind == "f":
        return ("f", rest)
    if kind == "i":
        try:
            return ("i", int(rest))
        except ValueError as error:
            raise FieldsV1Error(f"parsing key as path element: {text}") from error
    try:
        value = orjson.loads(rest)
    except orjson.JSONDecodeError as error:
        raise FieldsV1Error(f"parsing key as path element: {text}") from error
    if kind == "v":
        return value_element(value)
    if not isinstance(value, dict):
        raise FieldsV1Error(f"parsing key as path element: {text}")
    return key_element(value)


def element_string(element: PathElement) -> str:
    """PathElement.String(): ``.name``, ``[name="x"]``, ``[="x"]``, ``[0]``."""
    kind, payload = element
    if kind == "f":
        return "." + payload
    if kind == "k":
        return "[" + ",".join(f"{n}={_value_string(v)}" for n, v in payload) + "]"
    if kind == "v":
        return f"[={_value_string(payload)}]"
    return f"[{payload}]"


def path_string(path: Path) -> str:
    """Path.String(), e.g. ``.spec.containers[name="nginx"].image``."""
    return "".join(element_string(e) for e in path)


def _value_string(text: str) -> str:
    """value.ToString of a JSON value given as text."""
    return _to_string(orjson.loads(text))


def _to_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return gojson.format_float(value)
    if isinstance(value, str):
        return gojson.quote(value)
    if isinstance(value, list):
        return "[" + ",".join(_to_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "".join(f"{k}={_to_string(v)}" for k, v in value.items())
    return str(value)


@lru_cache(maxsize=4096)
def _element_order(element: PathElement) -> tuple[Any, ...]:
    """PathElement.Compare as a sort key: field names < keys < values < indices."""
    kind, payload = element
    if kind == "f":
        return (0, payload)
    if kind == "k":
        return (1, tuple((n, _value_order(orjson.loads(v))) for n, v in payload))
    if kind == "v":
        return (2, _value_order(orjson.loads(payload)))
    return (3, payload)


def _value_order(value: Any) -> tuple[Any, ...]:
    """value.Compare as a sort key: numbers < strings < booleans < lists < maps < null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_order(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_order(value[k])) for k in sorted(value)))
    return (5,)


# --- sets ----------------------------------------------------------------------------------------


def tree(paths: Iterable[Path]) -> Tree:
    """The paths as a tree of members and children."""
    root: Tree = {}
    for path in paths:
        node = root
        last = len(path) - 1
        for depth, element in enumerate(path):
            entry = node.get(element)
            if entry is None:
                entry = node[element] = [False, {}]
            if depth == last:
                entry[0] = True
            node = entry[1]
    return root


def iterate(paths: FieldSet) -> Iterator[Path]:
    """The paths in Set.Iterate's order: at each level the members, then the children."""

    def walk(node: Tree, prefix: Path) -> Iterator[Path]:
        ordered = sorted(node, key=_element_order)
        for element in ordered:
            if node[element][0]:
                yield (*prefix, element)
        for element in ordered:
            if node[element][1]:
                yield from walk(node[element][1], (*prefix, element))

    return walk(tree(paths), ())


def recursive_difference(paths: FieldSet, prefixes: FieldSet) -> FieldSet:
    """Set.RecursiveDifference: drop every path that is, or lies under, one of ``prefixes``."""
    if not prefixes or not paths:
        return paths
    return frozenset(p for p in paths if not any(p[:n] in prefixes for n in range(1, len(p) + 1)))


# --- FieldsV1 ------------------------------------------------------------------------------------


def to_fields_v1(paths: FieldSet) -> dict[str, Any]:
    """The FieldsV1 document of a set (keys in upstream's order)."""
    return _emit(tree(paths))


def _emit(node: Tree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for element in sorted(node, key=_element_order):
        member, children = node[element]
        body: dict[str, Any] = {}
        if children:
            if member:
                body["."] = {}
            body.update(_emit(children))
        out[element_text(element)] = body
    return out


def from_fields_v1(document: Any) -> FieldSet:
    """The set a FieldsV1 document encodes."""
    if not isinstance(document, dict):
        raise FieldsV1Error("FieldsV1 must be a JSON object")
    paths: set[Path] = set()
    _read(document, (), paths)
    return frozenset(paths)


def _read(document: dict[str, Any], prefix: Path, paths: set[Path]) -> bool:
    """Add the paths under ``prefix``; returns whether ``prefix`` itself is a member."""
    member = False
    has_children = False
    for text, body in document.items():
        if text == ".":
            member = True
            continue
        element = parse_element(text)
        if element is None:
            continue
        if not isinstance(body, dict):
            raise FieldsV1Error(f"expected an object for {text}")
        path = (*prefix, element)
        if _read(body, path, paths):
            paths.add(path)
        has_children = True
    return member or not has_children
