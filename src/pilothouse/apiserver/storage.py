"""Kubernetes objects over the key-value store.

``ObjectStorage`` is what the REST handlers call. It encodes objects (JSON, without
``metadata.resourceVersion``: the store's mod_revision *is* the resourceVersion), implements
optimistic concurrency, and reads through the watch cache:

- get/list at the latest state wait until the cache has applied every committed write, then
  answer from memory; ``resourceVersion=0`` answers from the cache at once; a continue token
  or ``resourceVersionMatch=Exact`` reads a consistent snapshot from the store.
- ``update`` is kube-apiserver's GuaranteedUpdate: read, transform, write at the revision that
  was read, and on a lost race read again and retry, unless the client pinned a
  resourceVersion, which then yields 409 Conflict. An update that changes nothing is not
  written.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from pilothouse.api import errors
from pilothouse.api.resources import ResourceType
from pilothouse.apiserver.body import compact_json
from pilothouse.apiserver.cacher import CachedObject, Cacher
from pilothouse.store import interface as kv
from pilothouse.store.interface import Store

Obj = dict[str, Any]
UpdateFunc = Callable[[Obj | None], Awaitable[Obj]]
Filter = Callable[[CachedObject], bool]

MAX_RETRIES = 10


@dataclass
class ListResult:
    items: list[CachedObject]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


def encode(obj: Obj) -> bytes:
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        meta = {k: v for k, v in meta.items() if k != "resourceVersion"}
        obj = {**obj, "metadata": meta}
    return compact_json(obj)


def decode(value: bytes, revision: int) -> Obj:
    obj = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def parse_resource_version(value: str, *, what: str = "resourceVersion") -> int:
    try:
        revision = int(value)
    except ValueError:
        raise errors.BadRequest(f"invalid {what}: {value!r}") from None
    if revision < 0:
        raise errors.BadRequest(f"invalid {what}: {value!r}")
    return revision


def _encode_continue(revision: int, start_after: str) -> str:
    token = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start_after})
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise errors.BadRequest("continue key is not valid: illegal base64 data") from None


class ObjectStorage:
    def __init__(self, *, store: Store, cacher: Cacher):
        self.store = store
        self.cacher = cacher

    # --- reads ------------------------------------------------------------------------------

    async def _fresh(self, resource_version: str) -> None:
        """Wait until the cache is as new as the read requires."""
        if resource_version == "0":
            return
        if resource_version:
            ok = await self.cacher.wait_for(parse_resource_version(resource_version))
            if not ok:
                raise errors.Timeout(
                    f"Too large resource version: {resource_version}, "
                    f"current resource version: {self.cacher.revision}",
                    retry_after=1,
                )
            return
        if not await self.cacher.wait_fresh():
            raise errors.Timeout("the watch cache is not up to date; retry", retry_after=1)

    async def get_cached(
        self, resource: ResourceType, namespace: str, name: str, *, resource_version: str = ""
    ) -> CachedObject:
        await self._fresh(resource_version)
        found = self.cacher.resource(resource.key_prefix()).objects.get(
            resource.key(namespace, name)
        )
        if found is None:
            raise errors.NotFound.of(resource.plural, name, resource.group)
        return found

    async def get(
        self, resource: ResourceType, namespace: str, name: str, *, resource_version: str = ""
    ) -> Obj:
        cached = await self.get_cached(resource, namespace, name, resource_version=resource_version)
        return cached.decode()

    async def list(
        self,
        resource: ResourceType,
        namespace: str,
        *,
        matches: Filter | None = None,
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
        resource_version_match: str = "",
    ) -> ListResult:
        if continue_token:
            revision, start_after = _decode_continue(continue_token)
            return await self._list_from_store(
                resource, namespace, matches, limit, revision, start_after
            )
        if resource_version_match == "Exact":
            revision = parse_resource_version(resource_version)
            return await self._list_from_store(resource, namespace, matches, limit, revision, "")
        if resource_version_match not in ("", "NotOlderThan"):
            raise errors.BadRequest(
                f"resourceVersionMatch: Unsupported value: {resource_version_match!r}"
            )
        await self._fresh(resource_version)
        return self._list_from_cache(resource, namespace, matches, limit)

    def _list_from_cache(
        self, resource: ResourceType, namespace: str, matches: Filter | None, limit: int
    ) -> ListResult:
        cache = self.cacher.resource(resource.key_prefix())
        revision = self.cacher.revision
        candidates = cache.items(namespace)
        items = [o for o in candidates if matches is None or matches(o)]
        items.sort(key=lambda o: o.key)
        if limit and len(items) > limit:
            page = items[:limit]
            return ListResult(
                page,
                str(revision),
                _encode_continue(revision, page[-1].key),
                len(items) - limit if matches is None else None,
            )
        return ListResult(items, str(revision))

    async def _list_from_store(
        self,
        resource: ResourceType,
        namespace: str,
        matches: Filter | None,
        limit: int,
        revision: int,
        start_after: str,
    ) -> ListResult:
        prefix = resource.key_prefix(namespace)
        items: list[CachedObject] = []
        last_key = start_after
        more = True
        try:
            while more and (not limit or len(items) < limit):
                page = await self.store.range(
                    prefix,
                    start_after=last_key or None,
                    limit=max(limit - len(items), 0) if limit else 0,
                    revision=revision,
                )
                more = page.more
                revision = page.revision
                for stored in page.kvs:
                    cached = self.cacher.cache_object(stored.key, stored.value, stored.mod_revision)
                    if cached is not None and (matches is None or matches(cached)):
                        items.append(cached)
                    last_key = stored.key
                if not page.kvs:
                    break
        except kv.Expired as e:
            raise errors.Expired(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter, or use the "
                f"continue token in this response to retrieve the remainder of the results. "
                f"(too old resource version: {e.requested} ({e.oldest}))"
            ) from None
        token = _encode_continue(revision, last_key) if more else ""
        return ListResult(items, str(revision), token)

    # --- writes -----------------------------------------------------------------------------

    async def create(self, resource: ResourceType, obj: Obj, *, dry_run: bool = False) -> Obj:
        meta = obj["metadata"]
        key = resource.key(meta.get("namespace", ""), meta["name"])
        if dry_run:
            if await self.store.get(key) is not None:
                raise errors.AlreadyExists.of(resource.plural, meta["name"], resource.group)
            return obj
        try:
            stored = await self.store.create(key, encode(obj))
        except kv.KeyExists:
            raise errors.AlreadyExists.of(resource.plural, meta["name"], resource.group) from None
        meta["resourceVersion"] = str(stored.mod_revision)
        return obj

    async def update(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        transform: UpdateFunc,
        *,
        precondition: str = "",
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Read, ``transform`` and write the object until the write wins a race.

        ``transform(current)`` gets a private copy of the current object (None when it does
        not exist: return the object to create, or raise NotFound) and returns the new
        object. ``precondition`` is a resourceVersion the client pinned. Returns the stored
        object and whether it was created.
        """
        key = resource.key(namespace, name)
        for _ in range(MAX_RETRIES):
            current = await self.store.get(key)
            if current is None:
                new = await transform(None)
                return await self.create(resource, new, dry_run=dry_run), True
            if precondition and precondition != str(current.mod_revision):
                raise errors.Conflict.modified(resource.plural, name, resource.group)
            old = decode(current.value, current.mod_revision)
            new = await transform(decode(current.value, current.mod_revision))
            pinned = new.get("metadata", {}).get("resourceVersion")
            if pinned and pinned != str(current.mod_revision):
                raise errors.Conflict.modified(resource.plural, name, resource.group)
            if new == old or dry_run:
                new["metadata"]["resourceVersion"] = str(current.mod_revision)
                return new, False
            try:
                stored = await self.store.update(
                    key, encode(new), expected_revision=current.mod_revision
                )
            except kv.RevisionMismatch:
                # Lost a race. The object the transform saw carries the version it was read
                # at, so only a version the client asked for (``precondition``) is a
                # conflict; otherwise read again and re-apply the change.
                if precondition:
                    raise errors.Conflict.modified(resource.plural, name, resource.group) from None
                continue
            except kv.KeyNotFound:
                continue
            new["metadata"]["resourceVersion"] = str(stored.mod_revision)
            return new, False
        raise errors.Conflict.modified(resource.plural, name, resource.group)

    async def delete(
        self, resource: ResourceType, namespace: str, name: str, *, expected: Obj,
        dry_run: bool = False,
    ) -> Obj:
        """Remove the object if it is still at ``expected``'s resourceVersion."""
        key = resource.key(namespace, name)
        revision = int(expected["metadata"]["resourceVersion"])
        if dry_run:
            return expected
        try:
            deleted = await self.store.delete(key, expected_revision=revision)
        except kv.KeyNotFound:
            raise errors.NotFound.of(resource.plural, name, resource.group) from None
        except kv.RevisionMismatch:
            raise errors.Conflict.modified(resource.plural, name, resource.group) from None
        return decode(deleted.value, deleted.mod_revision)
