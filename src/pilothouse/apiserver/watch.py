"""Watch streams: ``GET ...?watch=true``, one JSON event per line, chunked.

Semantics follow kube-apiserver's watch cache:

- ``resourceVersion`` unset or "0": synthetic ADDED events for the current state, then every
  change (unset: from a state at least as new as every committed write);
- ``resourceVersion=N``: every change after N, replayed from the event buffer; when N is older
  than the buffer, a single ERROR event carrying a 410 Expired Status (clients re-list);
- ``sendInitialEvents=true`` (watch-list): the initial ADDED events end with a BOOKMARK
  annotated ``k8s.io/initial-events-end: "true"``;
- ``allowWatchBookmarks``: periodic BOOKMARK events carrying only the current
  resourceVersion;
- label and field selectors retype events: an object that stops matching is DELETED for this
  watcher, one that starts matching is ADDED;
- the stream ends after ``timeoutSeconds`` (default: a random 30 to 60 minutes).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from pilothouse.api import errors
from pilothouse.api.resources import ResourceType
from pilothouse.api.tables import partial_object_metadata, to_table
from pilothouse.apiserver import conversion
from pilothouse.apiserver.cacher import CachedEvent, CachedObject, Sink, Watcher, http_chunk
from pilothouse.apiserver.context import APIContext
from pilothouse.apiserver.filters import compile_filter
from pilothouse.apiserver.options import ListOptions
from pilothouse.apiserver.storage import parse_resource_version
from pilothouse.store.interface import Expired

if TYPE_CHECKING:
    from pilothouse.apiserver.rest import Request

BOOKMARK_INTERVAL = 10.0  # seconds between bookmarks (kube-apiserver: about a minute)
MAX_BUFFERED = 8 * 1024 * 1024  # bytes a watcher's connection may hold before it is dropped
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _always(_: CachedObject) -> bool:
    return True


class WatchHandler:
    def __init__(self, ctx: APIContext):
        self.ctx = ctx

    async def watch(self, req: Request) -> web.StreamResponse:
        options = ListOptions.parse(req.query)
        resource = req.resource
        stored = self.ctx.registry.storage_resource(resource)
        matches = compile_filter(resource, options.label_selector, options.field_selector)
        send_initial = self._initial_events_mode(options)
        revision = await self._start_revision(options)

        cache = self.ctx.cacher.resource(stored.key_prefix())
        watcher = Watcher(matches or _always, namespace=req.info.namespace)
        encoder = _EventEncoder(self.ctx, req)
        # No await between reading the state and registering the watcher: no event can slip
        # between the two.
        initial: list[CachedObject] = []
        expired: Expired | None = None
        if send_initial:
            initial = [o for o in cache.items(req.info.namespace) if watcher.matches(o)]
            revision = self.ctx.cacher.revision
        else:
            try:
                for event in cache.events_after(revision):
                    watcher.offer(event)
            except Expired as e:
                expired = e
        if expired is None:
            cache.watchers.add(watcher)

        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(req.http)
        try:
            if expired is not None:
                await response.write(_expired_line(expired))
                return response
            await self._stream(req, response, watcher, encoder, initial, options, revision)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            cache.watchers.discard(watcher)
            watcher.close()
        return response

    def _initial_events_mode(self, options: ListOptions) -> bool:
        if options.send_initial_events is None:
            return options.resource_version in ("", "0")
        if options.send_initial_events and options.resource_version_match != "NotOlderThan":
            raise errors.Invalid(
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                kind="ListOptions", group="meta.k8s.io",
            )
        if options.send_initial_events and not options.allow_bookmarks:
            raise errors.Invalid(
                "ListOptions.meta.k8s.io \"\" is invalid: allowWatchBookmarks: Forbidden: "
                "allowWatchBookmarks must be set to true when sendInitialEvents is set",
                kind="ListOptions", group="meta.k8s.io",
            )
        return options.send_initial_events

    async def _start_revision(self, options: ListOptions) -> int:
        rv = options.resource_version
        if rv == "0":
            return self.ctx.cacher.revision
        if rv == "":
            await self.ctx.cacher.wait_fresh()
            return self.ctx.cacher.revision
        revision = parse_resource_version(rv)
        if not await self.ctx.cacher.wait_for(revision):
            raise errors.Timeout(
                f"Too large resource version: {revision}, current resource version: "
                f"{self.ctx.cacher.revision}",
                retry_after=1,
            )
        return revision

    async def _stream(
        self,
        req: Request,
        response: web.StreamResponse,
        watcher: Watcher,
        encoder: _EventEncoder,
        initial: list[CachedObject],
        options: ListOptions,
        revision: int,
    ) -> None:
        timeout = options.timeout_seconds or random.randint(1800, 3600)
        deadline = time.monotonic() + timeout
        if initial:
            await response.write(b"".join(encoder.object_line("ADDED", o) for o in initial))
        if options.send_initial_events:
            await response.write(encoder.bookmark(revision, initial_events_end=True))
        sink = _connection_sink(req) if encoder.plain else None
        if sink is not None:
            watcher.go_direct(sink)  # later events go straight to the connection
        last_bookmark = revision
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or watcher.closed and not watcher.pending:
                return
            wait = min(remaining, BOOKMARK_INTERVAL) if options.allow_bookmarks else remaining
            batch = await watcher.next_batch(wait)
            if batch:
                await response.write(b"".join(encoder.event_line(t, e) for t, e in batch))
                last_bookmark = batch[-1][1].revision
            elif options.allow_bookmarks and self.ctx.cacher.revision > last_bookmark:
                last_bookmark = self.ctx.cacher.revision
                bookmark = encoder.bookmark(last_bookmark)
                if sink is not None:
                    watcher.write(http_chunk(bookmark))
                else:
                    await response.write(bookmark)


def _connection_sink(req: Request) -> Sink | None:
    """Writes framed chunks straight to the client's connection (the response is chunked
    and its headers are sent), reporting a client that lets more than MAX_BUFFERED bytes
    pile up."""
    transport = req.http.transport
    if transport is None:
        return None

    def write(chunk: bytes) -> bool:
        if transport.is_closing():
            return False
        transport.write(chunk)
        return transport.get_write_buffer_size() <= MAX_BUFFERED

    return write


class _EventEncoder:
    """Renders events in the representation the watcher asked for; the plain JSON case reuses
    the bytes the cache serialized once for everyone."""

    def __init__(self, ctx: APIContext, req: Request):
        self.ctx = ctx
        self.resource: ResourceType = req.resource
        self.as_kind = req.representation.as_kind
        self.include_object = req.representation.include_object
        self.converts = ctx.registry.storage_resource(req.resource) is not req.resource
        self.plain = not self.as_kind and not self.converts

    def event_line(self, type_: str, event: CachedEvent) -> bytes:
        if self.plain:
            return event.line(type_)
        return self.object_line(type_, event.obj)

    def object_line(self, type_: str, obj: CachedObject) -> bytes:
        if self.plain:
            return b'{"type":"' + type_.encode() + b'","object":' + obj.raw + b"}\n"
        decoded = conversion.to_served(self.resource, self.ctx.registry, obj.decode())
        return _line(type_, self._render(decoded))

    def _render(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self.as_kind == "Table":
            return to_table(self.resource, [obj], include_object=self.include_object)
        if self.as_kind.startswith("PartialObjectMetadata"):
            return partial_object_metadata(obj)
        return obj

    def bookmark(self, revision: int, *, initial_events_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_events_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj = {"kind": self.resource.kind, "apiVersion": self.resource.api_version,
               "metadata": meta}
        return _line("BOOKMARK", obj)


def _line(type_: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": type_, "object": obj}) + b"\n"


def _expired_line(e: Expired) -> bytes:
    status = errors.Expired(f"too old resource version: {e.requested} ({e.oldest})").status()
    return _line("ERROR", status)
