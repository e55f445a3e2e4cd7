"""Schemas of the built-in kinds, read from the upstream definitions in ``kubernetes-validate``.

We never hand-write type definitions: field names, types, and the patch and list metadata that
strategic merge patch and server-side apply rely on (``x-kubernetes-patch-merge-key``,
``x-kubernetes-patch-strategy``, ``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-map-type``) come from the Kubernetes OpenAPI definitions that package ships.

``Schemas`` loads one Kubernetes release's definitions once; ``Schemas.for_kind(group, version,
kind)`` returns the root ``Schema`` node of a kind. Nodes are built lazily (definitions are
recursive) and shared, so walking a schema costs dictionary lookups only.

A node has exactly one ``type``:
  object  properties (possibly none) and ``required``
  map     ``additionalProperties``: every value has the schema ``values``
  array   ``items``
  string, integer, number, boolean
  int-or-string, quantity   (IntOrString and resource.Quantity)
  any     anything goes (RawExtension, JSON, FieldsV1, and objects without properties)
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping
from typing import Any

import orjson

KUBERNETES_VERSION = "1.33"

_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_ANY = {
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
}


class Schema:
    """One node of a schema tree. Read-only; children are resolved on first access."""

    __slots__ = (
        "_raw",
        "_schemas",
        "type",
        "ref",
        "format",
        "required",
        "patch_strategy",
        "patch_merge_key",
        "list_type",
        "list_map_keys",
        "map_type",
        "preserve_unknown_fields",
        "_properties",
        "_items",
        "_values",
    )

    def __init__(self, raw: Mapping[str, Any], schemas: Schemas, ref: str = ""):
        self._raw = raw
        self._schemas = schemas
        self.ref = ref  # definition name when this node is a whole definition
        self.format: str = raw.get("format", "")
        self.required: frozenset[str] = frozenset(raw.get("required", ()))
        self.patch_strategy: str = raw.get("x-kubernetes-patch-strategy", "")
        self.patch_merge_key: str = raw.get("x-kubernetes-patch-merge-key", "")
        self.list_type: str = raw.get("x-kubernetes-list-type", "")
        self.list_map_keys: tuple[str, ...] = tuple(raw.get("x-kubernetes-list-map-keys", ()))
        self.map_type: str = raw.get("x-kubernetes-map-type", "")
        self.preserve_unknown_fields: bool = bool(raw.get("x-kubernetes-preserve-unknown-fields"))
        self._properties: dict[str, Schema] | None = None
        self._items: Schema | None = None
        self._values: Schema | None = None
        self.type = _node_type(raw, ref)

    # --- children -------------------------------------------------------------------------

    @property
    def properties(self) -> dict[str, Schema]:
        """Fields of an object node (empty for other types)."""
        if self._properties is None:
            raw = self._raw.get("properties") or {}
            self._properties = {k: self._schemas.node(v) for k, v in raw.items()}
        return self._properties

    @property
    def items(self) -> Schema:
        """Element schema of an array node."""
        if self._items is None:
            self._items = self._schemas.node(self._raw.get("items") or {})
        return self._items

    @property
    def values(self) -> Schema:
        """Value schema of a map node."""
        if self._values is None:
            extra = self._raw.get("additionalProperties")
            self._values = self._schemas.node(extra if isinstance(extra, dict) else {})
        return self._values

    def field(self, name: str) -> Schema | None:
        """The schema of one field of an object node, or of any key of a map node."""
        if self.type == "map":
            return self.values
        return self.properties.get(name)

    @property
    def description(self) -> str:
        return self._raw.get("description", "")

    @property
    def raw(self) -> Mapping[str, Any]:
        """The upstream JSON-schema text of this node (for publishing OpenAPI)."""
        return self._raw

    # --- patch semantics ------------------------------------------------------------------

    @property
    def merges_list(self) -> bool:
        """Strategic merge patch merges this list (by ``patch_merge_key``, or as a set of
        primitives) instead of replacing it."""
        return "merge" in self.patch_strategy.split(",")

    @property
    def retains_keys(self) -> bool:
        return "retainKeys" in self.patch_strategy.split(",")

    def __repr__(self) -> str:
        return f"Schema({self.type}{' ' + self.ref if self.ref else ''})"


def _node_type(raw: Mapping[str, Any], ref: str) -> str:
    if ref == _INT_OR_STRING:
        return "int-or-string"
    if ref == _QUANTITY:
        return "quantity"
    if ref in _ANY:
        return "any"
    types = raw.get("type")
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), None)
    if types == "object" or (types is None and "properties" in raw):
        if raw.get("properties"):
            return "object"
        if isinstance(raw.get("additionalProperties"), dict):
            return "map"
        return "any"
    if types == "array":
        return "array"
    if types in ("string", "integer", "number", "boolean"):
        return types
    return "any"


class Schemas:
    """All definitions of one Kubernetes release, with lookups by definition name and kind."""

    def __init__(self, definitions: dict[str, Any]):
        self._defs = definitions
        self._nodes: dict[str, Schema] = {}
        self._by_gvk: dict[tuple[str, str, str], str] = {}
        for name, raw in definitions.items():
            for gvk in raw.get("x-kubernetes-group-version-kind", ()):
                key = (gvk.get("group", ""), gvk["version"], gvk["kind"])
                # Several definitions may claim one GVK (e.g. DeleteOptions); keep the first
                # whose name ends with the kind, which is the type itself.
                if key not in self._by_gvk or name.endswith("." + gvk["kind"]):
                    self._by_gvk[key] = name

    @classmethod
    @functools.cache
    def load(cls, version: str = KUBERNETES_VERSION) -> Schemas:
        """The definitions shipped by kubernetes-validate for Kubernetes ``version``."""
        root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
        path = root / f"v{version}.0-local" / "_definitions.json"
        return cls(orjson.loads(path.read_bytes())["$defs"])

    def definition(self, name: str) -> Schema:
        """The node of a named definition, e.g. ``io.k8s.api.core.v1.PodSpec``."""
        node = self._nodes.get(name)
        if node is None:
            node = Schema(self._defs[name], self, ref=name)
            self._nodes[name] = node
        return node

    def node(self, raw: Mapping[str, Any]) -> Schema:
        """The node for a raw schema fragment, following ``$ref`` and merging the extension
        keys written beside a ``$ref`` (list and patch metadata live there)."""
        ref = raw.get("$ref")
        if ref is None:
            return Schema(raw, self)
        name = ref.rsplit("/", 1)[-1]
        target = self.definition(name)
        extras = {k: v for k, v in raw.items() if k.startswith("x-kubernetes-")}
        if not extras:
            return target
        return Schema({**self._defs[name], **extras}, self, ref=name)

    def definition_name(self, group: str, version: str, kind: str) -> str | None:
        return self._by_gvk.get((group, version, kind))

    def for_kind(self, group: str, version: str, kind: str) -> Schema | None:
        """The root schema of a kind, or None when the release does not define it."""
        name = self._by_gvk.get((group, version, kind))
        return self.definition(name) if name else None

    def raw_definitions(self) -> Mapping[str, Any]:
        """Every definition as upstream wrote it (for publishing OpenAPI documents)."""
        return self._defs
