"""The reader pool: worker threads, each with its own read-only connection.

Reads never run on the event loop, and with WAL they run while the writer commits: each
reader sees the last committed state when its read transaction starts.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .schema import connect_reader

T = TypeVar("T")


class ReaderPool:
    def __init__(self, *, path: Path, size: int):
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=size, thread_name_prefix="store-reader", initializer=self._connect
        )

    async def run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """``query(connection)`` on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, query)

    async def close(self) -> None:
        """Wait for running reads, then close every connection."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def _connect(self) -> None:
        connection = connect_reader(self._path)
        self._local.connection = connection
        with self._connections_lock:
            self._connections.append(connection)

    def _call(self, query: Callable[[sqlite3.Connection], T]) -> T:
        return query(self._local.connection)
