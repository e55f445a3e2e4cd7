"""Model-based test: SqliteStore must behave exactly as MemoryStore, the reference.

Hypothesis drives both with the same random sequence of writes (alone and in concurrent
batches that the SQLite writer commits together), reads at random revisions, watches,
compactions and SQLite restarts, and compares every result and every error.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from pilothouse.store import (
    CompactionPolicy,
    Event,
    MemoryStore,
    SqliteSettings,
    SqliteStore,
    Store,
)

WATCH_BUFFER_SIZE = 12

keys = st.sampled_from(["/a/1", "/a/2", "/a/10", "/a/1/x", "/ab", "/b/1"])
prefixes = st.sampled_from(["", "/a/", "/a", "/a/1", "/b/", "/c/"])
values = st.binary(max_size=8)
# How far back from the current revision to read; -1 asks for the future.
revisions_back = st.integers(min_value=-1, max_value=15)
# Expected revision of an update or delete: the right one, a wrong one, or unconditional.
expectations = st.sampled_from(["current", "stale", "any"])


def outcome_of(result: Any) -> Any:
    """A result, with exceptions (also in lists) turned into something comparable."""
    if isinstance(result, BaseException):
        return (type(result).__name__, str(result))
    if isinstance(result, list):
        return [outcome_of(item) for item in result]
    return result


async def buffered_events(watch: AsyncIterator[Event]) -> list[Any]:
    """The events a watch delivers without waiting, then its error or nothing."""
    seen: list[Any] = []
    while True:
        pending = asyncio.ensure_future(anext(watch))
        await asyncio.sleep(0)  # one step: done now, or waiting for a write
        if not pending.done():
            pending.cancel()
            return seen
        try:
            seen.append(pending.result())
        except Exception as error:
            return [*seen, outcome_of(error)]


class SqliteMatchesMemory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = Path(tempfile.mkdtemp(prefix="store-model-"))
        self.memory: Store = MemoryStore(watch_capacity=WATCH_BUFFER_SIZE)
        self.sqlite: Store = self.run(self.open_sqlite())

    def run(self, awaitable: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(awaitable)

    async def open_sqlite(self) -> Store:
        settings = SqliteSettings(
            path=self.directory / "state.db",
            watch_buffer_size=WATCH_BUFFER_SIZE,
            compaction=CompactionPolicy(interval=0),
            compaction_step=3,  # compaction in several transactions
        )
        return await SqliteStore.open(settings)

    def both(self, call: Callable[[Store], Awaitable[Any]]) -> Any:
        """Run ``call`` on each store; the outcomes must be equal."""

        async def on(store: Store) -> Any:
            try:
                return await call(store)
            except Exception as error:
                return error

        expected = outcome_of(self.run(on(self.memory)))
        actual = outcome_of(self.run(on(self.sqlite)))
        assert actual == expected
        return expected

    def expected_revision(self, key: str, expectation: str) -> int:
        current = self.run(self.memory.get(key))
        if expectation == "any" or current is None:
            return 0
        return current.mod_revision + (1 if expectation == "stale" else 0)

    def revision_back(self, back: int) -> int:
        current = self.run(self.memory.current_revision())
        return max(0, current - back)

    @rule(key=keys, value=values)
    def create(self, key, value):
        self.both(lambda store: store.create(key, value))

    @rule(key=keys, value=values, expectation=expectations)
    def update(self, key, value, expectation):
        expected = self.expected_revision(key, expectation)
        self.both(lambda store: store.update(key, value, expected_revision=expected))

    @rule(key=keys, expectation=expectations)
    def delete(self, key, expectation):
        expected = self.expected_revision(key, expectation)
        self.both(lambda store: store.delete(key, expected_revision=expected))

    @rule(
        writes=st.lists(
            st.tuples(st.sampled_from(["create", "update", "delete"]), keys), max_size=8
        )
    )
    def concurrent_writes(self, writes):
        def one(store: Store, op: str, key: str) -> Awaitable[Any]:
            if op == "create":
                return store.create(key, b"batch")
            if op == "update":
                return store.update(key, b"batch", expected_revision=0)
            return store.delete(key)

        self.both(
            lambda store: asyncio.gather(
                *(one(store, op, key) for op, key in writes), return_exceptions=True
            )
        )

    @rule(key=keys, back=revisions_back)
    def get(self, key, back):
        revision = self.revision_back(back) if back >= 0 else 10_000
        self.both(lambda store: store.get(key, revision=revision))

    @rule(prefix=prefixes, back=revisions_back, limit=st.integers(0, 3), after=st.none() | keys)
    def range(self, prefix, back, limit, after):
        revision = self.revision_back(back) if back >= 0 else 10_000
        self.both(
            lambda store: store.range(prefix, start_after=after, limit=limit, revision=revision)
        )

    @rule(prefix=prefixes)
    def count(self, prefix):
        self.both(lambda store: store.count(prefix))

    @rule(back=st.integers(min_value=0, max_value=15))
    def compact(self, back):
        revision = self.revision_back(back)
        self.both(lambda store: store.compact(revision))

    @rule(prefix=prefixes, back=st.integers(min_value=0, max_value=20))
    def watch(self, prefix, back):
        revision = self.revision_back(back)
        self.both(lambda store: buffered_events(store.watch(prefix, from_revision=revision)))

    @rule()
    def restart_sqlite(self):
        self.run(self.sqlite.close())
        self.sqlite = self.run(self.open_sqlite())
        self.both(lambda store: store.current_revision())

    def teardown(self) -> None:
        self.run(self.sqlite.close())
        self.run(self.memory.close())
        self.loop.close()
        shutil.rmtree(self.directory)


SqliteMatchesMemory.TestCase.settings = settings(
    max_examples=100, stateful_step_count=50, deadline=None
)
test_sqlite_matches_memory = SqliteMatchesMemory.TestCase
