"""SqliteStore: the default backend, one SQLite file in WAL mode.

Writes go through the single writer thread (group commit, durable before they return; see
``writer``); reads run on a pool of reader threads (see ``queries``); watches are served from
the in-memory watch buffer, which the writer feeds after each commit and which ``open``
fills from the history kept in the file, so watchers resume across a restart. A periodic
compactor bounds the history, and every compaction is followed by returning freed pages to
the file system and truncating the WAL, so neither file grows without bound. With no
requests, no thread or task runs except the compactor's timer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from ..compactor import CompactionPolicy, PeriodicCompactor
from ..interface import Event, FutureRevision, KeyValue, RangeResult, Store, StoreClosed
from ..watchbuffer import WatchBuffer
from . import mutations, queries
from .mutations import Op, Write
from .readers import ReaderPool
from .schema import connect_reader, connect_writer, create_schema
from .writer import Writer, WriteStats

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SqliteSettings:
    path: Path
    compaction: CompactionPolicy = field(default_factory=CompactionPolicy)
    watch_buffer_size: int = 10_000  # events kept for watchers (about 10 MB of 1 KB values)
    readers: int = 4  # reader threads, each with its own connection
    max_batch: int = 1_000  # writes committed together at most
    compaction_step: int = 2_000  # revisions compacted per transaction (about 10 ms)
    reclaim_step: int = 2_048  # pages handed back to the file system per transaction


class SqliteStore(Store):
    """Open with ``await SqliteStore.open(settings)``."""

    def __init__(
        self,
        *,
        settings: SqliteSettings,
        state: queries.StoredState,
        readers: ReaderPool,
    ):
        self._settings = settings
        self._revision = state.revision
        self._compacted = state.compacted
        self._buffer = WatchBuffer(
            capacity=settings.watch_buffer_size, floor=state.floor, history=state.events
        )
        self._readers = readers
        self._writer: Writer | None = None
        self._compactor = PeriodicCompactor(self, policy=settings.compaction)
        self._compaction_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, settings: SqliteSettings) -> SqliteStore:
        await asyncio.to_thread(create_schema, settings.path)
        state = await asyncio.to_thread(_load_state, settings.path, settings.watch_buffer_size)
        readers = ReaderPool(path=settings.path, size=settings.readers)
        store = cls(settings=settings, state=state, readers=readers)
        connection = await asyncio.to_thread(connect_writer, settings.path)
        store._writer = Writer(
            connection=connection,
            revision=state.revision,
            on_commit=store._on_commit,
            max_batch=settings.max_batch,
        )
        await store._compactor.start()
        return store

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        return await self._read(partial(queries.get, key=key, revision=revision))

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int = 0,
    ) -> RangeResult:
        query = partial(
            queries.range_,
            prefix=prefix,
            start_after=start_after,
            limit=limit,
            revision=revision,
        )
        return await self._read(query)

    async def count(self, prefix: str) -> int:
        return await self._read(partial(queries.count, prefix=prefix))

    async def create(self, key: str, value: bytes) -> KeyValue:
        return await self._write(Write(Op.CREATE, key, _as_bytes(value)))

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        return await self._write(Write(Op.UPDATE, key, _as_bytes(value), expected_revision))

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        return await self._write(Write(Op.DELETE, key, b"", expected_revision))

    def watch(self, prefix: str, *, from_revision: int) -> AsyncIterator[Event]:
        return self._buffer.watch(prefix, from_revision)

    async def current_revision(self) -> int:
        self._check_open()
        return self._revision

    @property
    def write_stats(self) -> WriteStats:
        """Transactions and writes committed since open (group commit at work)."""
        return self._open_writer().stats

    async def compact(self, revision: int) -> None:
        writer = self._open_writer()
        if revision > self._revision:
            raise FutureRevision(revision, self._revision)
        async with self._compaction_lock:
            if revision <= self._compacted:
                return
            step = self._settings.compaction_step
            for after in range(self._compacted, revision, step):
                through = min(after + step, revision)
                await writer.run(partial(mutations.compact_chunk, after=after, through=through))
                self._compacted = through
            self._buffer.compact(revision)
            await self._reclaim_space(writer)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._compactor.stop()
        self._buffer.close()
        if self._writer is not None:
            try:
                await self._writer.run(mutations.checkpoint)
            except sqlite3.Error:
                # Harmless: the next open replays the WAL.
                log.warning("WAL checkpoint at close failed", exc_info=True)
            await self._writer.stop()
        await self._readers.close()

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        self._check_open()
        return await self._readers.run(query)

    async def _write(self, write: Write) -> KeyValue:
        event = await self._open_writer().write(write)
        return event.kv

    async def _reclaim_space(self, writer: Writer) -> None:
        reclaim = partial(mutations.reclaim_pages, pages=self._settings.reclaim_step)
        while await writer.run(reclaim):
            pass
        await writer.run(mutations.checkpoint)

    def _on_commit(self, events: list[Event]) -> None:
        self._revision = events[-1].revision
        self._buffer.append(events)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("store is closed")

    def _open_writer(self) -> Writer:
        self._check_open()
        assert self._writer is not None, "SqliteStore used before open() returned"
        return self._writer


def _load_state(path: Path, capacity: int) -> queries.StoredState:
    # A connection of its own, so the pages read to fill the watch buffer leave memory.
    connection = connect_reader(path)
    try:
        return queries.stored_state(connection, capacity)
    finally:
        connection.close()


def _as_bytes(value: bytes) -> bytes:
    # Checked here, not by SQLite: a value SQLite cannot bind would fail the whole batch.
    if not isinstance(value, bytes):
        raise TypeError(f"store values are bytes, not {type(value).__name__}")
    return value
