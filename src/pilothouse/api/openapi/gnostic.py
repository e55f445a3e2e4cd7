"""The OpenAPI v2 document as protobuf: ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``.

kubectl 1.27 fetches ``/openapi/v2`` only in this form (and kubectl up to 1.32 falls back to it),
parsing it with gnostic's ``openapi_v2.Document`` message (google/gnostic-models,
``openapiv2/OpenAPIv2.proto``). ``openapi_v2_protobuf`` encodes the parts of a Swagger 2.0
document that kube-apiserver fills: info, paths with their operations, parameters and
responses, definitions, security. Values gnostic keeps as ``Any`` (vendor extensions,
``default``, ``enum``, ``example``) are carried as YAML text, which is how gnostic stores them;
JSON is valid YAML, so we write JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from pilothouse.api.protobuf.wire import (
    bool_field,
    bytes_field,
    double_field,
    string_field,
    varint_field,
)

MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# What kube-apiserver answers with (kube-openapi's handler uses the non-deprecated spelling).
RESPONSE_MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def openapi_v2_protobuf(document: Mapping[str, Any]) -> bytes:
    """The gnostic ``openapi_v2.Document`` encoding of a Swagger 2.0 document."""
    out = string_field(1, document.get("swagger", "2.0"))
    info = document.get("info", {})
    out += _message(2, string_field(1, info.get("title", "")) + string_field(2, info.get("version", "")))
    paths = b"".join(
        _message(2, string_field(1, path) + _message(2, _path_item(item)))
        for path, item in document.get("paths", {}).items()
    )
    out += _message(8, paths)
    out += _message(9, _named_schemas(document.get("definitions", {})))
    for requirement in document.get("security", ()):
        out += _message(12, _security_requirement(requirement))
    out += _message(13, _security_definitions(document.get("securityDefinitions", {})))
    return out + _vendor_extensions(document, 16)


def _message(number: int, body: bytes) -> bytes:
    return bytes_field(number, body)


def _any(value: Any) -> bytes:
    """A gnostic ``Any``: the value as YAML text."""
    return string_field(2, orjson.dumps(value).decode())


def _vendor_extensions(node: Mapping[str, Any], number: int) -> bytes:
    return b"".join(
        _message(number, string_field(1, key) + _message(2, _any(value)))
        for key, value in node.items()
        if key.startswith("x-")
    )


# --- paths ----------------------------------------------------------------------------------


def _path_item(item: Mapping[str, Any]) -> bytes:
    out = b""
    for method, number in _METHODS.items():
        if method in item:
            out += _message(number, _operation(item[method]))
    for parameter in item.get("parameters", ()):
        out += _message(9, _parameters_item(parameter))
    return out + _vendor_extensions(item, 10)


def _operation(op: Mapping[str, Any]) -> bytes:
    out = b"".join(string_field(1, t) for t in op.get("tags", ()))
    out += _optional_string(3, op.get("description"))
    out += _optional_string(5, op.get("operationId"))
    out += b"".join(string_field(6, t) for t in op.get("produces", ()))
    out += b"".join(string_field(7, t) for t in op.get("consumes", ()))
    out += b"".join(_message(8, _parameters_item(p)) for p in op.get("parameters", ()))
    out += _message(9, _responses(op.get("responses", {})))
    out += b"".join(string_field(10, s) for s in op.get("schemes", ()))
    return out + _vendor_extensions(op, 13)


def _optional_string(number: int, value: str | None) -> bytes:
    return string_field(number, value) if value else b""


def _parameters_item(parameter: Mapping[str, Any]) -> bytes:
    if "$ref" in parameter:
        return _message(2, string_field(1, parameter["$ref"]))
    if parameter["in"] == "body":
        body = _common_parameter(parameter, description=1, name=2, location=3, required=4)
        body += _message(5, _schema(parameter.get("schema", {})))
        return _message(1, _message(1, body + _vendor_extensions(parameter, 6)))
    # NonBodyParameter: header 1, formData 2, query 3, path 4; sub-schema layouts differ.
    kinds = {"header": (1, 5, 19, 22), "formData": (2, 6, 20, 23),
             "query": (3, 6, 20, 23), "path": (4, 5, 19, 22)}
    which, type_number, unique_number, extension_number = kinds[parameter["in"]]
    sub = _common_parameter(parameter, required=1, location=2, description=3, name=4)
    sub += _optional_string(type_number, parameter.get("type"))
    sub += _optional_string(type_number + 1, parameter.get("format"))
    if parameter.get("uniqueItems"):
        sub += bool_field(unique_number, True)
    sub += _vendor_extensions(parameter, extension_number)
    return _message(1, _message(2, _message(which, sub)))


def _common_parameter(
    parameter: Mapping[str, Any], *, description: int, name: int, location: int, required: int
) -> bytes:
    out = b""
    if parameter.get("required"):
        out += bool_field(required, True)
    out += string_field(location, parameter["in"])
    out += _optional_string(description, parameter.get("description"))
    return out + string_field(name, parameter["name"])


def _responses(responses: Mapping[str, Any]) -> bytes:
    out = b""
    for code, response in responses.items():
        body = _optional_string(1, response.get("description"))
        if "schema" in response:
            body += _message(2, _message(1, _schema(response["schema"])))
        out += _message(1, string_field(1, code) + _message(2, _message(1, body)))
    return out


# --- schemas --------------------------------------------------------------------------------

_STRING = string_field
_BOOL = bool_field
_INT = varint_field
_DOUBLE = double_field
# Schema keywords with a scalar encoding: keyword -> (field number, encoder).
_SCALAR_KEYWORDS: dict[str, tuple[int, Callable[[int, Any], bytes]]] = {
    "$ref": (1, _STRING), "format": (2, _STRING), "title": (3, _STRING),
    "description": (4, _STRING), "multipleOf": (6, _DOUBLE), "maximum": (7, _DOUBLE),
    "exclusiveMaximum": (8, _BOOL), "minimum": (9, _DOUBLE), "exclusiveMinimum": (10, _BOOL),
    "maxLength": (11, _INT), "minLength": (12, _INT), "pattern": (13, _STRING),
    "maxItems": (14, _INT), "minItems": (15, _INT), "uniqueItems": (16, _BOOL),
    "maxProperties": (17, _INT), "minProperties": (18, _INT), "discriminator": (26, _STRING),
    "readOnly": (27, _BOOL),
}


def _schema(schema: Mapping[str, Any]) -> bytes:
    out = b""
    for keyword, value in schema.items():
        if keyword in _SCALAR_KEYWORDS:
            number, encode = _SCALAR_KEYWORDS[keyword]
            out += encode(number, value)
        elif keyword == "default":
            out += _message(5, _any(value))
        elif keyword == "required":
            out += b"".join(string_field(19, name) for name in value)
        elif keyword == "enum":
            out += b"".join(_message(20, _any(v)) for v in value)
        elif keyword == "additionalProperties":
            item = _message(1, _schema(value)) if isinstance(value, Mapping) else bool_field(2, value)
            out += _message(21, item)
        elif keyword == "type":
            types = value if isinstance(value, list) else [value]
            out += _message(22, b"".join(string_field(1, t) for t in types))
        elif keyword == "items":
            items = value if isinstance(value, list) else [value]
            out += _message(23, b"".join(_message(1, _schema(i)) for i in items))
        elif keyword == "allOf":
            out += b"".join(_message(24, _schema(s)) for s in value)
        elif keyword == "properties":
            out += _message(25, _named_schemas(value))
        elif keyword == "example":
            out += _message(30, _any(value))
    return out + _vendor_extensions(schema, 31)


def _named_schemas(schemas: Mapping[str, Any]) -> bytes:
    return b"".join(
        _message(1, string_field(1, name) + _message(2, _schema(schema)))
        for name, schema in schemas.items()
    )


# --- security -------------------------------------------------------------------------------


def _security_requirement(requirement: Mapping[str, list[str]]) -> bytes:
    return b"".join(
        _message(1, string_field(1, name) + _message(2, b"".join(string_field(1, s) for s in scopes)))
        for name, scopes in requirement.items()
    )


def _security_definitions(definitions: Mapping[str, Any]) -> bytes:
    out = b""
    for name, definition in definitions.items():
        if definition.get("type") != "apiKey":
            continue  # kube-apiserver publishes only its bearer token, an apiKey scheme
        api_key = (
            string_field(1, "apiKey")
            + string_field(2, definition["name"])
            + string_field(3, definition["in"])
            + _optional_string(4, definition.get("description"))
        )
        out += _message(1, string_field(1, name) + _message(2, _message(2, api_key)))
    return out
