"""The store contract: an etcd-shaped MVCC key-value interface.

Every backend (sqlite, memory, etcd) gives the same guarantees:

- One global, strictly increasing revision. Every successful write (create, update, delete)
  takes the next revision; a key's ``mod_revision`` is the revision of its last write and its
  ``create_revision`` the revision that created it.
- Writes are conditional (create only if absent, update/delete only at an expected
  mod_revision) and durable before the call returns: a write that returned survives a crash.
- ``range`` reads a consistent snapshot at one revision, also across pages (``revision=`` the
  revision the first page returned, ``start_after=`` the last key of the previous page).
- ``watch`` delivers every change after a revision, in revision order, without polling;
  asking for a revision older than what the backend still remembers raises ``Expired``, and
  so does a watcher that falls too far behind (its consumer must re-list, as in Kubernetes).
- ``compact(C)`` forgets the changes at and below ``C``: reads at revisions below ``C`` and
  watches from revisions below ``C`` raise ``Expired``; the state at ``C`` itself stays
  readable and a watch from ``C`` still works (etcd's semantics).
- Reads at, and compaction to, a revision newer than the current one raise ``FutureRevision``.

Keys are strings (``/registry/...``); values are opaque bytes.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass


class StoreError(Exception):
    """Base class of store errors."""


class KeyExists(StoreError):
    """create() of a key that is present."""

    def __init__(self, key: str):
        super().__init__(f"key {key!r} already exists")
        self.key = key


class KeyNotFound(StoreError):
    """update() or delete() of a key that is absent."""

    def __init__(self, key: str):
        super().__init__(f"key {key!r} not found")
        self.key = key


class RevisionMismatch(StoreError):
    """update() or delete() whose expected mod_revision is not the key's current one."""

    def __init__(self, key: str, expected: int, actual: int):
        super().__init__(f"key {key!r} is at revision {actual}, not {expected}")
        self.key = key
        self.expected = expected
        self.actual = actual


class Expired(StoreError):
    """A read or watch at a revision that has been compacted away."""

    def __init__(self, requested: int, oldest: int):
        super().__init__(f"revision {requested} is compacted (oldest available: {oldest})")
        self.requested = requested
        self.oldest = oldest


class FutureRevision(StoreError):
    """A read at, or compaction to, a revision that has not been written yet."""

    def __init__(self, requested: int, current: int):
        super().__init__(f"revision {requested} is in the future (current: {current})")
        self.requested = requested
        self.current = current


class StoreClosed(StoreError):
    """The store was closed, or its backing connection is lost."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(enum.Enum):
    PUT = "PUT"  # a create or an update; prev is None for a create
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    kv: KeyValue  # for DELETE: the key with its last value, mod_revision = the delete revision
    prev: KeyValue | None  # the value before this write, None for a create

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class RangeResult:
    kvs: list[KeyValue]
    revision: int  # the snapshot revision the page was read at
    more: bool  # True when limit cut the result short


class Store(abc.ABC):
    """Abstract MVCC store. See the module docstring for the guarantees.

    A store belongs to the event loop it was opened on; ``async with`` closes it.
    """

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @abc.abstractmethod
    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The key's value at ``revision`` (0: the latest), or None."""

    @abc.abstractmethod
    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int = 0,
    ) -> RangeResult:
        """Keys starting with ``prefix`` in key order at one revision (0: the latest).

        ``start_after`` skips keys <= it (paging); ``limit`` 0 means no limit.
        """

    @abc.abstractmethod
    async def count(self, prefix: str) -> int:
        """Number of live keys under ``prefix`` at the latest revision."""

    @abc.abstractmethod
    async def create(self, key: str, value: bytes) -> KeyValue:
        """Create ``key``; raise KeyExists when present. Returns the stored KeyValue."""

    @abc.abstractmethod
    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        """Replace ``key`` if its mod_revision equals ``expected_revision`` (0: unconditional).

        Raises KeyNotFound or RevisionMismatch. Returns the stored KeyValue.
        """

    @abc.abstractmethod
    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        """Delete ``key`` (conditionally, as update). Returns the deleted KeyValue with
        mod_revision set to the delete's revision. Raises KeyNotFound or RevisionMismatch."""

    @abc.abstractmethod
    def watch(self, prefix: str, *, from_revision: int) -> AsyncIterator[Event]:
        """Every change to keys under ``prefix`` with revision > ``from_revision``, in order.

        Raises Expired (on first iteration) when ``from_revision`` is older than the
        history the backend keeps, and later when the consumer falls so far behind that
        the events it has not read yet are forgotten. The iterator ends only when the
        store closes (then it raises StoreClosed) or the consumer stops iterating.
        """

    @abc.abstractmethod
    async def current_revision(self) -> int:
        """The revision of the latest committed write (0 for an empty store)."""

    @abc.abstractmethod
    async def compact(self, revision: int) -> None:
        """Forget the changes at and below ``revision`` (live keys are kept).

        Compacting to a revision at or below an earlier compaction does nothing.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush and release resources. Pending watches end with StoreClosed."""
