"""Opening the backends under test the same way, so a test runs unchanged on each."""

from __future__ import annotations

from pathlib import Path

from pilothouse.store import (
    CompactionPolicy,
    MemoryStore,
    SqliteSettings,
    SqliteStore,
    Store,
)

NO_PERIODIC_COMPACTION = CompactionPolicy(interval=0)


class Backend:
    """Opens stores of one kind; every store it opened is closed at teardown."""

    def __init__(self, kind: str, directory: Path):
        self.kind = kind
        self.path = directory / "state.db"
        self.opened: list[Store] = []

    @property
    def persistent(self) -> bool:
        return self.kind == "sqlite"

    async def open(
        self,
        *,
        watch_buffer_size: int = 10_000,
        compaction: CompactionPolicy = NO_PERIODIC_COMPACTION,
    ) -> Store:
        store: Store
        if self.kind == "memory":
            store = MemoryStore(watch_capacity=watch_buffer_size)
        else:
            settings = SqliteSettings(
                path=self.path, watch_buffer_size=watch_buffer_size, compaction=compaction
            )
            store = await SqliteStore.open(settings)
        self.opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self.opened:
            await store.close()
