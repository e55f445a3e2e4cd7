"""A writer process for the crash test: writes until killed, printing each acknowledged write.

Usage: python crash_writer.py DB_PATH. Each line on stdout is ``KEY REVISION`` for a create
whose call returned, printed only after it returned.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pilothouse.store import SqliteSettings, SqliteStore

WRITERS = 20


async def write_forever(store: SqliteStore, worker: int) -> None:
    index = 0
    while True:
        kv = await store.create(f"/crash/{worker}/{index}", b"v" * 300)
        sys.stdout.write(f"{kv.key} {kv.mod_revision}\n")
        sys.stdout.flush()
        index += 1


async def main(path: Path) -> None:
    store = await SqliteStore.open(SqliteSettings(path=path))
    await asyncio.gather(*(write_forever(store, worker) for worker in range(WRITERS)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
