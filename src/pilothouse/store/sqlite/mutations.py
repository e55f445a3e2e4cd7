"""Writes, run only on the writer connection in the writer thread.

``apply`` checks one write's precondition and applies it inside the writer's open
transaction; a failed precondition raises before anything is written, so the other writes of
the batch are unaffected. The maintenance steps (compaction, space reclaim, checkpoint) run
in transactions of their own, each short, so that write batches interleave with them.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..interface import Event, EventType, KeyExists, KeyNotFound, KeyValue, RevisionMismatch

_CURRENT = """
SELECT live.revision, log.create_revision, log.value
FROM live JOIN log ON log.revision = live.revision
WHERE live.key = ?
"""
_EXISTS = "SELECT 1 FROM live WHERE key = ?"
_APPEND = """
INSERT INTO log (revision, key, create_revision, prev_revision, deleted, value)
VALUES (?, ?, ?, ?, ?, ?)
"""
_LIVE_INSERT = "INSERT INTO live (key, revision) VALUES (?, ?)"
_LIVE_UPDATE = "UPDATE live SET revision = ? WHERE key = ?"
_LIVE_DELETE = "DELETE FROM live WHERE key = ?"

# Compaction of (after, through]: a row is dropped once a later row at or below ``through``
# replaced it, and a delete row once it is at or below ``through``. Only the log rows written
# since the previous compaction are visited (primary key range), however big the log is.
_DROP_REPLACED = """
DELETE FROM log WHERE revision IN (
    SELECT prev_revision FROM log WHERE revision > ? AND revision <= ? AND prev_revision > 0
)
"""
_DROP_DELETES = "DELETE FROM log WHERE revision > ? AND revision <= ? AND deleted = 1"
_SET_COMPACTED = "UPDATE meta SET value = ? WHERE name = 'compact_revision'"


class Op(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Write:
    op: Op
    key: str
    value: bytes = b""
    expected_revision: int = 0  # UPDATE and DELETE: 0 means unconditional


def apply(connection: sqlite3.Connection, write: Write, revision: int) -> Event:
    """Apply ``write`` at ``revision`` in the open transaction, or raise its StoreError."""
    if write.op is Op.CREATE:
        return _create(connection, write.key, write.value, revision)
    prev = _expect(connection, write.key, write.expected_revision)
    if write.op is Op.UPDATE:
        return _update(connection, write.key, write.value, prev, revision)
    return _delete(connection, write.key, prev, revision)


def compact_chunk(connection: sqlite3.Connection, after: int, through: int) -> None:
    """Forget the changes in (after, through] and record ``through`` as compacted."""
    with transaction(connection):
        connection.execute(_DROP_REPLACED, (after, through))
        connection.execute(_DROP_DELETES, (after, through))
        connection.execute(_SET_COMPACTED, (through,))


def reclaim_pages(connection: sqlite3.Connection, pages: int) -> int:
    """Return up to ``pages`` free pages to the file system; the number still free."""
    # Each step of this pragma frees one page and execute() steps once: executescript()
    # steps it to the end.
    connection.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
    return connection.execute("PRAGMA freelist_count").fetchone()[0]


def checkpoint(connection: sqlite3.Connection) -> None:
    """Copy the WAL into the database and truncate the -wal file to zero bytes."""
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """A write transaction, committed (and fsynced) on success, rolled back on error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        # Also when COMMIT itself failed: SQLite may leave the transaction open, and the
        # next BEGIN on this connection would fail.
        rollback(connection)
        raise


def rollback(connection: sqlite3.Connection) -> None:
    """Roll back whatever transaction is open; SQLite may already have rolled it back."""
    if connection.in_transaction:
        connection.execute("ROLLBACK")


def _create(connection: sqlite3.Connection, key: str, value: bytes, revision: int) -> Event:
    if connection.execute(_EXISTS, (key,)).fetchone():
        raise KeyExists(key)
    connection.execute(_APPEND, (revision, key, revision, 0, 0, value))
    connection.execute(_LIVE_INSERT, (key, revision))
    kv = KeyValue(key=key, value=value, create_revision=revision, mod_revision=revision)
    return Event(type=EventType.PUT, kv=kv, prev=None)


def _update(
    connection: sqlite3.Connection, key: str, value: bytes, prev: KeyValue, revision: int
) -> Event:
    connection.execute(_APPEND, (revision, key, prev.create_revision, prev.mod_revision, 0, value))
    connection.execute(_LIVE_UPDATE, (revision, key))
    kv = KeyValue(key=key, value=value, create_revision=prev.create_revision, mod_revision=revision)
    return Event(type=EventType.PUT, kv=kv, prev=prev)


def _delete(connection: sqlite3.Connection, key: str, prev: KeyValue, revision: int) -> Event:
    connection.execute(_APPEND, (revision, key, prev.create_revision, prev.mod_revision, 1, b""))
    connection.execute(_LIVE_DELETE, (key,))
    kv = KeyValue(
        key=key, value=prev.value, create_revision=prev.create_revision, mod_revision=revision
    )
    return Event(type=EventType.DELETE, kv=kv, prev=prev)


def _expect(connection: sqlite3.Connection, key: str, expected_revision: int) -> KeyValue:
    """The key's current value, if it is at ``expected_revision`` (0: any)."""
    row = connection.execute(_CURRENT, (key,)).fetchone()
    if row is None:
        raise KeyNotFound(key)
    mod_revision, create_revision, value = row
    if expected_revision and mod_revision != expected_revision:
        raise RevisionMismatch(key, expected_revision, mod_revision)
    return KeyValue(
        key=key, value=value, create_revision=create_revision, mod_revision=mod_revision
    )
