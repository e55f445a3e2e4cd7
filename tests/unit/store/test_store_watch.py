"""Watch semantics, checked on every backend (see conftest.backend)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from storebackends import Backend

from pilothouse.store import Event, EventType, Expired, KeyValue, Store, StoreClosed


async def take(watch: AsyncIterator[Event], count: int) -> list[Event]:
    return [await anext(watch) for _ in range(count)]


async def mixed_writes(store: Store) -> None:
    """A bit of everything, under /w/ and elsewhere: 12 writes, 9 of them under /w/."""
    await store.create("/w/a", b"a1")
    await store.create("/other", b"o1")
    await store.create("/w/b", b"b1")
    await store.update("/w/a", b"a2", expected_revision=1)
    await store.delete("/w/b")
    await store.update("/other", b"o2", expected_revision=2)
    await store.create("/w/b", b"b2")
    await store.create("/wx", b"not under /w/")
    await store.update("/w/b", b"b3", expected_revision=7)
    await store.create("/w/c/d", b"nested")
    await store.delete("/w/a")
    await store.update("/w/c/d", b"nested2", expected_revision=10)


EXPECTED_UNDER_W = [
    Event(EventType.PUT, KeyValue("/w/a", b"a1", 1, 1), None),
    Event(EventType.PUT, KeyValue("/w/b", b"b1", 3, 3), None),
    Event(EventType.PUT, KeyValue("/w/a", b"a2", 1, 4), KeyValue("/w/a", b"a1", 1, 1)),
    Event(EventType.DELETE, KeyValue("/w/b", b"b1", 3, 5), KeyValue("/w/b", b"b1", 3, 3)),
    Event(EventType.PUT, KeyValue("/w/b", b"b2", 7, 7), None),
    Event(EventType.PUT, KeyValue("/w/b", b"b3", 7, 9), KeyValue("/w/b", b"b2", 7, 7)),
    Event(EventType.PUT, KeyValue("/w/c/d", b"nested", 10, 10), None),
    Event(EventType.DELETE, KeyValue("/w/a", b"a2", 1, 11), KeyValue("/w/a", b"a2", 1, 4)),
    Event(
        EventType.PUT,
        KeyValue("/w/c/d", b"nested2", 10, 12),
        KeyValue("/w/c/d", b"nested", 10, 10),
    ),
]


async def test_a_live_watch_sees_every_change_under_its_prefix_in_order(store: Store):
    watch = store.watch("/w/", from_revision=0)
    first = asyncio.ensure_future(anext(watch))  # subscribed before any write
    await asyncio.sleep(0)

    await mixed_writes(store)

    assert [await first, *await take(watch, 8)] == EXPECTED_UNDER_W
    await watch.aclose()


@pytest.mark.parametrize("from_revision", [0, 1, 4, 5, 9, 11])
async def test_a_watch_from_a_past_revision_replays_what_followed(store: Store, from_revision):
    await mixed_writes(store)
    expected = [event for event in EXPECTED_UNDER_W if event.revision > from_revision]

    watch = store.watch("/w/", from_revision=from_revision)
    replayed = await take(watch, len(expected))
    await store.create("/w/later", b"x")

    assert replayed == expected
    assert (await anext(watch)).kv.key == "/w/later"
    await watch.aclose()


async def test_watch_prefixes_not_ending_in_a_slash_match_like_range(store: Store):
    await mixed_writes(store)

    events = await take(store.watch("/w", from_revision=0), 10)

    assert [event.revision for event in events] == [1, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    assert events[5].kv.key == "/wx"


async def test_a_watch_from_the_current_revision_sees_only_new_writes(store: Store):
    await mixed_writes(store)
    watch = store.watch("", from_revision=await store.current_revision())

    created = await store.create("/new", b"x")

    assert await anext(watch) == Event(EventType.PUT, created, None)
    await watch.aclose()


async def test_watch_from_a_compacted_revision_expires(store: Store):
    await mixed_writes(store)
    await store.compact(6)

    with pytest.raises(Expired) as raised:
        await anext(store.watch("/w/", from_revision=5))
    assert (raised.value.requested, raised.value.oldest) == (5, 6)

    from_compacted = await take(store.watch("/w/", from_revision=6), 5)
    assert from_compacted == EXPECTED_UNDER_W[4:]


async def test_watch_older_than_the_buffer_expires(backend: Backend):
    store = await backend.open(watch_buffer_size=5)
    await mixed_writes(store)

    with pytest.raises(Expired) as raised:
        await anext(store.watch("/w/", from_revision=6))
    assert raised.value.oldest == 7

    assert await take(store.watch("/w/", from_revision=7), 4) == EXPECTED_UNDER_W[5:]


async def test_a_watcher_that_falls_behind_the_buffer_ends_with_expired(backend: Backend):
    store = await backend.open(watch_buffer_size=5)
    slow = store.watch("/", from_revision=0)
    keeping_up = store.watch("/", from_revision=0)
    await store.create("/first", b"x")
    assert (await anext(slow)).revision == 1
    assert (await anext(keeping_up)).revision == 1

    for index in range(10):
        await store.create(f"/k/{index}", b"x")
        assert (await anext(keeping_up)).revision == index + 2

    with pytest.raises(Expired):
        await anext(slow)
    await keeping_up.aclose()


async def test_writers_are_not_held_up_by_a_watcher_that_never_reads(store: Store):
    idle = store.watch("/", from_revision=0)
    await store.create("/first", b"x")
    await anext(idle)

    created = [await store.create(f"/k/{index}", b"x") for index in range(200)]

    assert created[-1].mod_revision == 201
    await idle.aclose()


async def test_many_watchers_of_one_prefix_all_receive_an_event(store: Store):
    watches = [store.watch("/registry/pods/", from_revision=0) for _ in range(300)]
    pending = [asyncio.ensure_future(anext(watch)) for watch in watches]
    await asyncio.sleep(0)

    created = await store.create("/registry/pods/default/p", b"x")

    received = await asyncio.gather(*pending)
    assert {event.kv for event in received} == {created}
    for watch in watches:
        await watch.aclose()


async def test_cancelling_one_watcher_does_not_disturb_the_others(store: Store):
    watches = [store.watch("/k/", from_revision=0) for _ in range(3)]
    pending = [asyncio.ensure_future(anext(watch)) for watch in watches]
    await asyncio.sleep(0)

    pending[0].cancel()
    await asyncio.sleep(0)
    created = await store.create("/k/a", b"x")

    assert [(await task).kv for task in pending[1:]] == [created, created]
    assert pending[0].cancelled()


async def test_closing_the_store_ends_waiting_watchers(store: Store):
    waiting = asyncio.ensure_future(anext(store.watch("/", from_revision=0)))
    await asyncio.sleep(0)

    await store.close()

    with pytest.raises(StoreClosed):
        await waiting
    with pytest.raises(StoreClosed):
        await anext(store.watch("/", from_revision=0))


async def test_concurrent_writers_events_arrive_complete_and_in_order(store: Store):
    watch = store.watch("/c/", from_revision=0)

    async def writer(worker: int) -> None:
        for index in range(10):
            await store.create(f"/c/{worker}/{index}", b"x")

    await asyncio.gather(*(writer(worker) for worker in range(20)))

    revisions = [event.revision for event in await take(watch, 200)]
    assert revisions == list(range(1, 201))
    await watch.aclose()
