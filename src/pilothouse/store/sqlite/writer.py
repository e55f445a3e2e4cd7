"""The single writer: one thread, one connection, group commit.

Coroutines hand writes to a queue and await a future. The writer thread takes everything
queued (up to ``max_batch``), applies each write in order inside one transaction, commits
once (one fsync for the whole batch) and only then, in one callback on the event loop,
publishes the batch's events and settles the futures. So:

- a write whose future resolved is on disk (``synchronous = FULL``);
- a write whose precondition fails (exists, not found, revision mismatch) fails alone; an
  SQLite error (disk full, I/O) fails the whole batch and nothing of it is written;
- events reach ``on_commit`` in revision order, before any writer of the batch resumes, so a
  client that wrote and then watches from its write's revision misses nothing;
- while a batch commits, the next one gathers in the queue: the busier the store, the more
  writes share one fsync, with no timer and no added latency when it is quiet.

Maintenance jobs (compaction steps, vacuum, checkpoint) run on the same thread between
batches, so they never contend with writes for the write lock.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..interface import Event, StoreClosed, StoreError
from . import mutations

T = TypeVar("T")


@dataclass(slots=True)
class _WriteRequest:
    write: mutations.Write
    future: asyncio.Future[Event]


@dataclass(slots=True)
class _JobRequest:
    job: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


_STOP = object()  # queued by stop(): the thread exits once everything before it is done

_Request = _WriteRequest | _JobRequest


@dataclass(slots=True)
class WriteStats:
    """Counters of the writer thread: how well group commit groups."""

    batches: int = 0  # transactions committed (one fsync each)
    writes: int = 0  # writes committed in them


class Writer:
    def __init__(
        self,
        *,
        connection: sqlite3.Connection,
        revision: int,
        on_commit: Callable[[list[Event]], None],
        max_batch: int,
    ):
        """``connection``: from ``connect_writer``, now owned by the writer thread.
        ``revision``: the last revision written. ``on_commit`` runs on the event loop."""
        self._connection = connection
        self._revision = revision
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._stopping = False
        self.stats = WriteStats()
        self._thread = threading.Thread(target=self._main, name="store-writer", daemon=True)
        self._thread.start()

    def write(self, write: mutations.Write) -> asyncio.Future[Event]:
        """Queue ``write``; the future resolves to its event once it is durable."""
        self._check_running()
        future: asyncio.Future[Event] = self._loop.create_future()
        self._queue.put(_WriteRequest(write, future))
        return future

    def run(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Run ``job(connection)`` on the writer thread between batches."""
        self._check_running()
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(_JobRequest(job, future))
        return future

    async def stop(self) -> None:
        """Finish what is queued, then close the connection and end the thread."""
        self._stopping = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    def _check_running(self) -> None:
        # Nothing may be queued behind _STOP: it would never be answered.
        if self._stopping:
            raise StoreClosed("store is closed")

    def _main(self) -> None:
        try:
            self._serve(self._connection)
        finally:
            self._connection.close()

    def _serve(self, connection: sqlite3.Connection) -> None:
        carried: _Request | object | None = None
        while True:
            request = carried if carried is not None else self._queue.get()
            carried = None
            if request is _STOP:
                return
            if isinstance(request, _JobRequest):
                self._run_job(connection, request)
                continue
            assert isinstance(request, _WriteRequest)
            batch = [request]
            while len(batch) < self._max_batch:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(following, _WriteRequest):
                    carried = following
                    break
                batch.append(following)
            self._commit(connection, batch)

    def _commit(self, connection: sqlite3.Connection, batch: list[_WriteRequest]) -> None:
        outcomes: list[Event | StoreError] = []
        revision = self._revision
        try:
            with mutations.transaction(connection):
                for request in batch:
                    try:
                        event = mutations.apply(connection, request.write, revision + 1)
                    except StoreError as error:
                        outcomes.append(error)
                    else:
                        revision = event.revision
                        outcomes.append(event)
        except Exception as error:  # SQLite's or a bug: nothing of the batch was written
            outcomes = [StoreError(f"write not committed: {error!r}") for _ in batch]
        else:
            self._revision = revision
            self.stats.batches += 1
            self.stats.writes += sum(isinstance(outcome, Event) for outcome in outcomes)
        self._loop.call_soon_threadsafe(self._publish, batch, outcomes)

    def _publish(self, batch: list[_WriteRequest], outcomes: list[Event | StoreError]) -> None:
        events = [outcome for outcome in outcomes if isinstance(outcome, Event)]
        if events:
            self._on_commit(events)
        for request, outcome in zip(batch, outcomes, strict=True):
            _settle(request.future, outcome)

    def _run_job(self, connection: sqlite3.Connection, request: _JobRequest) -> None:
        try:
            outcome = request.job(connection)
        except Exception as error:  # handed to the awaiting coroutine, which re-raises it
            mutations.rollback(connection)
            outcome = error
        self._loop.call_soon_threadsafe(_settle, request.future, outcome)


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    if future.done():  # the caller was cancelled; the write itself still happened
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
