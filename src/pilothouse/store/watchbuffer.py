"""The watch buffer: recent events in memory, fanned out to watchers without polling.

A backend appends every committed event here, in revision order, right after the commit (the
write path for SQLite and memory; etcd's own watch stream for etcd). Watchers read from the
buffer, never from the database.

Guarantees:

- A watch from revision ``R`` yields every event under its prefix with revision > ``R``, in
  revision order, each once. ``R`` must be at or above ``floor`` (the newest revision the
  buffer has forgotten); older revisions raise ``Expired`` on the first iteration.
- The buffer holds the last ``capacity`` events (and nothing at or below a compaction).
  Appending never waits for watchers: a watcher whose unread events are evicted ends with
  ``Expired`` and its consumer re-lists, as with Kubernetes' watch cache.
- Fan-out is shared per prefix: watchers of one prefix share one *feed*, a queue of the
  matching events filled once per event, and one wake-up signal. Delivering an event to N
  watchers of a prefix costs one append plus N wake-ups; events are never copied per
  watcher. Finding the feeds an event belongs to costs a dict lookup per ``/`` in its key
  (prefixes ending in ``/``, which is what the API server watches) plus a scan of the few
  feeds with other prefixes, so it does not grow with the number of watched prefixes.
- ``close`` ends every watcher with ``StoreClosed``.

Everything here runs on the event loop thread; nothing is thread-safe.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterator, Iterable

from .interface import Event, Expired, StoreClosed


def _revision(event: Event) -> int:
    return event.revision


class _Feed:
    """The events of one watched prefix, shared by all watchers of that prefix.

    Positions in the feed are absolute sequence numbers: ``first_seq`` is the position of
    ``events[0]``, so a watcher's cursor stays valid while old events are evicted.
    """

    __slots__ = ("prefix", "events", "first_seq", "waiters", "watchers")

    def __init__(self, prefix: str, events: Iterable[Event]):
        self.prefix = prefix
        self.events: deque[Event] = deque(events)
        self.first_seq = 0
        self.waiters: list[asyncio.Future[None]] = []
        self.watchers = 0

    @property
    def end_seq(self) -> int:
        return self.first_seq + len(self.events)

    def changed(self) -> asyncio.Future[None]:
        """A future resolved at the next append to (or close of) this feed."""
        # One future per waiting watcher, not one shared future: cancelling a watcher
        # cancels the future it awaits, which must not wake the others.
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter

    def wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():  # a cancelled watcher leaves a cancelled future
                waiter.set_result(None)


def _aligned(prefix: str) -> bool:
    """Prefixes the per-``/`` dict lookup finds (see the module docstring)."""
    return prefix == "" or prefix.endswith("/")


class WatchBuffer:
    """Recent events of a store, and the watchers reading them."""

    def __init__(self, *, capacity: int | None, floor: int, history: Iterable[Event] = ()):
        """``capacity``: events kept (None: until compacted). ``floor``: every event with a
        revision above it is in ``history`` or will be appended."""
        if capacity is not None and capacity < 1:
            raise ValueError("watch buffer capacity must be at least 1")
        self._capacity = capacity
        self._floor = floor
        self._events: deque[Event] = deque(history)
        self._feeds: dict[str, _Feed] = {}
        self._unaligned_feeds: list[_Feed] = []
        self._closed = False
        self._evict_over_capacity()

    @property
    def floor(self) -> int:
        """The newest revision forgotten: watches must start at or above it."""
        return self._floor

    def __len__(self) -> int:
        return len(self._events)

    def append(self, events: Iterable[Event]) -> None:
        """Add committed events (in revision order) and wake the watchers they concern."""
        touched: dict[str, _Feed] = {}
        for event in events:
            self._events.append(event)
            if self._feeds:
                for feed in self._feeds_of(event.kv.key):
                    feed.events.append(event)
                    touched[feed.prefix] = feed
        self._evict_over_capacity()
        for feed in touched.values():
            feed.wake()

    def compact(self, revision: int) -> None:
        """Forget the events at and below ``revision``."""
        while self._events and self._events[0].revision <= revision:
            self._evict_oldest()
        self._floor = max(self._floor, revision)

    def close(self) -> None:
        """End every watcher with StoreClosed."""
        self._closed = True
        for feed in self._feeds.values():
            feed.wake()

    async def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        """Events under ``prefix`` with revision > ``from_revision``; see the module docstring."""
        if self._closed:
            raise StoreClosed("store is closed")
        if from_revision < self._floor:
            raise Expired(from_revision, self._floor)
        feed = self._join(prefix)
        try:
            cursor = feed.first_seq + bisect_right(feed.events, from_revision, key=_revision)
            delivered = from_revision
            while True:
                if self._closed:
                    raise StoreClosed("store is closed")
                if cursor < feed.first_seq:
                    raise Expired(delivered, self._floor)
                if cursor == feed.end_seq:
                    await feed.changed()
                    continue
                event = feed.events[cursor - feed.first_seq]
                cursor += 1
                # A backend may append a commit after a reader already saw it, so a watch
                # can start above the newest buffered event; skip what it asked not to see.
                if event.revision > delivered:
                    delivered = event.revision
                    yield event
        finally:
            self._leave(feed)

    def _join(self, prefix: str) -> _Feed:
        feed = self._feeds.get(prefix)
        if feed is None:
            feed = _Feed(prefix, (e for e in self._events if e.kv.key.startswith(prefix)))
            self._feeds[prefix] = feed
            if not _aligned(prefix):
                self._unaligned_feeds.append(feed)
        feed.watchers += 1
        return feed

    def _leave(self, feed: _Feed) -> None:
        feed.watchers -= 1
        if feed.watchers == 0:
            del self._feeds[feed.prefix]
            if not _aligned(feed.prefix):
                self._unaligned_feeds.remove(feed)

    def _feeds_of(self, key: str) -> list[_Feed]:
        """The feeds whose prefix ``key`` starts with."""
        feeds = [feed for feed in self._unaligned_feeds if key.startswith(feed.prefix)]
        feed = self._feeds.get("")
        if feed is not None:
            feeds.append(feed)
        slash = key.find("/")
        while slash != -1:
            feed = self._feeds.get(key[: slash + 1])
            if feed is not None:
                feeds.append(feed)
            slash = key.find("/", slash + 1)
        return feeds

    def _evict_over_capacity(self) -> None:
        if self._capacity is None:
            return
        while len(self._events) > self._capacity:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        event = self._events.popleft()
        self._floor = max(self._floor, event.revision)
        if not self._feeds:
            return
        for feed in self._feeds_of(event.kv.key):
            # Feeds are ordered subsets of the buffer, so the event is at their head.
            if feed.events and feed.events[0] is event:
                feed.events.popleft()
                feed.first_seq += 1
