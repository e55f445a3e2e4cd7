"""Informers: a local, always-current copy of one resource, kept by list-then-watch
(client-go's SharedInformer and Indexer).

Guarantees:
- after ``synced`` is set, the cache holds every object the API holds (as of some moment),
  and every later change is applied in order;
- handlers see ADDED/UPDATED/DELETED for every change, including those missed while the watch
  was down (a re-list diffs the new state against the cache and reports the difference);
- objects in the cache and those passed to handlers are shared: never mutate them (copy first);
- an optional resync re-delivers every object as an update, the safety net of
  level-triggered controllers.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from pilothouse.api import errors
from pilothouse.client.rest import ResourceClient

log = logging.getLogger(__name__)

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]


def object_key(obj: Obj) -> str:
    """``namespace/name`` (or ``name`` for cluster objects), the key of caches and queues."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else meta["name"]


def split_key(key: str) -> tuple[str, str]:
    namespace, _, name = key.rpartition("/")
    return namespace, name


@dataclass
class Handlers:
    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


class Informer:
    def __init__(
        self,
        resource: ResourceClient,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        resync_period: float | None = None,
    ):
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self._objects: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self._handlers: list[Handlers] = []
        self.synced = asyncio.Event()
        self.resource_version = ""

    # --- reading the cache --------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        return self._objects.get(key)

    def list(self) -> list[Obj]:
        return list(self._objects.values())

    def keys(self) -> builtins.list[str]:
        return list(self._objects)

    def add_index(self, name: str, function: IndexFunc) -> None:
        self._indexers[name] = function
        index: dict[str, set[str]] = {}
        for key, obj in self._objects.items():
            for value in function(obj):
                index.setdefault(value, set()).add(key)
        self._indices[name] = index

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        keys = self._indices[name].get(value, ())
        return [self._objects[k] for k in keys if k in self._objects]

    def add_handlers(self, handlers: Handlers) -> None:
        """Register handlers; objects already cached are delivered as adds."""
        self._handlers.append(handlers)
        if handlers.on_add:
            for obj in list(self._objects.values()):
                handlers.on_add(obj)

    async def wait_synced(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.synced.wait(), timeout)

    # --- keeping it current ------------------------------------------------------------------

    async def run(self) -> None:
        """List, then watch, forever (until cancelled)."""
        backoff = 0.2
        resync = asyncio.create_task(self._resync_loop()) if self.resync_period else None
        try:
            while True:
                try:
                    if not self.resource_version:
                        await self._relist()
                    await self._watch()
                    backoff = 0.2
                except (errors.Expired, errors.Gone):
                    self.resource_version = ""  # our version left the server's history
                except (TimeoutError, aiohttp.ClientError, OSError, errors.StatusError) as e:
                    log.debug("informer %s: %s; retrying", self.resource.resource.plural, e)
                    await asyncio.sleep(backoff * (1 + random.random()))
                    backoff = min(backoff * 2, 10.0)
        finally:
            if resync is not None:
                resync.cancel()

    async def _relist(self) -> None:
        listed = await self.resource.list_all(
            namespace=self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        fresh = {object_key(o): o for o in listed.items}
        for key in [k for k in self._objects if k not in fresh]:
            self._delete(key, self._objects[key])
        for key, obj in fresh.items():
            self._put(key, obj)
        self.resource_version = listed.resource_version
        self.synced.set()

    async def _watch(self) -> None:
        async for event in self.resource.watch(
            namespace=self.namespace, resource_version=self.resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            timeout_seconds=random.randint(300, 600),
        ):
            obj = event.object
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if event.type == "BOOKMARK":
                if rv:
                    self.resource_version = rv
                continue
            key = object_key(obj)
            if event.type == "DELETED":
                self._delete(key, obj)
            else:
                self._put(key, obj)
            if rv:
                self.resource_version = rv

    def _put(self, key: str, obj: Obj) -> None:
        old = self._objects.get(key)
        if old is not None and old.get("metadata", {}).get("resourceVersion") == obj.get(
            "metadata", {}
        ).get("resourceVersion"):
            return  # unchanged (a re-list of what we have)
        self._objects[key] = obj
        self._reindex(key, old, obj)
        for handlers in self._handlers:
            if old is None:
                if handlers.on_add:
                    handlers.on_add(obj)
            elif handlers.on_update:
                handlers.on_update(old, obj)

    def _delete(self, key: str, obj: Obj) -> None:
        old = self._objects.pop(key, None)
        if old is None:
            return
        self._reindex(key, old, None)
        for handlers in self._handlers:
            if handlers.on_delete:
                handlers.on_delete(obj)

    def _reindex(self, key: str, old: Obj | None, new: Obj | None) -> None:
        for name, function in self._indexers.items():
            index = self._indices[name]
            for value in function(old) if old is not None else ():
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
            for value in function(new) if new is not None else ():
                index.setdefault(value, set()).add(key)

    async def _resync_loop(self) -> None:
        assert self.resync_period
        while True:
            await asyncio.sleep(self.resync_period)
            for obj in list(self._objects.values()):
                for handlers in self._handlers:
                    if handlers.on_update:
                        handlers.on_update(obj, obj)


def namespace_index(obj: Obj) -> list[str]:
    return [(obj.get("metadata") or {}).get("namespace", "")]


class InformerFactory:
    """One informer per resource, shared by every controller of a process."""

    def __init__(self, client: Any, *, resync_period: float | None = None):
        self.client = client
        self.resync_period = resync_period
        self._informers: dict[tuple[str, str, str], Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(self, group: str, version: str, plural: str) -> Informer:
        key = (group, version, plural)
        if key not in self._informers:
            informer = Informer(self.client.resource(group, version, plural),
                                resync_period=self.resync_period)
            self._informers[key] = informer
            if self._tasks:  # the factory is running already: start this one too
                self._tasks.append(asyncio.create_task(informer.run(), name=f"informer {plural}"))
        return self._informers[key]

    def start(self) -> None:
        for (_, _, plural), informer in self._informers.items():
            self._tasks.append(asyncio.create_task(informer.run(), name=f"informer {plural}"))

    async def wait_synced(self, timeout: float | None = None) -> None:
        await asyncio.gather(*(i.wait_synced(timeout) for i in self._informers.values()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
