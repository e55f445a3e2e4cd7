"""MemoryStore: the whole Store contract in process memory, for tests and as a reference.

Every version of every key is kept until compacted, so reads at old revisions work, and the
watch buffer is unbounded by default (bounded only by compaction), so watches from any
uncompacted revision work too. Nothing survives the process. Operations complete without
yielding to the event loop, so each one is atomic with respect to the others.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import AsyncIterator, Iterator

from .interface import (
    Event,
    EventType,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RangeResult,
    RevisionMismatch,
    Store,
    StoreClosed,
)
from .keyrange import prefix_end, range_start
from .revisions import read_revision
from .watchbuffer import WatchBuffer

# One version of a key: the revision that wrote it and the value then (None: deleted).
_Version = tuple[int, KeyValue | None]


class MemoryStore(Store):
    def __init__(self, *, watch_capacity: int | None = None):
        self._revision = 0
        self._compacted = 0
        self._versions: dict[str, list[_Version]] = {}  # per key, in revision order
        self._keys: list[str] = []  # sorted keys of _versions
        self._buffer = WatchBuffer(capacity=watch_capacity, floor=0)
        self._closed = False

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        self._check_open()
        return self._value_at(key, self._read_revision(revision))

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int = 0,
    ) -> RangeResult:
        self._check_open()
        at = self._read_revision(revision)
        kvs: list[KeyValue] = []
        for key in self._keys_in(prefix, start_after):
            kv = self._value_at(key, at)
            if kv is None:
                continue
            if limit and len(kvs) == limit:
                return RangeResult(kvs=kvs, revision=at, more=True)
            kvs.append(kv)
        return RangeResult(kvs=kvs, revision=at, more=False)

    async def count(self, prefix: str) -> int:
        self._check_open()
        return sum(1 for key in self._keys_in(prefix, None) if self._latest(key) is not None)

    async def create(self, key: str, value: bytes) -> KeyValue:
        self._check_open()
        if self._latest(key) is not None:
            raise KeyExists(key)
        revision = self._revision + 1
        kv = KeyValue(key=key, value=value, create_revision=revision, mod_revision=revision)
        self._commit(key, kv, Event(type=EventType.PUT, kv=kv, prev=None))
        return kv

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        self._check_open()
        prev = self._expect(key, expected_revision)
        kv = KeyValue(
            key=key,
            value=value,
            create_revision=prev.create_revision,
            mod_revision=self._revision + 1,
        )
        self._commit(key, kv, Event(type=EventType.PUT, kv=kv, prev=prev))
        return kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        self._check_open()
        prev = self._expect(key, expected_revision)
        deleted = KeyValue(
            key=key,
            value=prev.value,
            create_revision=prev.create_revision,
            mod_revision=self._revision + 1,
        )
        self._commit(key, None, Event(type=EventType.DELETE, kv=deleted, prev=prev))
        return deleted

    def watch(self, prefix: str, *, from_revision: int) -> AsyncIterator[Event]:
        return self._buffer.watch(prefix, from_revision)

    async def current_revision(self) -> int:
        self._check_open()
        return self._revision

    async def compact(self, revision: int) -> None:
        self._check_open()
        if revision > self._revision:
            raise FutureRevision(revision, self._revision)
        if revision <= self._compacted:
            return
        for key in list(self._keys):
            self._compact_key(key, revision)
        self._keys = sorted(self._versions)
        self._compacted = revision
        self._buffer.compact(revision)

    async def close(self) -> None:
        self._closed = True
        self._buffer.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("store is closed")

    def _read_revision(self, revision: int) -> int:
        return read_revision(revision, current=self._revision, compacted=self._compacted)

    def _keys_in(self, prefix: str, start_after: str | None) -> Iterator[str]:
        start, inclusive = range_start(prefix, start_after)
        end = prefix_end(prefix)
        bisect = bisect_left if inclusive else bisect_right
        for index in range(bisect(self._keys, start), len(self._keys)):
            key = self._keys[index]
            if end is not None and key >= end:
                return
            yield key

    def _value_at(self, key: str, revision: int) -> KeyValue | None:
        versions = self._versions.get(key)
        if not versions:
            return None
        index = bisect_right(versions, revision, key=lambda version: version[0])
        return versions[index - 1][1] if index else None

    def _latest(self, key: str) -> KeyValue | None:
        versions = self._versions.get(key)
        return versions[-1][1] if versions else None

    def _expect(self, key: str, expected_revision: int) -> KeyValue:
        """The key's current value, if it is at ``expected_revision`` (0: any)."""
        current = self._latest(key)
        if current is None:
            raise KeyNotFound(key)
        if expected_revision and current.mod_revision != expected_revision:
            raise RevisionMismatch(key, expected_revision, current.mod_revision)
        return current

    def _commit(self, key: str, kv: KeyValue | None, event: Event) -> None:
        self._revision = event.revision
        versions = self._versions.get(key)
        if versions is None:
            versions = self._versions[key] = []
            insort(self._keys, key)
        versions.append((self._revision, kv))
        self._buffer.append((event,))

    def _compact_key(self, key: str, revision: int) -> None:
        """Keep the versions above ``revision`` and the one in force at it, unless deleted."""
        versions = self._versions[key]
        in_force = bisect_right(versions, revision, key=lambda version: version[0]) - 1
        if in_force < 0:
            return
        keep_from = in_force if versions[in_force][1] is not None else in_force + 1
        del versions[:keep_from]
        if not versions:
            del self._versions[key]
