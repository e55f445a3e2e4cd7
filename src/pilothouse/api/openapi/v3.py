"""OpenAPI v3: one document per group-version, and the ``/openapi/v3`` index of them.

``openapi_v3_group_version`` renders the routes of a group-version with every definition they
reach under ``components.schemas``. ``openapi_v3_index`` lists the group-versions with
``serverRelativeURL: /openapi/v3/apis/apps/v1?hash=<HASH>``, where the hash is the upper-case
hex SHA-512 of the document as ``orjson.dumps`` serializes it (kube-openapi hashes the served
bytes the same way), so clients can cache each document until it changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from pilothouse.api.openapi.definitions import V3_REFS, CustomSchemas, Definitions
from pilothouse.api.openapi.parameters import Parameter
from pilothouse.api.openapi.routes import Body, Operation, PathItem, Response, routes
from pilothouse.api.resources import Registry
from pilothouse.api.schema import Schemas


def openapi_v3_group_version(
    registry: Registry,
    schemas: Schemas,
    group: str,
    version: str,
    *,
    custom_schemas: CustomSchemas | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``/openapi/v3/apis/<group>/<version>`` (``api/v1`` for core)."""
    definitions = Definitions(schemas, refs=V3_REFS, custom_schemas=custom_schemas)
    items = routes(registry, definitions, group, version)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": {item.path: _path_item(item, definitions) for item in items},
        "components": {"schemas": definitions.closure(_used_definitions(items))},
    }


def openapi_v3_index(
    registry: Registry,
    schemas: Schemas | None = None,
    *,
    custom_schemas: CustomSchemas | None = None,
) -> dict[str, Any]:
    """The ``/openapi/v3`` discovery document."""
    schemas = schemas or Schemas.load()
    paths: dict[str, dict[str, str]] = {}
    for group, versions in registry.groups().items():
        for version in versions:
            key = group_version_path(group, version)
            document = openapi_v3_group_version(
                registry, schemas, group, version, custom_schemas=custom_schemas
            )
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={content_hash(document)}"}
    return {"paths": dict(sorted(paths.items()))}


def group_version_path(group: str, version: str) -> str:
    """``api/v1`` or ``apis/apps/v1``: the key of a group-version in the index."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def content_hash(document: dict[str, Any]) -> str:
    return hashlib.sha512(orjson.dumps(document)).hexdigest().upper()


def _used_definitions(items: list[PathItem]) -> set[str]:
    used: set[str] = set()
    for item in items:
        for operation in item.operations:
            if operation.body:
                used.add(operation.body.definition)
            used.update(r.definition for r in operation.responses if r.definition)
    return used


def _path_item(item: PathItem, definitions: Definitions) -> dict[str, Any]:
    out: dict[str, Any] = {op.method: _operation(op, definitions) for op in item.operations}
    if item.parameters:
        out["parameters"] = [_parameter(p) for p in item.parameters]
    return out


def _operation(op: Operation, definitions: Definitions) -> dict[str, Any]:
    out: dict[str, Any] = {"description": op.description, "operationId": op.operation_id}
    if op.query:
        out["parameters"] = [_parameter(p) for p in op.query]
    if op.body:
        out["requestBody"] = _request_body(op.body, definitions)
    out["responses"] = {r.code: _response(r, definitions) for r in op.responses}
    out["tags"] = [op.tag]
    if op.action:
        out["x-kubernetes-action"] = op.action
    if op.gvk:
        group, version, kind = op.gvk
        out["x-kubernetes-group-version-kind"] = {"group": group, "kind": kind, "version": version}
    return out


def _parameter(p: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {"description": p.description, "in": p.location, "name": p.name}
    if p.required:
        out["required"] = True
    out["schema"] = {"type": p.type, "uniqueItems": True}
    return out


def _request_body(body: Body, definitions: Definitions) -> dict[str, Any]:
    schema = definitions.ref(body.definition)
    out: dict[str, Any] = {"content": {t: {"schema": schema} for t in body.media_types}}
    if body.required:
        out["required"] = True
    return out


def _response(response: Response, definitions: Definitions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if response.definition or response.text:
        schema = definitions.ref(response.definition) if response.definition else {"type": "string"}
        out["content"] = {t: {"schema": schema} for t in response.media_types}
    out["description"] = response.description
    return out
