"""Reads, run on a reader connection in a worker thread (never on the event loop).

Each read that involves a revision runs in one read transaction, so the revision it checks
and the rows it returns come from the same WAL snapshot, whatever the writer commits
meanwhile. Reads at the latest revision go through ``live``; reads at older revisions find,
per key, the newest log row at or below the revision, walking ``log_by_key`` in key order
so that ``LIMIT`` stops the scan early.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..interface import Event, EventType, KeyValue, RangeResult
from ..keyrange import prefix_end, range_start
from ..revisions import read_revision

_REVISIONS = """
SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'log'), 0),
       (SELECT value FROM meta WHERE name = 'compact_revision')
"""

_GET_LATEST = """
SELECT log.key, log.value, log.create_revision, log.revision
FROM live JOIN log ON log.revision = live.revision
WHERE live.key = ?
"""

_GET_AT = """
SELECT key, value, create_revision, revision, deleted FROM log
WHERE key = ? AND revision <= ?
ORDER BY revision DESC LIMIT 1
"""

# {lower} and {upper} are fixed fragments (_bounds, _upper), never user input.
_RANGE_LATEST = """
SELECT log.key, log.value, log.create_revision, log.revision
FROM live JOIN log ON log.revision = live.revision
WHERE live.key {lower} ? {upper}
ORDER BY live.key LIMIT ?
"""

_RANGE_AT = """
SELECT key, value, create_revision, revision FROM log AS row
WHERE key {lower} ? {upper} AND revision <= ?
  AND revision = (SELECT max(revision) FROM log WHERE key = row.key AND revision <= ?)
  AND deleted = 0
ORDER BY key LIMIT ?
"""

_COUNT = "SELECT count(*) FROM live WHERE key >= ? {upper}"

# Newest first, with the row each one replaced (the previous value of an update or delete).
_HISTORY = """
SELECT row.revision, row.key, row.create_revision, row.deleted, row.value,
       prev.revision, prev.create_revision, prev.value
FROM log AS row LEFT JOIN log AS prev ON prev.revision = row.prev_revision
WHERE row.revision > ?
ORDER BY row.revision DESC LIMIT ?
"""


@dataclass(frozen=True, slots=True)
class StoredState:
    """What a store needs at open: revisions and the newest events for the watch buffer."""

    revision: int
    compacted: int
    floor: int  # every event above it is in ``events``
    events: list[Event]  # oldest first


def revisions(connection: sqlite3.Connection) -> tuple[int, int]:
    """(current revision, compacted revision)."""
    current, compacted = connection.execute(_REVISIONS).fetchone()
    return current, compacted


def get(connection: sqlite3.Connection, key: str, revision: int) -> KeyValue | None:
    if revision == 0:
        row = connection.execute(_GET_LATEST, (key,)).fetchone()
        return _key_value(row) if row else None
    with _snapshot(connection):
        current, compacted = revisions(connection)
        at = read_revision(revision, current=current, compacted=compacted)
        row = connection.execute(_GET_AT, (key, at)).fetchone()
    if row is None or row[4]:
        return None
    return _key_value(row)


def range_(
    connection: sqlite3.Connection,
    prefix: str,
    start_after: str | None,
    limit: int,
    revision: int,
) -> RangeResult:
    lower, start, end = _bounds(prefix, start_after)
    # One row past the limit tells whether there is more.
    sql_limit = limit + 1 if limit else -1
    with _snapshot(connection):
        current, compacted = revisions(connection)
        at = read_revision(revision, current=current, compacted=compacted)
        if at == current:
            sql = _RANGE_LATEST.format(lower=lower, upper=_upper("live.key", end))
            rows = connection.execute(sql, (start, *end, sql_limit)).fetchall()
        else:
            sql = _RANGE_AT.format(lower=lower, upper=_upper("key", end))
            rows = connection.execute(sql, (start, *end, at, at, sql_limit)).fetchall()
    more = bool(limit) and len(rows) > limit
    kvs = [_key_value(row) for row in (rows[:limit] if more else rows)]
    return RangeResult(kvs=kvs, revision=at, more=more)


def count(connection: sqlite3.Connection, prefix: str) -> int:
    _, start, end = _bounds(prefix, None)
    return connection.execute(_COUNT.format(upper=_upper("key", end)), (start, *end)).fetchone()[0]


def stored_state(connection: sqlite3.Connection, capacity: int | None) -> StoredState:
    """Revisions and the last ``capacity`` events (None: all retained history)."""
    with _snapshot(connection):
        current, compacted = revisions(connection)
        # One row more than kept: the newest revision the buffer will not hold.
        sql_limit = capacity + 1 if capacity is not None else -1
        rows = connection.execute(_HISTORY, (compacted, sql_limit)).fetchall()
    floor = compacted
    if capacity is not None and len(rows) > capacity:
        floor = rows.pop()[0]
    events = [_event(row) for row in reversed(rows)]
    return StoredState(revision=current, compacted=compacted, floor=floor, events=events)


@contextmanager
def _snapshot(connection: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every statement inside sees the same committed state."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


def _bounds(prefix: str, start_after: str | None) -> tuple[str, str, tuple[str, ...]]:
    """The keys of a page: (comparison with start, start, end as 0 or 1 parameter)."""
    start, inclusive = range_start(prefix, start_after)
    end = prefix_end(prefix)
    return (">=" if inclusive else ">"), start, (() if end is None else (end,))


def _upper(column: str, end: tuple[str, ...]) -> str:
    return f"AND {column} < ?" if end else ""


def _key_value(row: tuple) -> KeyValue:
    key, value, create_revision, revision = row[:4]
    return KeyValue(key=key, value=value, create_revision=create_revision, mod_revision=revision)


def _event(row: tuple) -> Event:
    revision, key, create_revision, deleted, value, prev_revision, prev_create, prev_value = row
    prev = None
    if prev_revision is not None:
        prev = KeyValue(
            key=key, value=prev_value, create_revision=prev_create, mod_revision=prev_revision
        )
    if deleted:
        assert prev is not None, f"delete at revision {revision} lost its previous row"
        kv = KeyValue(
            key=key, value=prev.value, create_revision=create_revision, mod_revision=revision
        )
        return Event(type=EventType.DELETE, kv=kv, prev=prev)
    kv = KeyValue(key=key, value=value, create_revision=create_revision, mod_revision=revision)
    return Event(type=EventType.PUT, kv=kv, prev=prev)
