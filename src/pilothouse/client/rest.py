"""An async client of the Kubernetes API, used by every pilothouse component.

``APIClient`` holds one HTTP connection pool; ``client.resource(group, version, plural)``
gives a ``ResourceClient`` with the verbs (get, list, create, update, update_status, patch,
delete, watch, and subresources). Objects are plain dicts. Error responses raise the
``pilothouse.api.errors`` class matching their ``Status`` reason, so callers write
``except errors.NotFound`` exactly as they would against client-go.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from pilothouse.api import errors
from pilothouse.api.resources import Registry, ResourceType
from pilothouse.client.config import ClientConfig

Obj = dict[str, Any]

_ERRORS_BY_REASON: dict[str, type[errors.StatusError]] = {
    cls.reason: cls
    for cls in (
        errors.BadRequest, errors.Unauthorized, errors.Forbidden, errors.NotFound,
        errors.MethodNotAllowed, errors.NotAcceptable, errors.AlreadyExists, errors.Conflict,
        errors.Gone, errors.Expired, errors.RequestEntityTooLarge, errors.UnsupportedMediaType,
        errors.Invalid, errors.TooManyRequests, errors.InternalError, errors.ServiceUnavailable,
        errors.Timeout,
    )
}
_ERRORS_BY_CODE: dict[int, type[errors.StatusError]] = {
    400: errors.BadRequest, 401: errors.Unauthorized, 403: errors.Forbidden,
    404: errors.NotFound, 405: errors.MethodNotAllowed, 409: errors.Conflict, 410: errors.Gone,
    413: errors.RequestEntityTooLarge, 415: errors.UnsupportedMediaType, 422: errors.Invalid,
    429: errors.TooManyRequests, 503: errors.ServiceUnavailable, 504: errors.Timeout,
}

PATCH_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


def error_from_status(status: Obj, http_status: int) -> errors.StatusError:
    """The exception for a ``Status`` body (or a bare HTTP status)."""
    reason = status.get("reason", "")
    cls = _ERRORS_BY_REASON.get(reason) or _ERRORS_BY_CODE.get(http_status, errors.InternalError)
    details = status.get("details") or {}
    error = cls(
        status.get("message") or f"HTTP {http_status}",
        name=details.get("name", ""),
        group=details.get("group", ""),
        kind=details.get("kind", ""),
        causes=[
            errors.Cause(c.get("reason", ""), c.get("message", ""), c.get("field", ""))
            for c in details.get("causes") or []
        ],
        retry_after=details.get("retryAfterSeconds"),
    )
    error.code = status.get("code", http_status)
    return error


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Obj


@dataclass(frozen=True)
class ObjectList:
    items: list[Obj]
    resource_version: str
    continue_token: str = ""


class APIClient:
    def __init__(self, config: ClientConfig, *, registry: Registry | None = None,
                 timeout: float = 30.0):
        self.config = config
        self.registry = registry or Registry.builtin()
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.config.ssl_context() or False, limit=100)
            self._session = aiohttp.ClientSession(
                base_url=self.config.server, connector=connector,
                headers=self.config.headers(), json_serialize=lambda o: orjson.dumps(o).decode(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> APIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def resource(self, group: str, version: str, plural: str) -> ResourceClient:
        resource = self.registry.get(group, version, plural)
        if resource is None:
            raise KeyError(f"unknown resource {plural}.{group}/{version}")
        return ResourceClient(self, resource)

    def __getitem__(self, name: str) -> ResourceClient:
        """The preferred version of a resource by plural, short name or kind, e.g.
        ``client["pods"]``, ``client["deployments.apps"]``."""
        plural, _, group = name.partition(".")
        for resource in self.registry.resolve([plural]):
            if not group or resource.group == group:
                return ResourceClient(self, resource)
        raise KeyError(f"unknown resource {name}")

    async def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None,
        body: Any = None, content_type: str = "application/json", timeout: float | None = None,
    ) -> Obj:
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            headers["Content-Type"] = content_type
        client_timeout = aiohttp.ClientTimeout(total=timeout or self._timeout)
        async with self.session.request(method, path, params=params, data=data,
                                        headers=headers, timeout=client_timeout) as response:
            payload = await response.read()
            if response.status >= 400:
                raise _error(response.status, payload)
            return orjson.loads(payload) if payload else {}

    async def stream_lines(
        self, path: str, *, params: dict[str, str]
    ) -> AsyncIterator[bytes]:
        """The lines of a streamed response (watch)."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout)
        async with self.session.get(path, params=params, timeout=timeout,
                                    headers={"Accept": "application/json"}) as response:
            if response.status >= 400:
                raise _error(response.status, await response.read())
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield line
            if buffer.strip():
                yield buffer


def _error(status: int, payload: bytes) -> errors.StatusError:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        body = {"message": payload.decode(errors="replace")[:500]}
    if not isinstance(body, dict):
        body = {"message": str(body)}
    return error_from_status(body, status)


class ResourceClient:
    """The verbs on one resource."""

    def __init__(self, client: APIClient, resource: ResourceType):
        self.client = client
        self.resource = resource

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        r = self.resource
        base = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
        if r.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{r.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
        if subresource:
            base += f"/{subresource}"
        return base

    def _namespace_of(self, obj: Obj, namespace: str) -> str:
        return namespace or (obj.get("metadata") or {}).get("namespace", "")

    async def get(self, name: str, *, namespace: str = "", subresource: str = "") -> Obj:
        return await self.client.request("GET", self.path(namespace, name, subresource))

    async def list(
        self, *, namespace: str = "", label_selector: str = "", field_selector: str = "",
        limit: int = 0, continue_token: str = "", resource_version: str = "",
    ) -> ObjectList:
        params = _params(labelSelector=label_selector, fieldSelector=field_selector,
                         limit=str(limit) if limit else "", resourceVersion=resource_version,
                         **{"continue": continue_token})
        body = await self.client.request("GET", self.path(namespace), params=params)
        meta = body.get("metadata") or {}
        return ObjectList(body.get("items") or [], meta.get("resourceVersion", ""),
                          meta.get("continue", ""))

    async def list_all(self, **kwargs: Any) -> ObjectList:
        """Every page of a list, at one consistent resourceVersion."""
        first = await self.list(limit=500, **kwargs)
        items, token = list(first.items), first.continue_token
        while token:
            page = await self.list(limit=500, continue_token=token,
                                   **{k: v for k, v in kwargs.items() if k != "resource_version"})
            items.extend(page.items)
            token = page.continue_token
        return ObjectList(items, first.resource_version)

    async def create(self, obj: Obj, *, namespace: str = "", field_manager: str = "",
                     dry_run: bool = False) -> Obj:
        params = _params(fieldManager=field_manager, dryRun="All" if dry_run else "")
        return await self.client.request(
            "POST", self.path(self._namespace_of(obj, namespace)), params=params, body=obj
        )

    async def update(self, obj: Obj, *, namespace: str = "", subresource: str = "",
                     field_manager: str = "") -> Obj:
        name = obj["metadata"]["name"]
        return await self.client.request(
            "PUT", self.path(self._namespace_of(obj, namespace), name, subresource),
            params=_params(fieldManager=field_manager), body=obj,
        )

    async def update_status(self, obj: Obj, *, field_manager: str = "") -> Obj:
        return await self.update(obj, subresource="status", field_manager=field_manager)

    async def patch(
        self, name: str, patch: Any, *, namespace: str = "", patch_type: str = "merge",
        subresource: str = "", field_manager: str = "", force: bool = False,
    ) -> Obj:
        body = patch if patch_type != "apply" else orjson.dumps(patch)
        params = _params(fieldManager=field_manager, force="true" if force else "")
        return await self.client.request(
            "PATCH", self.path(namespace, name, subresource), params=params, body=body,
            content_type=PATCH_TYPES[patch_type],
        )

    async def delete(
        self, name: str, *, namespace: str = "", grace_period_seconds: int | None = None,
        propagation_policy: str = "", preconditions: Obj | None = None,
    ) -> Obj:
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        return await self.client.request("DELETE", self.path(namespace, name), body=options)

    async def create_subresource(self, name: str, subresource: str, body: Obj, *,
                                 namespace: str = "") -> Obj:
        return await self.client.request(
            "POST", self.path(namespace, name, subresource), body=body
        )

    async def watch(
        self, *, namespace: str = "", resource_version: str = "", label_selector: str = "",
        field_selector: str = "", timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Events after ``resource_version``. An ERROR event is raised as its Status error
        (``errors.Expired`` when the version is too old: re-list)."""
        params = _params(
            watch="true", resourceVersion=resource_version, labelSelector=label_selector,
            fieldSelector=field_selector,
            timeoutSeconds=str(timeout_seconds) if timeout_seconds else "",
            allowWatchBookmarks="true" if allow_bookmarks else "",
        )
        async for line in self.client.stream_lines(self.path(namespace), params=params):
            event = orjson.loads(line)
            if event.get("type") == "ERROR":
                status = event.get("object") or {}
                raise error_from_status(status, status.get("code", 500))
            yield WatchEvent(event["type"], event["object"])


def _params(**values: str) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


async def wait_for(predicate: Any, *, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy (for tools and tests)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)
