"""A byte pipe from the event loop to a worker thread, so layers unpack while they download.

The event loop ``put``s chunks as they arrive; the unpacking thread ``read``s them as a file.
The loop ends the stream with ``close`` only after the blob's digest was verified, so the
unpacker reaches end-of-file, and may publish the layer, only for verified content; ``fail``
makes the reader raise instead, and a reader that fails calls ``abandon`` so the writer stops.
Memory is bounded: ``put`` waits while ``LIMIT`` bytes are queued.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

LIMIT = 16 << 20


class FeedAborted(Exception):
    """The download failed; the unpacker must discard what it made."""


class LayerFeed:
    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._closed = False
        self._error: BaseException | None = None
        self.abandoned = False
        self._condition = threading.Condition()

    async def put(self, chunk: bytes) -> bool:
        """Queues ``chunk``; False if the reader gave up (its error says why)."""
        with self._condition:
            if self.abandoned:
                return False
            self._chunks.append(chunk)
            self._queued += len(chunk)
            self._condition.notify_all()
            full = self._queued > LIMIT
        if full:
            await asyncio.to_thread(self._wait_for_room)
        return not self.abandoned

    def abandon(self) -> None:
        """Called by the reader when it fails: the writer stops feeding."""
        with self._condition:
            self.abandoned = True
            self._chunks.clear()
            self._queued = 0
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._condition:
            self._error = error
            self._condition.notify_all()

    def peek(self, size: int = 1) -> bytes:
        with self._condition:
            while self._queued < size and not self._closed and self._error is None:
                self._condition.wait()
            self._raise_if_failed()
            return b"".join(self._chunks)[:size]

    def read(self, size: int = -1) -> bytes:
        with self._condition:
            while not self._chunks and not self._closed and self._error is None:
                self._condition.wait()
            self._raise_if_failed()
            if not self._chunks:
                return b""
            chunk = self._chunks.popleft()
            if 0 <= size < len(chunk):
                self._chunks.appendleft(chunk[size:])
                chunk = chunk[:size]
            self._queued -= len(chunk)
            self._condition.notify_all()
            return chunk

    def _wait_for_room(self) -> None:
        with self._condition:
            while self._queued > LIMIT and self._error is None and not self.abandoned:
                self._condition.wait()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise FeedAborted(str(self._error))
