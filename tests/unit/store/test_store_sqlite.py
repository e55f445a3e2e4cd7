"""What only the SQLite backend promises: persistence, crash durability, bounded files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from storebackends import Backend

from pilothouse.store import (
    CompactionPolicy,
    EventType,
    Expired,
    KeyValue,
    SqliteSettings,
    SqliteStore,
    Store,
    StoreClosed,
)

CRASH_WRITER = Path(__file__).with_name("crash_writer.py")


async def eventually(condition: Callable[[], Awaitable[object]]) -> None:
    """Poll ``condition`` every few milliseconds until it is truthy (10 s at most)."""
    async with asyncio.timeout(10):
        # Nothing signals that a background compaction happened: polling is the point.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def files_size(path: Path) -> int:
    """The database file and its -wal, in bytes."""
    return sum(
        candidate.stat().st_size
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


async def test_data_and_revisions_survive_a_restart(sqlite_backend: Backend):
    store = await sqlite_backend.open()
    await store.create("/k/a", b"a1")
    await store.update("/k/a", b"a2", expected_revision=1)
    await store.create("/k/b", b"b1")
    await store.delete("/k/b")
    await store.close()

    reopened = await sqlite_backend.open()

    assert await reopened.current_revision() == 4
    assert [kv.value for kv in (await reopened.range("/k/")).kvs] == [b"a2"]
    assert (await reopened.get("/k/b", revision=3)).value == b"b1"
    assert (await reopened.create("/k/c", b"c1")).mod_revision == 5


async def test_watchers_resume_across_a_restart_from_the_kept_history(sqlite_backend: Backend):
    store = await sqlite_backend.open()
    await store.create("/k/a", b"a1")
    await store.update("/k/a", b"a2", expected_revision=1)
    await store.delete("/k/a")
    await store.close()

    reopened = await sqlite_backend.open()
    events = [event async for event in _first(reopened.watch("/k/", from_revision=1), 2)]

    assert [event.type for event in events] == [EventType.PUT, EventType.DELETE]
    assert events[0].prev == KeyValue("/k/a", b"a1", 1, 1)
    assert events[1].kv == KeyValue("/k/a", b"a2", 1, 3)
    assert events[1].prev == KeyValue("/k/a", b"a2", 1, 2)


async def test_after_a_restart_the_buffer_holds_only_its_size(sqlite_backend: Backend):
    store = await sqlite_backend.open()
    for index in range(10):
        await store.create(f"/k/{index}", b"v")
    await store.close()

    reopened = await sqlite_backend.open(watch_buffer_size=4)

    with pytest.raises(Expired):
        await anext(reopened.watch("/k/", from_revision=5))
    assert [e.revision async for e in _first(reopened.watch("/k/", from_revision=6), 4)] == [
        7,
        8,
        9,
        10,
    ]


async def test_every_acknowledged_write_survives_sigkill(tmp_path: Path):
    path = tmp_path / "state.db"
    writer = await asyncio.create_subprocess_exec(
        sys.executable, str(CRASH_WRITER), str(path), stdout=asyncio.subprocess.PIPE
    )
    try:
        acknowledged = [await writer.stdout.readline() for _ in range(2_000)]
        os.kill(writer.pid, signal.SIGKILL)
        acknowledged += (await writer.stdout.read()).splitlines(keepends=True)
    finally:
        if writer.returncode is None:
            writer.kill()
        await writer.wait()
    # The writer writes until it is killed, so EOF after our SIGKILL shows it died mid-stream.
    # Its exit status is not asserted: in a long test session the PID counter wraps, and a
    # stale poll of some earlier, reused PID elsewhere in this process may reap it first
    # (asyncio then reports 255).
    written = dict(line.split() for line in acknowledged if line.endswith(b"\n"))

    store = await SqliteStore.open(SqliteSettings(path=path))
    try:
        stored = {
            kv.key.encode(): str(kv.mod_revision).encode()
            for kv in (await store.range("/crash/")).kvs
        }
        assert len(written) >= 2_000
        assert {key: stored.get(key) for key in written} == written
        assert await store.current_revision() >= max(int(revision) for revision in written.values())
    finally:
        await store.close()


async def test_compaction_and_vacuum_bound_the_files(sqlite_backend: Backend):
    store = await sqlite_backend.open(watch_buffer_size=10)
    value = os.urandom(8 * 1024)
    keys = [f"/k/{index}" for index in range(10)]
    await asyncio.gather(*(store.create(key, value) for key in keys))
    for _ in range(150):  # 12 MB written, 80 kB live
        await asyncio.gather(*(store.update(key, value, expected_revision=0) for key in keys))
    grown = files_size(sqlite_backend.path)

    await store.compact(await store.current_revision())

    assert grown > 10 * 1024 * 1024
    assert files_size(sqlite_backend.path) < 1024 * 1024
    assert await store.count("/k/") == 10
    assert (await store.get("/k/3")).value == value


async def test_periodic_compaction_forgets_old_history_on_its_own(sqlite_backend: Backend):
    policy = CompactionPolicy(interval=0.02, retention=0, min_revisions=2)
    store = await sqlite_backend.open(compaction=policy)
    for index in range(10):
        await store.create(f"/k/{index}", b"v")

    async def compacted() -> bool:
        try:
            await store.get("/k/0", revision=7)
        except Expired:
            return True
        return False

    await eventually(compacted)
    assert (await store.get("/k/0", revision=8)).value == b"v"


async def test_reads_run_while_a_write_transaction_is_open(sqlite_backend: Backend):
    store = await sqlite_backend.open()
    await store.create("/k", b"v")
    blocker = sqlite3.connect(sqlite_backend.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock, as a long commit would
        blocker.execute("INSERT INTO meta (name, value) VALUES ('blocked', 1)")

        assert (await store.get("/k")).value == b"v"
        assert len((await store.range("/")).kvs) == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


async def test_values_must_be_bytes(sqlite_backend: Backend):
    store: Store = await sqlite_backend.open()

    with pytest.raises(TypeError):
        await store.create("/k", "text")  # type: ignore[arg-type]
    assert await store.current_revision() == 0


async def _first(watch, count: int):
    for _ in range(count):
        yield await anext(watch)
    await watch.aclose()


async def test_concurrent_writes_share_transactions(sqlite_backend: Backend):
    store = await sqlite_backend.open()

    async def writer(worker: int) -> None:
        for index in range(20):
            await store.create(f"/w/{worker}/{index}", b"x")

    await asyncio.gather(*(writer(worker) for worker in range(50)))

    assert store.write_stats.writes == 1000
    assert store.write_stats.batches < 1000


async def test_a_compaction_racing_close_ends_instead_of_hanging(sqlite_backend: Backend):
    store = await sqlite_backend.open()
    for index in range(50):
        await store.create(f"/k/{index}", b"x")
        await store.delete(f"/k/{index}")

    compaction = asyncio.ensure_future(store.compact(100))
    await asyncio.sleep(0)
    await store.close()

    with contextlib.suppress(StoreClosed):
        await compaction
