"""Schema definitions for the OpenAPI documents, in the shape kube-apiserver publishes them.

The upstream definitions come from ``kubernetes-validate``, which rewrote them as JSON Schema:
``"type": ["string", "null"]``, ``$ref: "#/$defs/..."``, IntOrString and Quantity as
``oneOf``, and an ``enum`` on every ``apiVersion``/``kind`` property. ``Definitions`` turns them
back into OpenAPI form: a single ``type``, ``$ref`` to ``#/components/schemas/`` (v3) or
``#/definitions/`` (v2) with its siblings (description, ``x-kubernetes-*``) kept beside it as
kube-apiserver 1.33 does, ``type: string, format: int-or-string`` for IntOrString and ``type:
string`` for Quantity. Nothing else is dropped, so the patch and list metadata kubectl computes
strategic merge patches from is exactly upstream's.

Kinds without an upstream definition (custom resources) get one named the way
apiextensions-apiserver names them (``com.example.stable.v1.CronTab``): the caller's schema
when it has one, otherwise an object that preserves unknown fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pilothouse.api.resources import ResourceType
from pilothouse.api.schema import Schemas

V2_REFS = "#/definitions/"
V3_REFS = "#/components/schemas/"

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# kubernetes-validate replaced these two with ``oneOf``; this is how kube-apiserver publishes them.
_REPLACED: dict[str, dict[str, Any]] = {
    _INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in "
        "JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  "
        "This allows you to have, for example, a JSON field that can accept a name or number.",
        "format": "int-or-string",
        "type": "string",
    },
    _QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number. It provides "
        "convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and "
        "AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= "
        "<signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the \"\" case in "
        "<decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | "
        "<digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | "
        ".<digits> <sign>            ::= \"+\" | \"-\" <signedNumber>    ::= <number> | "
        "<sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> "
        "<binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; "
        "See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | \"\" | "
        "k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the "
        "capitalization.)\n\n<decimalExponent> ::= \"e\" <signedNumber> | \"E\" <signedNumber> "
        "```\n\nNo matter which of the three exponent forms is used, no quantity may represent "
        "a number greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places. "
        "Numbers larger or more precise will be capped or rounded up. (E.g.: 0.1m will rounded "
        "up to 1m.) This may be extended in the future if we require larger or smaller "
        "quantities.\n\nWhen a Quantity is parsed from a string, it will remember the type of "
        "suffix it had, and will use the same type again when it is serialized.\n\nBefore "
        "serializing, Quantity will be put in \"canonical form\". This means that "
        "Exponent/suffix will be adjusted up or down (with a corresponding increase or decrease "
        "in Mantissa) such that:\n\n- No precision is lost - No fractional digits will be "
        "emitted - The exponent (or suffix) is as large as possible.\n\nThe sign will be "
        "omitted unless the number is negative.\n\nExamples:\n\n- 1.5 will be serialized as "
        "\"1500m\" - 1.5Gi will be serialized as \"1536Mi\"\n\nNote that the quantity will "
        "NEVER be internally represented by a floating point number. That is the whole point of "
        "this exercise.\n\nNon-canonical values will still parse as long as they are well "
        "formed, but will be re-emitted in their canonical form. (So always use canonical form, "
        "or don't diff.)\n\nThis format is intended to make it difficult to use these numbers "
        "without writing some sort of special handling code in the hopes that that will cause "
        "implementors to also use a fixed point implementation.",
        "type": "string",
    },
}

# OpenAPI v2 has no such keywords; kube-apiserver drops them from custom resource schemas.
_NOT_IN_V2 = ("nullable", "oneOf", "anyOf", "not")

_API_VERSION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND = (
    "Kind is a string value representing the REST resource this object represents. Servers may "
    "infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
_METADATA = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_METADATA = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)

CustomSchemas = Mapping[tuple[str, str, str], Mapping[str, Any]]


class Definitions:
    """The definitions one document refers to, converted for its OpenAPI version.

    ``custom_schemas`` maps (group, version, kind) of custom resources to their structural
    schema (a CRD version's ``schema.openAPIV3Schema``).
    """

    def __init__(
        self, schemas: Schemas, *, refs: str, custom_schemas: CustomSchemas | None = None
    ):
        self._schemas = schemas
        self._refs = refs
        self._custom_schemas = custom_schemas or {}
        self._custom: dict[str, dict[str, Any]] = {}

    def builtin(self, group: str, version: str, kind: str) -> bool:
        """Whether upstream defines this kind (and so supports strategic merge patch)."""
        return self._schemas.definition_name(group, version, kind) is not None

    def ref(self, name: str) -> dict[str, str]:
        return {"$ref": self._refs + name}

    def name(self, group: str, version: str, kind: str) -> str:
        """The definition name of a built-in kind, or of a custom kind registered before."""
        found = self._schemas.definition_name(group, version, kind)
        return found or _custom_name(group, version, kind)

    def register_custom(self, resource: ResourceType) -> None:
        """Define a custom resource's kind and list kind (no-op for built-in kinds)."""
        if self.builtin(resource.group, resource.version, resource.kind):
            return
        kind = _custom_name(resource.group, resource.version, resource.kind)
        listed = _custom_name(resource.group, resource.version, resource.list_kind)
        key = (resource.group, resource.version, resource.kind)
        self._custom[kind] = self._custom_object(resource, self._custom_schemas.get(key))
        self._custom[listed] = self._custom_list(resource, kind)

    def closure(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The named definitions and all they reference, converted, sorted by name."""
        out: dict[str, dict[str, Any]] = {}
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in out:
                continue
            converted = self._definition(name)
            out[name] = converted
            pending.extend(_referenced(converted, self._refs))
        return dict(sorted(out.items()))

    # --- conversion -----------------------------------------------------------------------

    def _definition(self, name: str) -> dict[str, Any]:
        if name in self._custom:
            return self._custom[name]
        if name in _REPLACED:
            return dict(_REPLACED[name])
        return self._convert(self._schemas.raw_definitions()[name])

    def _convert(self, node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref":
                out[key] = self._refs + value.rsplit("/", 1)[-1]
            elif key == "type":
                out[key] = _single_type(value)
            elif key == "properties":
                out[key] = {
                    name: self._convert(self._without_enum(name, prop))
                    for name, prop in value.items()
                }
            elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
                out[key] = self._convert(value)
            elif key in ("allOf", "oneOf", "anyOf"):
                out[key] = [self._convert(v) for v in value]
            else:
                out[key] = value
        return out

    @staticmethod
    def _without_enum(name: str, prop: Mapping[str, Any]) -> Mapping[str, Any]:
        # kubernetes-validate pins apiVersion and kind with an enum; upstream does not.
        if name in ("apiVersion", "kind") and "enum" in prop:
            return {k: v for k, v in prop.items() if k != "enum"}
        return prop

    # --- custom resources -----------------------------------------------------------------

    def _custom_object(
        self, resource: ResourceType, schema: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = dict(schema or {"x-kubernetes-preserve-unknown-fields": True})
        if self._refs == V2_REFS:
            body = _v2_compatible(body)
        properties = dict(body.get("properties", {}))
        properties.update(
            apiVersion={"description": _API_VERSION, "type": "string"},
            kind={"description": _KIND, "type": "string"},
            metadata={**self.ref(_META + "ObjectMeta"), "description": _METADATA},
        )
        body["properties"] = dict(sorted(properties.items()))
        body["type"] = "object"
        body["x-kubernetes-group-version-kind"] = [_gvk(resource, resource.kind)]
        return body

    def _custom_list(self, resource: ResourceType, item: str) -> dict[str, Any]:
        return {
            "description": f"{resource.kind}List is a list of {resource.kind}",
            "properties": {
                "apiVersion": {"description": _API_VERSION, "type": "string"},
                "items": {
                    "description": "List of " + resource.plural + ". More info: "
                    "https://git.k8s.io/community/contributors/devel/api-conventions.md",
                    "items": self.ref(item),
                    "type": "array",
                },
                "kind": {"description": _KIND, "type": "string"},
                "metadata": {**self.ref(_META + "ListMeta"), "description": _LIST_METADATA},
            },
            "required": ["items"],
            "type": "object",
            "x-kubernetes-group-version-kind": [_gvk(resource, resource.list_kind)],
        }


def _custom_name(group: str, version: str, kind: str) -> str:
    """``stable.example.com``, ``v1``, ``CronTab`` -> ``com.example.stable.v1.CronTab``."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _gvk(resource: ResourceType, kind: str) -> dict[str, str]:
    return {"group": resource.group, "kind": kind, "version": resource.version}


def _single_type(value: Any) -> Any:
    if isinstance(value, list):
        return next((t for t in value if t != "null"), value[0])
    return value


def _v2_compatible(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _v2_compatible(v) for k, v in node.items() if k not in _NOT_IN_V2}
    if isinstance(node, list):
        return [_v2_compatible(v) for v in node]
    return node


def _referenced(node: Any, refs: str) -> Iterable[str]:
    """Names of the definitions a converted schema refers to."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(refs):
            yield ref[len(refs) :]
        for value in node.values():
            yield from _referenced(value, refs)
    elif isinstance(node, list):
        for value in node:
            yield from _referenced(value, refs)
