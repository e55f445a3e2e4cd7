"""The Store contract, checked on every backend (see conftest.backend)."""

from __future__ import annotations

import asyncio

import pytest
from storebackends import Backend

from pilothouse.store import (
    Expired,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionMismatch,
    Store,
    StoreClosed,
)


async def test_create_returns_the_stored_key_value(store: Store):
    kv = await store.create("/registry/pods/default/a", b"one")

    assert kv == KeyValue("/registry/pods/default/a", b"one", create_revision=1, mod_revision=1)
    assert await store.get("/registry/pods/default/a") == kv
    assert await store.current_revision() == 1


async def test_create_of_an_existing_key_fails_without_taking_a_revision(store: Store):
    await store.create("/k", b"one")

    with pytest.raises(KeyExists) as raised:
        await store.create("/k", b"two")

    assert raised.value.key == "/k"
    assert (await store.get("/k")).value == b"one"
    assert await store.current_revision() == 1


async def test_update_at_the_expected_revision_keeps_create_revision(store: Store):
    created = await store.create("/k", b"one")
    await store.create("/other", b"x")

    updated = await store.update("/k", b"two", expected_revision=created.mod_revision)

    assert updated == KeyValue("/k", b"two", create_revision=1, mod_revision=3)
    assert await store.get("/k") == updated


async def test_update_at_a_stale_revision_is_refused(store: Store):
    created = await store.create("/k", b"one")
    await store.update("/k", b"two", expected_revision=created.mod_revision)

    with pytest.raises(RevisionMismatch) as raised:
        await store.update("/k", b"three", expected_revision=created.mod_revision)

    assert (raised.value.key, raised.value.expected, raised.value.actual) == ("/k", 1, 2)
    assert (await store.get("/k")).value == b"two"
    assert await store.current_revision() == 2


async def test_update_with_expected_revision_zero_is_unconditional(store: Store):
    await store.create("/k", b"one")
    await store.update("/k", b"two", expected_revision=0)

    updated = await store.update("/k", b"three", expected_revision=0)

    assert updated.mod_revision == 3


async def test_update_and_delete_of_a_missing_key_fail(store: Store):
    with pytest.raises(KeyNotFound):
        await store.update("/missing", b"x", expected_revision=0)
    with pytest.raises(KeyNotFound):
        await store.delete("/missing")
    assert await store.current_revision() == 0


async def test_delete_returns_the_last_value_at_the_delete_revision(store: Store):
    await store.create("/k", b"one")
    await store.update("/k", b"two", expected_revision=1)

    deleted = await store.delete("/k", expected_revision=2)

    assert deleted == KeyValue("/k", b"two", create_revision=1, mod_revision=3)
    assert await store.get("/k") is None
    assert await store.count("/") == 0


async def test_delete_at_a_stale_revision_is_refused(store: Store):
    await store.create("/k", b"one")
    await store.update("/k", b"two", expected_revision=1)

    with pytest.raises(RevisionMismatch):
        await store.delete("/k", expected_revision=1)

    assert (await store.get("/k")).value == b"two"


async def test_a_recreated_key_starts_a_new_life(store: Store):
    await store.create("/k", b"one")
    await store.delete("/k")

    recreated = await store.create("/k", b"again")

    assert recreated == KeyValue("/k", b"again", create_revision=3, mod_revision=3)


async def test_get_at_old_revisions_sees_the_value_then(store: Store):
    await store.create("/k", b"one")
    await store.update("/k", b"two", expected_revision=1)
    await store.delete("/k")
    await store.create("/k", b"three")

    seen = [await store.get("/k", revision=revision) for revision in range(1, 5)]

    assert [kv.value if kv else None for kv in seen] == [b"one", b"two", None, b"three"]
    assert seen[1] == KeyValue("/k", b"two", create_revision=1, mod_revision=2)


async def test_reading_a_future_revision_fails(store: Store):
    await store.create("/k", b"one")

    with pytest.raises(FutureRevision):
        await store.get("/k", revision=2)
    with pytest.raises(FutureRevision):
        await store.range("/", revision=2)
    with pytest.raises(FutureRevision):
        await store.compact(2)


async def test_range_selects_exactly_the_prefix_in_key_order(store: Store):
    for key in ["/r/pods/b", "/r/pods/a", "/r/podsx", "/r/pod", "/r/pods/a/sub", "/s"]:
        await store.create(key, key.encode())

    page = await store.range("/r/pods/")

    assert [kv.key for kv in page.kvs] == ["/r/pods/a", "/r/pods/a/sub", "/r/pods/b"]
    assert page.revision == 6
    assert page.more is False
    assert await store.count("/r/pods/") == 3
    assert await store.count("") == 6


async def test_range_pages_with_limit_and_start_after(store: Store):
    for index in range(7):
        await store.create(f"/items/{index}", b"v")

    first = await store.range("/items/", limit=3)
    second = await store.range("/items/", start_after=first.kvs[-1].key, limit=3)
    third = await store.range("/items/", start_after=second.kvs[-1].key, limit=3)

    assert [kv.key for kv in first.kvs] == ["/items/0", "/items/1", "/items/2"]
    assert [kv.key for kv in third.kvs] == ["/items/6"]
    assert (first.more, second.more, third.more) == (True, True, False)


async def test_range_with_limit_equal_to_the_count_has_no_more(store: Store):
    for index in range(3):
        await store.create(f"/items/{index}", b"v")

    page = await store.range("/items/", limit=3)

    assert len(page.kvs) == 3 and page.more is False


async def test_range_at_an_old_revision_is_a_snapshot(store: Store):
    await store.create("/items/a", b"a1")
    await store.create("/items/b", b"b1")
    snapshot = await store.current_revision()
    await store.update("/items/a", b"a2", expected_revision=1)
    await store.delete("/items/b")
    await store.create("/items/c", b"c1")

    then = await store.range("/items/", revision=snapshot)
    now = await store.range("/items/")

    assert [(kv.key, kv.value) for kv in then.kvs] == [("/items/a", b"a1"), ("/items/b", b"b1")]
    assert then.revision == snapshot
    assert [(kv.key, kv.value) for kv in now.kvs] == [("/items/a", b"a2"), ("/items/c", b"c1")]
    assert now.revision == 5


async def test_paging_stays_at_the_first_pages_revision_while_writes_happen(store: Store):
    for index in range(40):
        await store.create(f"/items/{index:03}", f"v{index}".encode())
    expected = (await store.range("/items/")).kvs

    pages = [await store.range("/items/", limit=7)]
    while pages[-1].more:
        # Churn under the pages still to come and at the end of the range.
        await store.delete(f"/items/{39 - len(pages):03}")
        await store.update(f"/items/{len(pages) * 5 + 3:03}", b"changed", expected_revision=0)
        await store.create(f"/items/{100 + len(pages):03}", b"new")
        pages.append(
            await store.range(
                "/items/",
                start_after=pages[-1].kvs[-1].key,
                limit=7,
                revision=pages[0].revision,
            )
        )

    assert [kv for page in pages for kv in page.kvs] == expected
    assert {page.revision for page in pages} == {pages[0].revision}


async def test_keys_beyond_ascii_sort_and_match_by_code_point(store: Store):
    keys = ["/u/\u00e9", "/u/z", "/u/\U0001f600", "/u/\ud7ff", "/u/\ue000", "/v"]
    for key in keys:
        await store.create(key, b"v")

    page = await store.range("/u/")
    under_d7ff = await store.range("/u/\ud7ff")

    assert [kv.key for kv in page.kvs] == sorted(keys[:-1])
    assert [kv.key for kv in under_d7ff.kvs] == ["/u/\ud7ff"]


async def test_failed_writes_take_no_revision(store: Store):
    await store.create("/k", b"one")
    for attempt in [
        store.create("/k", b"x"),
        store.update("/k", b"x", expected_revision=9),
        store.delete("/nope"),
    ]:
        with pytest.raises((KeyExists, RevisionMismatch, KeyNotFound)):
            await attempt

    assert (await store.create("/k2", b"two")).mod_revision == 2


async def test_many_concurrent_writers_get_distinct_consecutive_revisions(store: Store):
    async def writer(worker: int) -> list[KeyValue]:
        return [await store.create(f"/w/{worker}/{index}", b"x" * 300) for index in range(20)]

    results = await asyncio.gather(*(writer(worker) for worker in range(50)))

    revisions = sorted(kv.mod_revision for kvs in results for kv in kvs)
    assert revisions == list(range(1, 1001))
    assert await store.count("/w/") == 1000
    assert await store.current_revision() == 1000


async def test_racing_updates_of_one_key_let_exactly_one_win(store: Store):
    created = await store.create("/k", b"0")

    outcomes = await asyncio.gather(
        *(
            store.update("/k", f"{n}".encode(), expected_revision=created.mod_revision)
            for n in range(20)
        ),
        return_exceptions=True,
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, KeyValue)]
    assert len(winners) == 1
    assert all(
        isinstance(outcome, RevisionMismatch) for outcome in outcomes if outcome not in winners
    )
    assert await store.get("/k") == winners[0]


async def test_one_failing_write_does_not_fail_the_writes_committed_with_it(store: Store):
    await store.create("/taken", b"x")

    outcomes = await asyncio.gather(
        store.create("/a", b"a"),
        store.create("/taken", b"again"),
        store.update("/a", b"a2", expected_revision=2),
        store.delete("/missing"),
        store.create("/b", b"b"),
        return_exceptions=True,
    )

    assert [type(outcome).__name__ for outcome in outcomes] == [
        "KeyValue",
        "KeyExists",
        "KeyValue",
        "KeyNotFound",
        "KeyValue",
    ]
    assert [kv.mod_revision for kv in outcomes if isinstance(kv, KeyValue)] == [2, 3, 4]


async def test_compaction_expires_older_reads_and_keeps_the_compacted_state(store: Store):
    await store.create("/k", b"one")
    await store.update("/k", b"two", expected_revision=1)
    await store.create("/gone", b"x")
    await store.delete("/gone")
    await store.update("/k", b"three", expected_revision=2)

    await store.compact(4)

    with pytest.raises(Expired) as raised:
        await store.get("/k", revision=3)
    assert (raised.value.requested, raised.value.oldest) == (3, 4)
    with pytest.raises(Expired):
        await store.range("/", revision=2)
    assert (await store.get("/k", revision=4)).value == b"two"
    assert [kv.value for kv in (await store.range("/", revision=4)).kvs] == [b"two"]
    assert (await store.get("/k")).value == b"three"


async def test_compaction_keeps_live_keys_and_is_idempotent(store: Store):
    untouched = await store.create("/old", b"kept")
    for index in range(10):
        await store.create(f"/tmp/{index}", b"x")
        await store.delete(f"/tmp/{index}")
    current = await store.current_revision()

    await store.compact(current)
    await store.compact(current - 5)

    assert await store.get("/old") == untouched
    assert (await store.range("/")).kvs == [untouched]
    assert await store.count("/tmp/") == 0


async def test_closed_store_refuses_calls(store: Store):
    await store.create("/k", b"one")
    await store.close()

    for call in [store.get("/k"), store.create("/k2", b"x"), store.range("/"), store.count("/")]:
        with pytest.raises(StoreClosed):
            await call


async def test_revisions_keep_increasing_after_compacting_and_deleting_everything(
    backend: Backend,
):
    store = await backend.open()
    for index in range(5):
        await store.create(f"/k/{index}", b"v")
        await store.delete(f"/k/{index}")
    await store.compact(10)
    if backend.persistent:
        await store.close()
        store = await backend.open()

    assert await store.current_revision() == 10
    assert (await store.create("/k/new", b"v")).mod_revision == 11
