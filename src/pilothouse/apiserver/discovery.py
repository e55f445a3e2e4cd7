"""Discovery (/api, /apis, aggregated and legacy), /version and the OpenAPI documents.

Documents are built from the kinds registry on first use and cached as bytes; a registry
change (a CustomResourceDefinition) drops the cache. kubectl asks for aggregated discovery
first and uses nothing else when the reply's Content-Type names the aggregated kind; the
Python DynamicClient uses only the legacy documents, so both are served.
"""

from __future__ import annotations

import base64
import hashlib
import platform
import sys
from typing import Any

import orjson
from aiohttp import web

from pilothouse import __version__
from pilothouse.api import errors
from pilothouse.api.openapi import (
    V2_PROTOBUF_MEDIA_TYPE,
    V2_PROTOBUF_RESPONSE_MEDIA_TYPE,
    openapi_v2,
    openapi_v2_protobuf,
    openapi_v3_group_version,
    openapi_v3_index,
)
from pilothouse.api.resources import Registry, ResourceType
from pilothouse.api.schema import KUBERNETES_VERSION, Schemas

AGGREGATED_KIND = "APIGroupDiscoveryList"
AGGREGATED_GROUP = "apidiscovery.k8s.io"

# The order kube-apiserver lists groups in (kubectl resolves ambiguous short names by it).
GROUP_ORDER = [
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
    "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
    "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io",
]


def version_info() -> dict[str, str]:
    major, minor = KUBERNETES_VERSION.split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{KUBERNETES_VERSION}.0+pilothouse-{__version__}",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": f"python{platform.python_version()}",
        "compiler": sys.implementation.name,
        "platform": f"linux/{_arch()}",
    }


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _group_sort_key(group: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER), group)


def _verbs(resource: ResourceType) -> list[str]:
    return sorted(resource.verbs)


def _storage_version_hash(resource: ResourceType) -> str:
    group, version = resource.stored_in
    digest = hashlib.sha256(f"{group}/{version}/{resource.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


class Discovery:
    def __init__(self, *, registry: Registry, schemas: Schemas, server_address: str):
        self.registry = registry
        self.schemas = schemas
        self.server_address = server_address
        self._cache: dict[str, bytes] = {}
        registry.on_change(self._cache.clear)

    def _cached(self, key: str, build: Any) -> bytes:
        body = self._cache.get(key)
        if body is None:
            body = orjson.dumps(build())
            self._cache[key] = body
        return body

    # --- legacy -------------------------------------------------------------------------------

    def api_versions(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}
            ],
        }

    def _group(self, name: str, versions: list[str]) -> dict[str, Any]:
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[0]}

    def api_group_list(self) -> dict[str, Any]:
        groups = self.registry.groups()
        names = sorted((g for g in groups if g), key=_group_sort_key)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [self._group(g, groups[g]) for g in names],
        }

    def api_group(self, group: str) -> dict[str, Any]:
        versions = self.registry.groups().get(group)
        if not versions or not group:
            raise errors.NotFound("the server could not find the requested resource")
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group(group, versions)}

    def api_resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources = self.registry.in_version(group, version)
        if not resources:
            raise errors.NotFound("the server could not find the requested resource")
        entries: list[dict[str, Any]] = []
        for r in sorted(resources, key=lambda r: r.plural):
            entry: dict[str, Any] = {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": _verbs(r),
                "storageVersionHash": _storage_version_hash(r),
            }
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            entries.append(entry)
            for sub in r.subresources:
                group, version, kind = r.subresource_kind(sub)
                sub_entry: dict[str, Any] = {
                    "name": f"{r.plural}/{sub.name}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": kind,
                    "verbs": sorted(sub.verbs),
                }
                if (group, version) != (r.group, r.version):
                    sub_entry["group"], sub_entry["version"] = group, version
                entries.append(sub_entry)
        group_version = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": entries,
        }

    # --- aggregated ------------------------------------------------------------------------

    def aggregated(self, *, core: bool, version: str) -> dict[str, Any]:
        groups = self.registry.groups()
        names = [""] if core else sorted((g for g in groups if g), key=_group_sort_key)
        items = []
        for name in names:
            versions = []
            for v in groups.get(name, []):
                versions.append({
                    "version": v,
                    "resources": [
                        self._aggregated_resource(r)
                        for r in sorted(self.registry.in_version(name, v), key=lambda r: r.plural)
                    ],
                    "freshness": "Current",
                })
            metadata = {"name": name, "creationTimestamp": None} if name else {}
            items.append({"metadata": metadata, "versions": versions})
        return {
            "kind": AGGREGATED_KIND,
            "apiVersion": f"{AGGREGATED_GROUP}/{version}",
            "metadata": {},
            "items": items,
        }

    def _aggregated_resource(self, r: ResourceType) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "resource": r.plural,
            "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
            "scope": "Namespaced" if r.namespaced else "Cluster",
            "singularResource": r.singular,
            "verbs": _verbs(r),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        if r.subresources:
            entry["subresources"] = [
                {
                    "subresource": s.name,
                    "responseKind": dict(zip(("group", "version", "kind"),
                                             r.subresource_kind(s), strict=True)),
                    "verbs": sorted(s.verbs),
                }
                for s in r.subresources
            ]
        return entry

    # --- handlers ---------------------------------------------------------------------------

    def respond(self, request: web.Request, path: list[str]) -> web.Response | None:
        """The discovery or OpenAPI document at ``path``, or None if it is not one."""
        if path == ["version"]:
            return _json(orjson.dumps(version_info()))
        if path and path[0] == "openapi":
            return self.openapi(request, path[1:])
        if path[:1] not in (["api"], ["apis"]):
            return None
        if len(path) == 1:
            aggregated = _wants_aggregated(request.headers.get("Accept", ""))
            core = path[0] == "api"
            if aggregated:
                key = f"aggregated/{path[0]}/{aggregated}"
                body = self._cached(key, lambda: self.aggregated(core=core, version=aggregated))
                return web.Response(
                    body=body,
                    headers={"Content-Type": f"application/json;g={AGGREGATED_GROUP};"
                             f"v={aggregated};as={AGGREGATED_KIND}",
                             "Vary": "Accept"},
                )
            build = self.api_versions if core else self.api_group_list
            return _json(self._cached(path[0], build), vary=True)
        if path[0] == "api" and len(path) == 2:
            return _json(self._cached("api/" + path[1], lambda: self.api_resource_list("", path[1])))
        if path[0] == "apis" and len(path) == 2:
            return _json(self._cached("apis/" + path[1], lambda: self.api_group(path[1])))
        if path[0] == "apis" and len(path) == 3:
            key = f"apis/{path[1]}/{path[2]}"
            return _json(self._cached(key, lambda: self.api_resource_list(path[1], path[2])))
        return None

    def _openapi_v2(self) -> dict[str, Any]:
        return openapi_v2(self.registry, self.schemas)

    def openapi(self, request: web.Request, path: list[str]) -> web.Response:
        if path == ["v2"]:
            # kubectl 1.27 and 1.28 read the v2 document only as protobuf (gnostic).
            if V2_PROTOBUF_MEDIA_TYPE in request.headers.get("Accept", ""):
                body = self._cache.get("openapi/v2.pb")
                if body is None:
                    body = openapi_v2_protobuf(self._openapi_v2())
                    self._cache["openapi/v2.pb"] = body
                return web.Response(
                    body=body, headers={"Content-Type": V2_PROTOBUF_RESPONSE_MEDIA_TYPE}
                )
            return _json(self._cached("openapi/v2", self._openapi_v2))
        if path == ["v3"]:
            return _json(self._cached("openapi/v3", lambda: openapi_v3_index(self.registry)))
        if len(path) >= 3 and path[0] == "v3":
            rest = path[1:]
            if rest[0] == "api" and len(rest) == 2:
                group, version = "", rest[1]
            elif rest[0] == "apis" and len(rest) == 3:
                group, version = rest[1], rest[2]
            else:
                raise errors.NotFound("the server could not find the requested resource")
            if version not in self.registry.groups().get(group, []):
                raise errors.NotFound("the server could not find the requested resource")
            body = self._cached(
                f"openapi/v3/{group}/{version}",
                lambda: openapi_v3_group_version(self.registry, self.schemas, group, version),
            )
            response = _json(body)
            if request.query.get("hash"):
                response.headers["Cache-Control"] = "public, immutable"
            return response
        raise errors.NotFound("the server could not find the requested resource")


def _wants_aggregated(accept: str) -> str:
    """The aggregated discovery version the client asks for ("v2", "v2beta1") or ""."""
    for clause in accept.split(","):
        params = dict(
            p.strip().split("=", 1) for p in clause.split(";")[1:] if "=" in p
        )
        if (params.get("g"), params.get("as")) == (AGGREGATED_GROUP, AGGREGATED_KIND) and params.get(
            "v"
        ) in ("v2", "v2beta1"):
            return params["v"]
    return ""


def _json(body: bytes, *, vary: bool = False) -> web.Response:
    response = web.Response(body=body, content_type="application/json")
    if vary:
        response.headers["Vary"] = "Accept"
    return response
