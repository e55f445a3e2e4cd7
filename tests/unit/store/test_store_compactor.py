"""PeriodicCompactor: which revision it compacts to, and when."""

from __future__ import annotations

from pilothouse.store import CompactionPolicy, MemoryStore, PeriodicCompactor


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def write(store: MemoryStore, count: int) -> None:
    for _ in range(count):
        await store.create(f"/k/{await store.current_revision()}", b"v")


async def test_it_compacts_to_the_revision_seen_one_retention_ago():
    store, clock = MemoryStore(), Clock()
    policy = CompactionPolicy(interval=300, retention=300, min_revisions=10)
    compactor = PeriodicCompactor(store, policy=policy, clock=clock)
    await write(store, 100)
    await compactor.tick()  # notes revision 100

    await write(store, 50)
    clock.now += 299
    assert await compactor.tick() is None  # nothing is 300 s old yet

    clock.now += 1
    await write(store, 50)
    assert await compactor.tick() == 100
    assert await compactor.tick() is None  # already compacted there


async def test_it_keeps_at_least_min_revisions():
    store, clock = MemoryStore(), Clock()
    policy = CompactionPolicy(interval=300, retention=300, min_revisions=30)
    compactor = PeriodicCompactor(store, policy=policy, clock=clock)
    await write(store, 100)
    await compactor.tick()

    await write(store, 10)
    clock.now += 300
    assert await compactor.tick() == 80


async def test_an_idle_store_is_not_compacted_again():
    store, clock = MemoryStore(), Clock()
    policy = CompactionPolicy(interval=300, retention=300, min_revisions=0)
    compactor = PeriodicCompactor(store, policy=policy, clock=clock)
    await write(store, 5)
    await compactor.tick()

    compacted = []
    for _ in range(3):
        clock.now += 300
        compacted.append(await compactor.tick())

    assert compacted == [5, None, None]
