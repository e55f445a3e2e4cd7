"""The watch cache over a memory store: current state, event buffer, watchers, freshness."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from pilothouse.apiserver import cacher as cacher_module
from pilothouse.apiserver.cacher import Cacher, Watcher
from pilothouse.store import MemoryStore
from pilothouse.store.interface import Expired

PREFIX = "/registry/core/configmaps/"


def value(name: str, labels: dict[str, str] | None = None) -> bytes:
    meta = {"name": name, "namespace": "ns", "labels": labels or {}}
    return orjson.dumps({"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta})


def fields(group: str, obj: dict) -> dict[str, str]:
    return {"metadata.name": obj["metadata"]["name"]}


@pytest.fixture
async def store():
    store = MemoryStore()
    yield store
    await store.close()


@pytest.fixture
async def cacher(store: MemoryStore):
    cache = Cacher(store, fields=fields)
    await cache.start()
    yield cache
    await cache.stop()


async def test_loads_current_state_and_follows(store: MemoryStore) -> None:
    await store.create(PREFIX + "ns/a", value("a"))
    cache = Cacher(store, fields=fields)
    await cache.start()
    try:
        await store.create(PREFIX + "ns/b", value("b"))
        assert await cache.wait_fresh()
        objects = cache.resource(PREFIX).objects
        assert sorted(o.name for o in objects.values()) == ["a", "b"]
        cached = objects[PREFIX + "ns/b"]
        assert cached.decode()["metadata"]["resourceVersion"] == str(cached.revision)
    finally:
        await cache.stop()


async def test_watcher_gets_events_retyped_by_its_filter(
    store: MemoryStore, cacher: Cacher
) -> None:
    watcher = Watcher(lambda o: o.labels.get("pick") == "yes")
    cacher.resource(PREFIX).watchers.add(watcher)
    kv = await store.create(PREFIX + "ns/a", value("a"))
    kv = await store.update(PREFIX + "ns/a", value("a", {"pick": "yes"}),
                            expected_revision=kv.mod_revision)
    kv = await store.update(PREFIX + "ns/a", value("a", {"pick": "no"}),
                            expected_revision=kv.mod_revision)
    await cacher.wait_fresh()
    batch = await watcher.next_batch(1)
    assert [t for t, _ in batch] == ["ADDED", "DELETED"]
    line = orjson.loads(batch[0][1].line("ADDED"))
    assert line["type"] == "ADDED" and line["object"]["metadata"]["labels"] == {"pick": "yes"}


async def test_events_after_an_evicted_revision_are_expired(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cacher_module, "EVENT_BUFFER", 3)
    cache = Cacher(store, fields=fields)
    await cache.start()
    try:
        first = await store.create(PREFIX + "ns/first", value("first"))
        for i in range(5):
            await store.create(PREFIX + f"ns/n{i}", value(f"n{i}"))
        await cache.wait_fresh()
        resource = cache.resource(PREFIX)
        with pytest.raises(Expired):
            resource.events_after(first.mod_revision)
        recent = resource.events_after(resource.events[0].revision - 1)
        assert [e.obj.name for e in recent] == ["n2", "n3", "n4"]
    finally:
        await cache.stop()


async def test_slow_watcher_is_dropped(
    store: MemoryStore, cacher: Cacher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cacher_module, "MAX_PENDING", 2)
    watcher = Watcher(lambda o: True)
    cacher.resource(PREFIX).watchers.add(watcher)
    for i in range(3):
        await store.create(PREFIX + f"ns/s{i}", value(f"s{i}"))
    await cacher.wait_fresh()
    assert watcher.closed and watcher.overflowed
    assert watcher not in cacher.resource(PREFIX).watchers


async def test_wait_for_a_future_revision_times_out(cacher: Cacher) -> None:
    assert not await cacher.wait_for(cacher.revision + 100, timeout=0.05)


async def test_wait_for_wakes_when_the_revision_arrives(
    store: MemoryStore, cacher: Cacher
) -> None:
    target = cacher.revision + 1
    waiting = asyncio.create_task(cacher.wait_for(target, timeout=5))
    await asyncio.sleep(0)
    await store.create(PREFIX + "ns/late", value("late"))
    assert await waiting


async def test_direct_watcher_writes_queued_then_new_events_in_order(
    store: MemoryStore, cacher: Cacher
) -> None:
    written: list[bytes] = []
    watcher = Watcher(lambda o: True)
    cacher.resource(PREFIX).watchers.add(watcher)
    await store.create(PREFIX + "ns/first", value("first"))
    await cacher.wait_fresh()
    watcher.go_direct(lambda chunk: written.append(chunk) or True)
    await store.create(PREFIX + "ns/second", value("second"))
    await cacher.wait_fresh()
    names = [orjson.loads(c.split(b"\r\n")[1])["object"]["metadata"]["name"] for c in written]
    assert names == ["first", "second"]
    size, data = written[0].split(b"\r\n")[:2]
    assert int(size, 16) == len(data) and written[0].endswith(b"\r\n")


async def test_direct_watcher_that_lags_is_dropped(store: MemoryStore, cacher: Cacher) -> None:
    watcher = Watcher(lambda o: True)
    cacher.resource(PREFIX).watchers.add(watcher)
    watcher.go_direct(lambda chunk: False)  # the connection is full
    await store.create(PREFIX + "ns/lag", value("lag"))
    await cacher.wait_fresh()
    assert watcher.closed and watcher.overflowed
    assert watcher not in cacher.resource(PREFIX).watchers
