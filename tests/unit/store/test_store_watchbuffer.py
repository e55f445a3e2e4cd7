"""The watch buffer alone: shared fan-out, feeds per prefix, eviction."""

from __future__ import annotations

import asyncio

import pytest

from pilothouse.store import Event, EventType, Expired, KeyValue
from pilothouse.store.watchbuffer import WatchBuffer


def put(key: str, revision: int) -> Event:
    return Event(EventType.PUT, KeyValue(key, b"v", revision, revision), None)


async def test_one_event_reaches_a_thousand_watchers_as_the_same_object():
    buffer = WatchBuffer(capacity=100, floor=0)
    watches = [buffer.watch("/registry/pods/", 0) for _ in range(1_000)]
    pending = [asyncio.ensure_future(anext(watch)) for watch in watches]
    await asyncio.sleep(0)

    event = put("/registry/pods/default/p", 1)
    buffer.append([event])

    assert all(received is event for received in await asyncio.gather(*pending))
    for watch in watches:
        await watch.aclose()


async def test_watchers_of_one_prefix_share_one_feed_that_goes_when_they_do():
    buffer = WatchBuffer(capacity=100, floor=0)
    watches = [buffer.watch(prefix, 0) for prefix in ["/a/", "/a/", "/a/x", ""]]
    pending = [asyncio.ensure_future(anext(watch)) for watch in watches]
    await asyncio.sleep(0)

    buffer.append([put("/a/x1", 1)])
    await asyncio.gather(*pending)

    assert sorted(buffer._feeds) == ["", "/a/", "/a/x"]
    for watch in watches:
        await watch.aclose()
    assert buffer._feeds == {}
    assert buffer._unaligned_feeds == []


@pytest.mark.parametrize(
    ("prefix", "matching"),
    [
        ("", ["/a/b", "/ab", "/a/b/c", "/b"]),
        ("/", ["/a/b", "/ab", "/a/b/c", "/b"]),
        ("/a/", ["/a/b", "/a/b/c"]),
        ("/a", ["/a/b", "/ab", "/a/b/c"]),
        ("/a/b", ["/a/b", "/a/b/c"]),
        ("/a/b/", ["/a/b/c"]),
    ],
)
async def test_a_watch_sees_exactly_the_keys_starting_with_its_prefix(prefix, matching):
    buffer = WatchBuffer(capacity=100, floor=0)
    watch = buffer.watch(prefix, 0)
    waiting = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0)

    buffer.append(
        [put(key, revision) for revision, key in enumerate(["/a/b", "/ab", "/a/b/c", "/b"], 1)]
    )

    keys = [(await waiting).kv.key] + [(await anext(watch)).kv.key for _ in matching[1:]]
    assert keys == matching
    await watch.aclose()


async def test_history_given_at_start_is_replayed_and_bounded_by_capacity():
    history = [put(f"/k/{revision}", revision) for revision in range(11, 21)]
    buffer = WatchBuffer(capacity=5, floor=10, history=history)

    assert buffer.floor == 15
    with pytest.raises(Expired):
        await anext(buffer.watch("/", 14))
    watch = buffer.watch("/", 15)
    assert [(await anext(watch)).revision for _ in range(5)] == [16, 17, 18, 19, 20]
    await watch.aclose()


async def test_compaction_moves_the_floor_even_past_the_buffered_events():
    buffer = WatchBuffer(capacity=None, floor=0, history=[put("/k", 1), put("/k", 2)])

    buffer.compact(5)

    assert (buffer.floor, len(buffer)) == (5, 0)
    with pytest.raises(Expired):
        await anext(buffer.watch("/", 4))


async def test_events_already_seen_when_the_watch_started_are_skipped():
    # A reader can see a commit before the backend appends it to the buffer.
    buffer = WatchBuffer(capacity=None, floor=0, history=[put("/k/1", 1)])
    watch = buffer.watch("/k/", 3)
    waiting = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0)

    buffer.append([put("/k/2", 2), put("/k/3", 3), put("/k/4", 4)])

    assert (await waiting).revision == 4
    await watch.aclose()


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        WatchBuffer(capacity=0, floor=0)
