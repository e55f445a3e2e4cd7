"""OpenAPI v2 (Swagger 2.0): the single ``/openapi/v2`` document of every served group-version.

kubectl up to 1.32 reads it (as protobuf, see ``gnostic``) when the v3 documents do not tell it
that PATCH takes ``fieldValidation``, and kubectl 1.27 always does for ``apply``, ``create -f``
and ``replace``: its ``definitions`` drive client-side validation and strategic merge patches.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.openapi.definitions import V2_REFS, CustomSchemas, Definitions
from pilothouse.api.openapi.parameters import Parameter
from pilothouse.api.openapi.routes import Operation, PathItem, Response, routes
from pilothouse.api.resources import Registry
from pilothouse.api.schema import KUBERNETES_VERSION, Schemas

_SECURITY_DEFINITIONS = {
    "BearerToken": {
        "description": "Bearer Token authentication",
        "in": "header",
        "name": "authorization",
        "type": "apiKey",
    }
}


def openapi_v2(
    registry: Registry, schemas: Schemas, *, custom_schemas: CustomSchemas | None = None
) -> dict[str, Any]:
    """The Swagger 2.0 document of ``/openapi/v2``."""
    definitions = Definitions(schemas, refs=V2_REFS, custom_schemas=custom_schemas)
    items: list[PathItem] = []
    for group, versions in registry.groups().items():
        for version in versions:
            items.extend(routes(registry, definitions, group, version))
    used: set[str] = set()
    paths = {}
    for item in sorted(items, key=lambda i: i.path):
        paths[item.path] = _path_item(item, definitions, used)
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": f"v{KUBERNETES_VERSION}.0"},
        "paths": paths,
        "definitions": definitions.closure(used),
        "securityDefinitions": _SECURITY_DEFINITIONS,
        "security": [{"BearerToken": []}],
    }


def _path_item(item: PathItem, definitions: Definitions, used: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {op.method: _operation(op, definitions, used) for op in item.operations}
    if item.parameters:
        out["parameters"] = [_parameter(p) for p in item.parameters]
    return out


def _operation(op: Operation, definitions: Definitions, used: set[str]) -> dict[str, Any]:
    parameters = []
    if op.body:
        used.add(op.body.definition)
        body: dict[str, Any] = {"in": "body", "name": "body"}
        if op.body.required:
            body["required"] = True
        body["schema"] = definitions.ref(op.body.definition)
        parameters.append(body)
    parameters.extend(_parameter(p) for p in op.query)
    produces: list[str] = []
    for response in op.responses:
        produces.extend(t for t in response.media_types if t not in produces)
        if response.definition:
            used.add(response.definition)
    out: dict[str, Any] = {
        "consumes": list(op.body.media_types) if op.body else ["*/*"],
        "description": op.description,
        "operationId": op.operation_id,
    }
    if parameters:
        out["parameters"] = parameters
    out["produces"] = produces
    out["responses"] = {r.code: _response(r, definitions) for r in op.responses}
    out["schemes"] = ["https"]
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
    out["type"] = p.type
    out["uniqueItems"] = True
    return out


def _response(response: Response, definitions: Definitions) -> dict[str, Any]:
    out: dict[str, Any] = {"description": response.description}
    if response.definition:
        out["schema"] = definitions.ref(response.definition)
    elif response.text:
        out["schema"] = {"type": "string"}
    return out
