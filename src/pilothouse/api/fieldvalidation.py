"""Field validation of request bodies: unknown, duplicate and wrongly typed fields, with the
``fieldValidation`` directive (Strict, Warn, Ignore) kube-apiserver applies.

kube-apiserver decodes bodies into Go structs: unknown fields are dropped (whatever the
directive), a value of the wrong JSON type fails the decode (400), and with Strict or Warn
the decoder also reports unknown and duplicate fields, in its words:
``unknown field "spec.containers[0].imagePullPolicyX"``, ``duplicate field "metadata.name"``.

- ``check_fields`` is that decode for create and update bodies: it prunes unknown fields from
  the object in place, raises BadRequest for a wrong type (``Deployment in version "v1"
  cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field
  DeploymentSpec.spec.replicas of type int32``) and, with Strict, for unknown or duplicate
  fields (``... cannot be handled as a Deployment: strict decoding error: unknown field
  "spec.foo"``); with Warn it returns the problems as warning texts (the server sends each as
  ``Warning: 299 - "<text>"``); with Ignore it returns nothing.
- ``check_patched_fields`` is the same for the result of a JSON, merge or strategic merge
  patch, where kube-apiserver answers 422 Invalid on the field ``patch``.
- ``find_duplicate_fields_json`` / ``find_duplicate_fields_yaml`` report repeated keys in a
  raw body; use them only for Strict and Warn (they parse again, slowly, since orjson keeps
  the last value silently).
- Nodes of type ``any`` (RawExtension and the like) are not looked into; ``metadata``,
  ``apiVersion`` and ``kind`` are part of every kind's schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from pilothouse.api import errors
from pilothouse.api.schema import Schema

IGNORE = "Ignore"
WARN = "Warn"
STRICT = "Strict"
DIRECTIVES = ("", IGNORE, STRICT, WARN)  # sorted, as the NotSupported message lists them

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


def parse_directive(value: str | None, *, options_kind: str) -> str:
    """The ``fieldValidation`` query parameter as a directive (Warn when absent), or the 422
    kube-apiserver answers for another value; ``options_kind`` is CreateOptions,
    UpdateOptions or PatchOptions."""
    if value is None or value in DIRECTIVES:
        return value or WARN
    raise errors.Invalid.of(
        options_kind,
        "",
        [errors.not_supported("fieldValidation", value, list(DIRECTIVES))],
        group="meta.k8s.io",
    )


@dataclass
class Findings:
    """What decoding an object into its Go type would report."""

    unknown: list[str] = field(default_factory=list)  # paths of the pruned unknown fields
    type_error: str | None = None  # the first "json: cannot unmarshal ..." error

    def strict_errors(self, duplicates: list[str] | tuple[str, ...] = ()) -> list[str]:
        return [*duplicates, *(f'unknown field "{path}"' for path in self.unknown)]


def strict_message(problems: list[str]) -> str:
    """runtime.NewStrictDecodingError(...).Error()."""
    return "strict decoding error: " + ", ".join(problems)


def find_problems(obj: dict[str, Any], schema: Schema) -> Findings:
    """Walk ``obj`` against ``schema``, pruning unknown fields in place."""
    findings = Findings()
    _check_object(obj, schema, "", "", findings)
    return findings


def check_fields(
    obj: dict[str, Any],
    schema: Schema,
    *,
    mode: str,
    duplicates: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """Field validation of a create or update body (see the module docstring). Run it in
    every mode: Ignore still prunes unknown fields and rejects wrong types.
    ``duplicates`` are the errors ``find_duplicate_fields_*`` found in the raw body."""
    findings = find_problems(obj, schema)
    if findings.type_error is not None:
        raise errors.BadRequest(_cannot_handle(obj, findings.type_error))
    problems = findings.strict_errors(duplicates)
    if not problems or mode == IGNORE:
        return []
    if mode == WARN:
        return problems
    raise errors.BadRequest(_cannot_handle(obj, strict_message(problems)))


def check_patched_fields(
    patched: dict[str, Any],
    schema: Schema,
    *,
    mode: str,
    patch_value: str | Callable[[], str],
    duplicates: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """Field validation of a patched object, as kube-apiserver's patch handler words it:
    422 Invalid with ``patch: Invalid value: "<patch_value>": <error>``. ``patch_value`` is
    what upstream prints there: the patched object's JSON for JSON and merge patches, fmt's
    ``%+v`` of the patch (``gojson.format_value``) for strategic merge patches; pass a
    function to render it only when there is an error to report.
    ``duplicates`` are the duplicate-field errors of the patch body itself."""
    findings = find_problems(patched, schema)
    if findings.type_error is not None:
        raise _patch_invalid(patch_value, findings.type_error)
    problems = findings.strict_errors(duplicates)
    if not problems or mode == IGNORE:
        return []
    if mode == WARN:
        return problems
    raise _patch_invalid(patch_value, strict_message(problems))


def _patch_invalid(patch_value: str | Callable[[], str], detail: str) -> errors.Invalid:
    value = patch_value() if callable(patch_value) else patch_value
    return errors.Invalid.of("", "", [errors.invalid("patch", value, detail)])


def _cannot_handle(obj: dict[str, Any], detail: str) -> str:
    kind = obj.get("kind") or ""
    version = str(obj.get("apiVersion") or "").rpartition("/")[2]
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}'


# --- the walk ----------------------------------------------------------------------------------


def _check_object(
    value: dict[str, Any], node: Schema, path: str, fields: str, findings: Findings
) -> None:
    """Check a struct's fields; ``path`` is the strict decoder's path of the struct (map keys
    and list indices included), ``fields`` Go's field path (field names only)."""
    properties = node.properties
    struct = _struct_name(node)
    unknown: list[str] = []
    for key, item in value.items():
        child = properties.get(key)
        if child is None:
            if not node.preserve_unknown_fields:
                unknown.append(key)
                findings.unknown.append(f"{path}.{key}" if path else key)
            continue
        if item is not None and child.type != "any":
            _check(
                item,
                child,
                f"{path}.{key}" if path else key,
                f"{fields}.{key}" if fields else key,
                struct,
                findings,
            )
    for key in unknown:
        del value[key]


def _check(
    value: Any, node: Schema, path: str, fields: str, struct: str, findings: Findings
) -> None:
    kind = node.type
    if kind == "object":
        if isinstance(value, dict):
            _check_object(value, node, path, fields, findings)
        else:
            _type_error(value, node, fields, struct, findings)
    elif kind == "map":
        if not isinstance(value, dict):
            _type_error(value, node, fields, struct, findings)
            return
        values = node.values
        if values.type == "any":
            return
        for key, item in value.items():
            if item is not None:
                _check(item, values, f"{path}.{key}", fields, struct, findings)
    elif kind == "array":
        if not isinstance(value, list):
            _type_error(value, node, fields, struct, findings)
            return
        items = node.items
        if items.type == "any":
            return
        for index, item in enumerate(value):
            if item is not None:
                _check(item, items, f"{path}[{index}]", fields, struct, findings)
    elif not _scalar_fits(value, node):
        _type_error(value, node, fields, struct, findings)


def _scalar_fits(value: Any, node: Schema) -> bool:
    kind = node.type
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        low, high = _INT_RANGES.get(node.format, _INT_RANGES["int64"])
        return low <= value <= high
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "int-or-string":
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if kind == "quantity":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return True


def _type_error(value: Any, node: Schema, fields: str, struct: str, findings: Findings) -> None:
    """Record encoding/json's UnmarshalTypeError (or the custom unmarshaller's error) for the
    first wrongly typed value."""
    if findings.type_error is not None:
        return
    if node.type == "quantity":
        findings.type_error = f"quantities must match the regular expression '{_QUANTITY_PATTERN}'"
    elif node.type == "int-or-string":
        findings.type_error = (
            f"json: cannot unmarshal {_json_description(value, integer=True)} into Go value "
            "of type int32"
        )
    else:
        findings.type_error = (
            f"json: cannot unmarshal {_json_description(value, integer=node.type == 'integer')} "
            f"into Go struct field {struct}.{fields} of type {_go_type(node)}"
        )


def _json_description(value: Any, *, integer: bool) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        # Numbers that do not fit an integer field are named with their literal.
        return f"number {value!r}" if integer else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _struct_name(node: Schema) -> str:
    return node.ref.rsplit(".", 1)[-1] if node.ref else ""


def _go_type(node: Schema) -> str:
    """The Go type kube's types give a field of this schema."""
    kind = node.type
    if kind == "string":
        return "[]uint8" if node.format == "byte" else "string"
    if kind == "integer":
        return node.format if node.format in _INT_RANGES else "int"
    if kind == "number":
        return "float32" if node.format == "float" else "float64"
    if kind == "boolean":
        return "bool"
    if kind == "array":
        return "[]" + _go_type(node.items)
    if kind == "map":
        return "map[string]" + _go_type(node.values)
    if node.ref:
        package, _, name = node.ref.rpartition(".")
        return f"{package.rpartition('.')[2]}.{name}"
    return "interface {}"


# --- duplicate fields ---------------------------------------------------------------------------


def find_duplicate_fields_json(body: bytes | str) -> list[str]:
    """The strict JSON decoder's ``duplicate field "<path>"`` errors for a raw JSON body
    (which must already be known to parse)."""
    repeated: dict[int, list[str]] = {}
    keep_alive: list[dict[str, Any]] = []

    def collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                repeated.setdefault(id(obj), []).append(key)
            obj[key] = value
        keep_alive.append(obj)
        return obj

    document = json.loads(body, object_pairs_hook=collect)
    if not repeated:
        return []
    found: list[str] = []
    _report_repeated(document, "", repeated, found)
    return found


def _report_repeated(
    value: Any, path: str, repeated: dict[int, list[str]], found: list[str]
) -> None:
    if isinstance(value, dict):
        for key in repeated.get(id(value), ()):
            found.append(f'duplicate field "{path}.{key}"' if path else f'duplicate field "{key}"')
        for key, item in value.items():
            _report_repeated(item, f"{path}.{key}" if path else key, repeated, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _report_repeated(item, f"{path}[{index}]", repeated, found)


class _DuplicateKeyLoader(yaml.CSafeLoader):
    """A YAML loader that records repeated mapping keys as yaml.v2's strict mode words them."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.repeated: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            marker = (type(key), key) if not isinstance(key, (list, dict)) else None
            if marker is not None and marker in seen:
                self.repeated.append(
                    f"line {key_node.start_mark.line + 1}: key {_go_syntax(key)} already set in map"
                )
            seen.add(marker)
        return super().construct_mapping(node, deep=deep)


def _go_syntax(key: Any) -> str:
    """fmt's %#v of a YAML key."""
    if isinstance(key, str):
        return json.dumps(key, ensure_ascii=False)
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def find_duplicate_fields_yaml(body: bytes | str) -> list[str]:
    """The strict YAML decoder's error for repeated keys in a raw YAML body, as one text (the
    way sigs.k8s.io/yaml reports them), or nothing."""
    loader = _DuplicateKeyLoader(body)
    try:
        loader.get_single_data()
    finally:
        loader.dispose()
    if not loader.repeated:
        return []
    lines = "\n".join(f"  {line}" for line in loader.repeated)
    return [f"error converting YAML to JSON: yaml: unmarshal errors:\n{lines}"]
