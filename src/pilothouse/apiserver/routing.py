"""Turning a request path into what it addresses, as kube-apiserver's RequestInfoFactory does.

Resource paths have the shapes

    /api/v1/[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE...]]
    /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE...]]
    /api/v1/watch/...  (legacy watch paths: the same with watch=true)

and the verb follows from the method, whether a name is present and the ``watch`` query
parameter. ``/api/v1/namespaces/NAME`` addresses the namespace itself: a ``namespaces/X``
prefix is a namespace scope only when a resource plural follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pilothouse.api import errors
from pilothouse.api.resources import Registry, ResourceType

_METHOD_VERBS = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
    "GET": "get",
    "HEAD": "get",
}


@dataclass(frozen=True)
class RequestInfo:
    verb: str  # get, list, watch, create, update, patch, delete, deletecollection
    group: str
    version: str
    resource: ResourceType
    namespace: str  # "" for cluster-scoped requests and lists across namespaces
    name: str  # "" for collection requests
    subresource: str  # "" for the main resource
    extra_path: tuple[str, ...] = ()  # what follows the subresource (proxy paths)


def parse_path(
    path: str, method: str, query: dict[str, str], registry: Registry
) -> RequestInfo | None:
    """The resource request ``path`` addresses, or None when it is not a resource path.

    Raises NotFound for an unknown group, version or resource and MethodNotAllowed for a verb
    the resource does not serve.
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None

    watch_path = False
    if rest[0] == "watch":
        watch_path, rest = True, rest[1:]
        if not rest:
            raise errors.NotFound("the server could not find the requested resource")

    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and registry.get(group, version, rest[2]):
        target = registry.get(group, version, rest[2])
        if target is not None and target.namespaced:
            namespace, rest = rest[1], rest[2:]

    resource = registry.get(group, version, rest[0])
    if resource is None:
        raise errors.NotFound("the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    extra = tuple(rest[3:])
    if subresource and resource.subresource(subresource) is None:
        raise errors.NotFound("the server could not find the requested resource")
    if extra and subresource not in ("proxy",):
        raise errors.NotFound("the server could not find the requested resource")

    verb = _METHOD_VERBS.get(method)
    if verb is None:
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    if not name:
        if verb == "get":
            verb = "watch" if watch_path or _truthy(query.get("watch")) else "list"
        elif verb == "delete":
            verb = "deletecollection"
    elif verb == "get" and (watch_path or _truthy(query.get("watch"))):
        verb = "watch"
    if not name and verb in ("update", "patch"):
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    if name and verb == "create" and not subresource:
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    if not subresource and verb not in resource.verbs:
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    return RequestInfo(verb, group, version, resource, namespace, name, subresource, extra)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true")
