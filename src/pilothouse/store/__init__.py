"""The store: an etcd-shaped MVCC key-value store (see ``interface`` for the contract).

``await open_store(endpoint, data_dir=...)`` opens the backend the endpoint URL names
(``backends``); SQLite is the default.
"""

from .backends import BACKENDS, UnsupportedEndpoint, open_store
from .compactor import CompactionPolicy, PeriodicCompactor
from .interface import (
    Event,
    EventType,
    Expired,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RangeResult,
    RevisionMismatch,
    Store,
    StoreClosed,
    StoreError,
)
from .memory import MemoryStore
from .sqlite import SqliteSettings, SqliteStore

__all__ = [
    "BACKENDS",
    "CompactionPolicy",
    "Event",
    "EventType",
    "Expired",
    "FutureRevision",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "MemoryStore",
    "PeriodicCompactor",
    "RangeResult",
    "RevisionMismatch",
    "SqliteSettings",
    "SqliteStore",
    "Store",
    "StoreClosed",
    "StoreError",
    "UnsupportedEndpoint",
    "open_store",
]
