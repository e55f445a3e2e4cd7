"""The operations kube-apiserver publishes for one group-version, independent of OpenAPI version.

For every resource of the registry in the group-version, ``routes`` lists the paths and
operations ``k8s.io/apiserver``'s installer registers, named as it names them
(``listAppsV1NamespacedDeployment``, ``patchCoreV1NamespacedPodStatus``, ...): list, create and
deletecollection on the collection, list across namespaces, get/replace/patch/delete on an
item, the deprecated ``/watch/`` paths, and each subresource (status and scale read, replace
and patch; binding, eviction and token create; log read; exec, attach and portforward
connect). Each operation carries the query parameters, request body and responses upstream
declares; ``v2`` and ``v3`` render them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pilothouse.api.openapi import parameters as params
from pilothouse.api.openapi.definitions import Definitions
from pilothouse.api.openapi.parameters import Parameter
from pilothouse.api.resources import Registry, ResourceType, Subresource

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
STATUS = _META + "Status"
DELETE_OPTIONS = _META + "DeleteOptions"
PATCH = _META + "Patch"
WATCH_EVENT = _META + "WatchEvent"
API_RESOURCE_LIST = _META + "APIResourceList"

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_WATCH = "application/json;stream=watch"
PROTOBUF_WATCH = "application/vnd.kubernetes.protobuf;stream=watch"

APPLY_PATCH = "application/apply-patch+yaml"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

_CONNECT = ("exec", "attach", "portforward", "proxy")


@dataclass(frozen=True)
class Body:
    definition: str
    media_types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class Response:
    code: str
    description: str
    definition: str | None = None  # None: no body (401) or plain text (``text``)
    media_types: tuple[str, ...] = ()
    text: bool = False


@dataclass(frozen=True)
class Operation:
    method: str  # get, put, post, delete, patch
    operation_id: str
    description: str
    tag: str
    action: str | None  # x-kubernetes-action
    gvk: tuple[str, str, str] | None  # x-kubernetes-group-version-kind (group, version, kind)
    query: tuple[Parameter, ...] = ()
    body: Body | None = None
    responses: tuple[Response, ...] = ()


@dataclass(frozen=True)
class PathItem:
    path: str
    parameters: tuple[Parameter, ...]
    operations: tuple[Operation, ...]


def prefix(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def tag(group: str, version: str) -> str:
    """``core_v1``, ``apps_v1``, ``rbacAuthorization_v1``."""
    words = _group_words(group)
    return words[0] + "".join(w.capitalize() for w in words[1:]) + "_" + version


def _group_words(group: str) -> list[str]:
    return (group.removesuffix(".k8s.io") or "core").replace("-", ".").split(".")


def _id_part(group: str, version: str) -> str:
    """``CoreV1``, ``AppsV1``, ``RbacAuthorizationV1``."""
    return "".join(w.capitalize() for w in _group_words(group)) + version.capitalize()


def routes(registry: Registry, definitions: Definitions, group: str, version: str) -> list[PathItem]:
    """Every path of the group-version document, sorted by path. Custom resources met on the
    way get their definitions registered in ``definitions``."""
    items: list[PathItem] = [_resources_path(group, version)]
    for resource in sorted(registry.in_version(group, version), key=lambda r: r.plural):
        definitions.register_custom(resource)
        items.extend(_Resource(resource, definitions).paths())
    return sorted(items, key=lambda item: item.path)


def _resources_path(group: str, version: str) -> PathItem:
    operation = Operation(
        "get", f"get{_id_part(group, version)}APIResources", "get available resources",
        tag(group, version), None, None,
        responses=(
            Response("200", "OK", API_RESOURCE_LIST, (JSON, YAML, PROTOBUF)),
            Response("401", "Unauthorized"),
        ),
    )
    return PathItem(prefix(group, version) + "/", (), (operation,))


class _Resource:
    """The paths of one resource."""

    def __init__(self, resource: ResourceType, definitions: Definitions):
        self.resource = resource
        self.definitions = definitions
        self.builtin = definitions.builtin(resource.group, resource.version, resource.kind)
        self.media = (JSON, YAML, PROTOBUF) if self.builtin else (JSON, YAML)
        self.tag = tag(resource.group, resource.version)
        self.gv = _id_part(resource.group, resource.version)
        self.scope = "Namespaced" if resource.namespaced else ""
        self.object = definitions.name(resource.group, resource.version, resource.kind)
        self.list = definitions.name(resource.group, resource.version, resource.list_kind)
        base = prefix(resource.group, resource.version)
        namespace = "/namespaces/{namespace}" if resource.namespaced else ""
        self.collection = f"{base}{namespace}/{resource.plural}"
        self.item = self.collection + "/{name}"
        self.watch_collection = f"{base}/watch{namespace}/{resource.plural}"
        self.all_namespaces = f"{base}/{resource.plural}"
        self.watch_all_namespaces = f"{base}/watch/{resource.plural}"

    def paths(self) -> list[PathItem]:
        out = [
            self._path(self.collection, self._collection_operations(), named=False),
            self._path(self.item, self._item_operations(), named=True),
        ]
        if "watch" in self.resource.verbs:
            out.append(self._path(self.watch_collection, (self._watch_list(),), named=False))
            out.append(self._path(self.watch_collection + "/{name}", (self._watch(),), named=True))
        if self.resource.namespaced and "list" in self.resource.verbs:
            out.append(self._cluster_path(self.all_namespaces, self._list(all_namespaces=True)))
            if "watch" in self.resource.verbs:
                watch = self._watch_list(all_namespaces=True)
                out.append(self._cluster_path(self.watch_all_namespaces, watch))
        for sub in self.resource.subresources:
            out.append(self._path(f"{self.item}/{sub.name}", self._sub_operations(sub),
                                  named=True, name_kind=self._sub_kind(sub)[2]))
        return [p for p in out if p.operations]

    # --- paths ----------------------------------------------------------------------------

    def _path(
        self, path: str, operations: tuple[Operation, ...], *, named: bool, name_kind: str = ""
    ) -> PathItem:
        parameters: list[Parameter] = []
        if named:
            parameters.append(params.name_parameter(name_kind or self.resource.kind))
        if self.resource.namespaced:
            parameters.append(params.PARAMETERS["namespace"])
        parameters.append(params.PARAMETERS["pretty"])
        return PathItem(path, tuple(parameters), operations)

    @staticmethod
    def _cluster_path(path: str, operation: Operation) -> PathItem:
        return PathItem(path, (params.PARAMETERS["pretty"],), (operation,))

    # --- operations -----------------------------------------------------------------------

    def _op(self, method: str, verb: str, action: str | None, description: str, *,
            suffix: str = "", operation_id: str = "", gvk: tuple[str, str, str] | None = None,
            query: tuple[str, ...] = (), body: Body | None = None,
            responses: tuple[Response, ...] = ()) -> Operation:
        operation_id = operation_id or f"{verb}{self.gv}{self.scope}{self.resource.kind}{suffix}"
        parameters = tuple(
            params.PATCH_FIELD_MANAGER if method == "patch" and name == "fieldManager"
            else params.PARAMETERS[name]
            for name in query
        )
        return Operation(
            method, operation_id, description, self.tag, action,
            gvk or (self.resource.group, self.resource.version, self.resource.kind), parameters, body,
            (*responses, Response("401", "Unauthorized")),
        )

    def _ok(self, definition: str, *codes: str) -> tuple[Response, ...]:
        descriptions = {"200": "OK", "201": "Created", "202": "Accepted"}
        return tuple(Response(c, descriptions[c], definition, self.media) for c in codes)

    def _body(self, definition: str) -> Body:
        return Body(definition, ("*/*",), True)

    def _patch_body(self) -> Body:
        types = [APPLY_PATCH, JSON_PATCH, MERGE_PATCH]
        if self.builtin:
            types.append(STRATEGIC_MERGE_PATCH)
        return Body(PATCH, tuple(types), True)

    def _collection_operations(self) -> tuple[Operation, ...]:
        kind, verbs = self.resource.kind, self.resource.verbs
        out = []
        if "list" in verbs:
            out.append(self._list())
        if "create" in verbs:
            out.append(self._op(
                "post", "create", "post", f"create a {kind}", query=params.WRITE_QUERY,
                body=self._body(self.object), responses=self._ok(self.object, "200", "201", "202"),
            ))
        if "deletecollection" in verbs:
            out.append(self._op(
                "delete", "delete", "deletecollection", f"delete collection of {kind}",
                operation_id=f"delete{self.gv}Collection{self.scope}{kind}",
                query=params.DELETE_COLLECTION_QUERY,
                body=Body(DELETE_OPTIONS, ("*/*",), False), responses=self._ok(STATUS, "200"),
            ))
        return tuple(out)

    def _list(self, *, all_namespaces: bool = False) -> Operation:
        return self._op(
            "get", "list", "list", f"list or watch objects of kind {self.resource.kind}",
            operation_id=f"list{self.gv}{self.resource.kind}ForAllNamespaces" if all_namespaces else "",
            query=params.LIST_QUERY,
            responses=(Response("200", "OK", self.list, (*self.media, *self._watch_media())),),
        )

    def _watch_media(self) -> tuple[str, ...]:
        return (JSON_WATCH, PROTOBUF_WATCH) if self.builtin else (JSON_WATCH,)

    def _item_operations(self) -> tuple[Operation, ...]:
        kind, verbs = self.resource.kind, self.resource.verbs
        out = []
        if "get" in verbs:
            out.append(self._op("get", "read", "get", f"read the specified {kind}",
                                responses=self._ok(self.object, "200")))
        if "update" in verbs:
            out.append(self._op(
                "put", "replace", "put", f"replace the specified {kind}", query=params.WRITE_QUERY,
                body=self._body(self.object), responses=self._ok(self.object, "200", "201"),
            ))
        if "patch" in verbs:
            out.append(self._op(
                "patch", "patch", "patch", f"partially update the specified {kind}",
                query=params.PATCH_QUERY, body=self._patch_body(),
                responses=self._ok(self.object, "200", "201"),
            ))
        if "delete" in verbs:
            out.append(self._op(
                "delete", "delete", "delete", f"delete a {kind}", query=params.DELETE_QUERY,
                body=Body(DELETE_OPTIONS, ("*/*",), False),
                responses=self._ok(STATUS, "200", "202"),
            ))
        return tuple(out)

    def _watch_list(self, *, all_namespaces: bool = False) -> Operation:
        return self._op(
            "get", "watch", "watchlist",
            f"watch individual changes to a list of {self.resource.kind}. deprecated: use the 'watch' "
            "parameter with a list operation instead.",
            suffix="List",
            operation_id=f"watch{self.gv}{self.resource.kind}ListForAllNamespaces" if all_namespaces else "",
            query=params.LIST_QUERY, responses=self._watch_responses(),
        )

    def _watch(self) -> Operation:
        return self._op(
            "get", "watch", "watch",
            f"watch changes to an object of kind {self.resource.kind}. deprecated: use the 'watch' "
            "parameter with a list operation instead, filtered to a single item with the "
            "'fieldSelector' parameter.",
            query=params.LIST_QUERY, responses=self._watch_responses(),
        )

    def _watch_responses(self) -> tuple[Response, ...]:
        return (Response("200", "OK", WATCH_EVENT, (*self.media, *self._watch_media())),)

    # --- subresources ---------------------------------------------------------------------

    def _sub_kind(self, sub: Subresource) -> tuple[str, str, str]:
        return self.resource.subresource_kind(sub)

    def _sub_operations(self, sub: Subresource) -> tuple[Operation, ...]:
        if sub.name in _CONNECT:
            return self._connect_operations(sub)
        gvk = self._sub_kind(sub)
        definition = self.definitions.name(*gvk)
        suffix = sub.name.capitalize()
        of = f"{sub.name} of the specified {self.resource.kind}"
        out = []
        if "get" in sub.verbs and sub.name == "log":
            out.append(self._op(
                "get", "read", "get", f"read log of the specified {self.resource.kind}", suffix=suffix,
                gvk=gvk, query=params.LOG_QUERY,
                responses=(Response("200", "OK", media_types=("text/plain",), text=True),),
            ))
        elif "get" in sub.verbs:
            out.append(self._op("get", "read", "get", f"read {of}", suffix=suffix, gvk=gvk,
                                responses=self._ok(definition, "200")))
        if "update" in sub.verbs:
            out.append(self._op(
                "put", "replace", "put", f"replace {of}", suffix=suffix, gvk=gvk,
                query=params.WRITE_QUERY, body=self._body(definition),
                responses=self._ok(definition, "200", "201"),
            ))
        if "patch" in sub.verbs:
            out.append(self._op(
                "patch", "patch", "patch", f"partially update {of}", suffix=suffix, gvk=gvk,
                query=params.PATCH_QUERY, body=self._patch_body(),
                responses=self._ok(definition, "200", "201"),
            ))
        if "create" in sub.verbs:
            out.append(self._op(
                "post", "create", "post", f"create {sub.name} of a {self.resource.kind}", suffix=suffix,
                gvk=gvk, query=params.WRITE_QUERY, body=self._body(definition),
                responses=self._ok(definition, "200", "201", "202"),
            ))
        return tuple(out)

    def _connect_operations(self, sub: Subresource) -> tuple[Operation, ...]:
        gvk = self._sub_kind(sub)
        query = params.CONNECT_QUERY.get(sub.name, ())
        out = []
        for verb, method in (("get", "get"), ("create", "post")):
            if verb not in sub.verbs:
                continue
            out.append(self._op(
                method, "connect", "connect",
                f"connect {method.upper()} requests to {sub.name} of {self.resource.kind}",
                operation_id=f"connect{self.gv}{method.capitalize()}{self.scope}{self.resource.kind}"
                f"{sub.name.capitalize()}",
                gvk=gvk, query=query,
                responses=(Response("200", "OK", media_types=("*/*",), text=True),),
            ))
        return tuple(out)
