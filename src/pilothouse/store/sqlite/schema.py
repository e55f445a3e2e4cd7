"""The SQLite schema and connection setup.

Learned from kine (k3s's SQLite shim): ``log`` is an append-only table whose AUTOINCREMENT
primary key is the revision, one row per write. What kine's users suffer is fixed here:

- ``live`` maps each existing key to its current row, so reading the latest state, counting
  and the per-write checks are index seeks instead of "max(id) group by name" over the log.
- ``log_by_key`` (key, revision) serves reads at old revisions, and compaction walks the
  primary key from the previous compaction only (see ``mutations.compact_chunk``), so
  neither ever scans the whole log.
- ``auto_vacuum = INCREMENTAL`` lets compaction hand freed pages back to the file system,
  and a ``journal_size_limit`` plus explicit checkpoints keep the -wal file bounded.
- AUTOINCREMENT never reuses a revision, also after compaction deleted every row, so
  revisions keep increasing across restarts. ``meta`` records the compacted revision.

A delete is a ``deleted`` row with an empty value; its ``prev_revision`` points at the row
holding the last value, which compaction keeps as long as the delete row is kept.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Set before the first table exists; it cannot be switched later without a full VACUUM.
_NEW_DATABASE_PRAGMAS = ("PRAGMA auto_vacuum = INCREMENTAL", "PRAGMA journal_mode = WAL")

_TABLES = """
CREATE TABLE IF NOT EXISTS log (
    revision INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,  -- this key's previous row; 0 for a create
    deleted INTEGER NOT NULL,        -- 1: this row deletes the key
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_by_key ON log (key, revision);
CREATE TABLE IF NOT EXISTS live (
    key TEXT PRIMARY KEY,
    revision INTEGER NOT NULL        -- the log row holding the current value
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_revision', 0);
"""

# The -wal file is truncated to this size whenever a checkpoint resets it.
_WAL_SIZE_LIMIT = 64 * 1024 * 1024
_BUSY_TIMEOUT_MS = 10_000
_CACHE_KIB = 8 * 1024  # per connection; the OS page cache is shared by all


def create_schema(path: Path) -> None:
    """Create the database file and its tables if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in _NEW_DATABASE_PRAGMAS:
            connection.execute(pragma)
        connection.executescript(f"BEGIN IMMEDIATE; {_TABLES} COMMIT;")
    finally:
        connection.close()


def connect_writer(path: Path) -> sqlite3.Connection:
    """The one connection that writes. Every commit is fsynced before it returns."""
    connection = _connect(path)
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute(f"PRAGMA journal_size_limit = {_WAL_SIZE_LIMIT}")
    return connection


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection; WAL lets it read a snapshot while the writer commits."""
    connection = _connect(path)
    connection.execute("PRAGMA query_only = ON")
    return connection


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are begun and committed explicitly.
    # check_same_thread=False: connections are closed by the thread that shuts down.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    connection.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
    return connection
