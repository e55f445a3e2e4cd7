"""The watch cache: every object's current state and recent changes, in memory.

One store watch on ``/registry/`` feeds the cache, in revision order. For each resource
(a key prefix ``/registry/<group>/<plural>/``) the cache keeps

- the current objects, each as its serialized JSON (with ``metadata.resourceVersion`` set)
  plus the labels and field-selector attributes needed to filter it without decoding;
- a bounded buffer of recent events, so watchers can resume from a resourceVersion;
- the watchers, each fed every matching event once, in order.

Objects are serialized once per change and the same bytes go to every watcher and every
list, as kube-apiserver's cacher does. Reads that must be consistent ("the latest", an empty
resourceVersion) first wait until the cache has applied every write the store has committed
(``wait_fresh``), so a client always reads its own writes.

A watcher whose queue grows beyond ``MAX_PENDING`` (a client that does not read) is closed;
the client re-lists, as with kube-apiserver.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from pilothouse.apiserver.body import compact_json
from pilothouse.store.interface import Event, EventType, Expired, Store, StoreClosed

log = logging.getLogger(__name__)

EVENT_BUFFER = 1000  # recent events kept per resource
MAX_PENDING = 10_000  # events queued for one watcher before it is dropped

# (group, obj) -> field selector attributes; the API server supplies it per kind.
FieldsFunc = Callable[[str, dict[str, Any]], dict[str, str]]


@dataclass(slots=True)
class CachedObject:
    key: str
    revision: int
    raw: bytes  # the object's JSON, resourceVersion included
    namespace: str
    name: str
    labels: dict[str, str]
    fields: dict[str, str]

    def decode(self) -> dict[str, Any]:
        """A fresh dict of the object (callers may mutate it)."""
        return orjson.loads(self.raw)


@dataclass(slots=True)
class CachedEvent:
    type: str  # ADDED, MODIFIED, DELETED
    revision: int
    obj: CachedObject
    prev: CachedObject | None
    _line: bytes | None = None
    _chunk: bytes | None = None

    def line(self, type_: str | None = None) -> bytes:
        """The watch stream line for this event (optionally retyped for a selector)."""
        if type_ is None or type_ == self.type:
            if self._line is None:
                self._line = _event_line(self.type, self.obj.raw)
            return self._line
        return _event_line(type_, self.obj.raw)

    def chunk(self, type_: str) -> bytes:
        """``line`` framed as an HTTP/1.1 chunk: built once, written to every watcher."""
        if type_ != self.type:
            return http_chunk(self.line(type_))
        if self._chunk is None:
            self._chunk = http_chunk(self.line())
        return self._chunk


def _event_line(type_: str, raw: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


# Writes one framed chunk straight to a client's connection; False when the client lags
# (its connection buffers more than it should).
Sink = Callable[[bytes], bool]


Filter = Callable[[CachedObject], bool]


@dataclass(eq=False)
class Watcher:
    """One client's watch. Matching events are queued here until the client's stream takes
    them or, once the stream is ``direct``, written to its connection as they happen: one
    write of bytes framed once per event, no task switch per watcher (1,000 watchers of one
    resource cost 1,000 socket writes per change, nothing more)."""

    matches: Filter
    namespace: str = ""
    pending: collections.deque[tuple[str, CachedEvent]] = field(default_factory=collections.deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    overflowed: bool = False
    sink: Sink | None = None

    def go_direct(self, sink: Sink) -> None:
        """From now on write events through ``sink`` (what is queued goes first)."""
        self.sink = sink
        while self.pending and not self.closed:
            type_, event = self.pending.popleft()
            self._write(event.chunk(type_))

    def write(self, chunk: bytes) -> None:
        """Write a framed chunk of this watcher's own (a bookmark) in direct mode."""
        if not self.closed:
            self._write(chunk)

    def _write(self, chunk: bytes) -> None:
        assert self.sink is not None
        if not self.sink(chunk):
            self.overflowed = True
            self.close()

    def offer(self, event: CachedEvent) -> None:
        """Take ``event`` in the form this watcher sees it (selectors retype events)."""
        if self.closed:
            return
        if self.namespace and event.obj.namespace != self.namespace:
            return
        now = self.matches(event.obj)
        before = event.prev is not None and self.matches(event.prev)
        if event.type == "DELETED":
            type_ = "DELETED" if now else None
        elif now and before:
            type_ = "MODIFIED"
        elif now:
            type_ = "ADDED"
        elif before:
            type_ = "DELETED"  # it no longer matches: to this watcher it is gone
        else:
            type_ = None
        if type_ is None:
            return
        if self.sink is not None:
            self._write(event.chunk(type_))
            return
        if len(self.pending) >= MAX_PENDING:
            self.overflowed = True
            self.close()
            return
        self.pending.append((type_, event))
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()

    async def next_batch(self, timeout: float | None) -> list[tuple[str, CachedEvent]]:
        """Wait for events; an empty list means the timeout passed or the watch closed."""
        if not self.pending and not self.closed:
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout)
        batch = list(self.pending)
        self.pending.clear()
        return batch


class ResourceCache:
    """The cached state of one resource (all objects under one key prefix)."""

    def __init__(self, prefix: str, start_revision: int):
        self.prefix = prefix
        self.objects: dict[str, CachedObject] = {}
        self.events: collections.deque[CachedEvent] = collections.deque(maxlen=EVENT_BUFFER)
        # Events with revision <= oldest_revision may have left the buffer.
        self.oldest_revision = start_revision
        self.watchers: set[Watcher] = set()

    def apply(self, event: CachedEvent) -> None:
        if event.type == "DELETED":
            self.objects.pop(event.obj.key, None)
        else:
            self.objects[event.obj.key] = event.obj
        if len(self.events) == self.events.maxlen:
            self.oldest_revision = self.events[0].revision
        self.events.append(event)
        for watcher in list(self.watchers):
            watcher.offer(event)
            if watcher.closed:
                self.watchers.discard(watcher)

    def items(self, namespace: str = "") -> Iterator[CachedObject]:
        if not namespace:
            return iter(self.objects.values())
        return (o for o in self.objects.values() if o.namespace == namespace)

    def events_after(self, revision: int) -> list[CachedEvent]:
        """Buffered events newer than ``revision``; raises Expired when some may be lost."""
        if revision < self.oldest_revision:
            raise Expired(revision, self.oldest_revision)
        return [e for e in self.events if e.revision > revision]


class Cacher:
    """The cache of every resource, fed by one watch on the store."""

    def __init__(self, store: Store, *, fields: FieldsFunc):
        self._store = store
        self._fields = fields
        self._resources: dict[str, ResourceCache] = {}
        self.revision = 0
        # Readers waiting for the cache to reach a revision: a heap of (revision, n, future).
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Load the current state and follow the store from there."""
        page_size = 10_000
        result = await self._store.range("/registry/", limit=page_size)
        revision = result.revision
        self.revision = revision
        while True:
            for kv in result.kvs:
                cached = self.cache_object(kv.key, kv.value, kv.mod_revision)
                if cached is not None:
                    self._resource_for(kv.key).objects[kv.key] = cached
            if not result.more:
                break
            result = await self._store.range(
                "/registry/", start_after=result.kvs[-1].key, limit=page_size, revision=revision
            )
        self._task = asyncio.create_task(self._follow(revision), name="cacher")
        self._ready.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, StoreClosed):
                await self._task
        for resource in self._resources.values():
            for watcher in resource.watchers:
                watcher.close()

    async def _follow(self, revision: int) -> None:
        while True:
            try:
                async for event in self._store.watch("/registry/", from_revision=revision):
                    self._apply(event)
                    revision = event.revision
            except Expired:
                # We fell behind the store's history: nothing is lost for our own state
                # (re-read it), but watchers must re-list.
                log.warning("watch cache fell behind the store; reloading")
                revision = await self._reload()
            except StoreClosed:
                return

    async def _reload(self) -> int:
        result = await self._store.range("/registry/")
        fresh: dict[str, dict[str, CachedObject]] = collections.defaultdict(dict)
        for kv in result.kvs:
            cached = self.cache_object(kv.key, kv.value, kv.mod_revision)
            if cached is not None:
                fresh[_prefix_of(kv.key)][kv.key] = cached
        for prefix, resource in self._resources.items():
            resource.objects = fresh.pop(prefix, {})
            resource.events.clear()
            resource.oldest_revision = result.revision
            for watcher in resource.watchers:
                watcher.close()
            resource.watchers.clear()
        for prefix, objects in fresh.items():
            self._resource_for(prefix).objects = objects
        self._advance(result.revision)
        return result.revision

    def _apply(self, event: Event) -> None:
        key = event.kv.key
        cached = self.cache_object(key, event.kv.value, event.kv.mod_revision)
        if cached is not None:
            resource = self._resource_for(key)
            prev = resource.objects.get(key)
            if event.type is EventType.DELETE:
                type_ = "DELETED"
            else:
                type_ = "MODIFIED" if event.prev is not None else "ADDED"
            resource.apply(CachedEvent(type_, event.revision, cached, prev))
        self._advance(event.revision)

    def _advance(self, revision: int) -> None:
        self.revision = max(self.revision, revision)
        while self._waiters and self._waiters[0][0] <= self.revision:
            future = heapq.heappop(self._waiters)[2]
            if not future.done():
                future.set_result(None)

    def cache_object(self, key: str, value: bytes, revision: int) -> CachedObject | None:
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None  # not an object of ours (allocation records and the like)
        if not isinstance(obj, dict) or "metadata" not in obj:
            return None
        meta = obj["metadata"]
        meta["resourceVersion"] = str(revision)
        group = _group_of(key)
        return CachedObject(
            key=key,
            revision=revision,
            raw=compact_json(obj),
            namespace=meta.get("namespace", ""),
            name=meta.get("name", ""),
            labels=meta.get("labels") or {},
            fields=self._fields(group, obj),
        )

    def _resource_for(self, key: str) -> ResourceCache:
        prefix = _prefix_of(key)
        resource = self._resources.get(prefix)
        if resource is None:
            resource = ResourceCache(prefix, self.revision)
            self._resources[prefix] = resource
        return resource

    def resource(self, prefix: str) -> ResourceCache:
        """The cache of the resource stored under ``prefix`` (``/registry/<group>/<plural>/``)."""
        resource = self._resources.get(prefix)
        if resource is None:
            resource = ResourceCache(prefix, self.revision)
            self._resources[prefix] = resource
        return resource

    async def wait_for(self, revision: int, timeout: float = 3.0) -> bool:
        """Wait until the cache has applied ``revision``; False on timeout."""
        if self.revision >= revision:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (revision, next(self._counter), future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True

    async def wait_fresh(self, timeout: float = 3.0) -> bool:
        """Wait until the cache reflects every write committed so far."""
        return await self.wait_for(await self._store.current_revision(), timeout)


def _prefix_of(key: str) -> str:
    """``/registry/<group>/<plural>/`` of a key."""
    parts = key.split("/", 4)
    return "/".join(parts[:4]) + "/"


def _group_of(key: str) -> str:
    group = key.split("/", 3)[2]
    return "" if group == "core" else group
