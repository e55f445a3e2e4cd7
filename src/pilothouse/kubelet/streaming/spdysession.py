"""A SPDY/3.1 server connection: the streams a client opens, their data, and their ends.

The client (kubectl, through Go's spdystream) opens every stream with SYN_STREAM; the session
answers each with SYN_REPLY once :func:`accept` agrees (else RST_STREAM CANCEL, as the
kubelet's stream handler does) and hands it to the protocol through :meth:`next_stream`.
A stream is half-closed by a FIN from either side, and gone after RST_STREAM from either
side or the end of the connection; reads then return ``b""`` and writes raise.

Flow control: received data is acknowledged with WINDOW_UPDATE (per stream and for the
connection, as SPDY/3.1 asks) as the protocol consumes it, and a stream holding more than
its window unread stops the reading of the connection (as spdystream does, since the Go
client does not honour windows). Outgoing data respects the peer's windows only once the
peer shows that it does flow control (it sent SETTINGS_INITIAL_WINDOW_SIZE or a
WINDOW_UPDATE): spdystream does neither, and would otherwise stall after 64 KiB.

PINGs from the client are echoed; GOAWAY from the client stops new streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from .spdy import (
    DEFAULT_INITIAL_WINDOW,
    DataFrame,
    Frame,
    FrameReader,
    FrameWriter,
    GoAway,
    Headers,
    HeadersFrame,
    Ping,
    RstStatus,
    RstStream,
    Setting,
    Settings,
    SpdyProtocolError,
    SynReply,
    SynStream,
    WindowUpdate,
)

log = logging.getLogger(__name__)

MAX_FRAME_DATA = 128 * 1024


class ByteSink(Protocol):
    """Where the session's bytes go: an upgraded connection or a WebSocket tunnel."""

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class StreamClosed(ConnectionError):
    """A write to a stream that was reset, or that this side already finished."""


class SpdyStream:
    def __init__(self, session: SpdySession, stream_id: int, headers: Headers, *, remote_fin: bool):
        self.session = session
        self.id = stream_id
        self.headers = headers
        self.remote_fin = remote_fin  # the client sends no more
        self.local_fin = False  # this side sends no more
        self.reset = False  # either side reset it, or the connection ended
        self.send_window = session.initial_send_window
        self.unacknowledged = 0  # read since the last WINDOW_UPDATE
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._discarding = False
        self._readable = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()

    def header(self, name: str) -> str:
        """The first value of header ``name`` ("" if absent)."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def done(self) -> bool:
        return self.reset or (self.local_fin and self.remote_fin)

    async def read(self) -> bytes:
        """The next data the client sent; ``b""`` once it finished, reset, or went away."""
        while not self._chunks:
            if self.remote_fin or self.reset:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._buffered <= self.session.receive_window:
            self._drained.set()
        await self.session.acknowledge(self, len(data))
        return data

    def discard_input(self) -> None:
        """Drops what the client sends from now on (nobody will read it)."""
        self._discarding = True
        self._chunks.clear()
        self._buffered = 0
        self._drained.set()

    async def write(self, data: bytes) -> None:
        """Sends ``data``; StreamClosed once the stream was reset or this side finished."""
        view = memoryview(data)
        while view:
            self._check_writable()
            size = await self.session.reserve_window(self, min(len(view), MAX_FRAME_DATA))
            self._check_writable()
            await self.session.send(DataFrame(self.id, bytes(view[:size])))
            view = view[size:]

    async def close(self) -> None:
        """Sends FIN: this side writes no more (the client may still write)."""
        if self.local_fin or self.reset or self.session.finished:
            return
        self.local_fin = True
        await self.session.send(DataFrame(self.id, b"", fin=True))
        self.session.forget_if_done(self)

    async def cancel(self) -> None:
        """Resets the stream (RST_STREAM CANCEL): neither side sends any more."""
        if self.reset or self.session.finished:
            return
        self.end()
        await self.session.send(RstStream(self.id, RstStatus.CANCEL))
        self.session.forget_if_done(self)

    def _check_writable(self) -> None:
        if self.reset or self.local_fin or self.session.finished:
            raise StreamClosed(f"stream {self.id} is closed")

    # -- driven by the session ------------------------------------------------------------------

    def received(self, data: bytes, fin: bool) -> None:
        if data and not self._discarding:
            self._chunks.append(data)
            self._buffered += len(data)
            if self._buffered > self.session.receive_window:
                self._drained.clear()
        if fin:
            self.remote_fin = True
        self._readable.set()

    async def wait_drained(self) -> None:
        await self._drained.wait()

    def end(self) -> None:
        """The stream is reset, or the connection ended."""
        self.reset = True
        self._readable.set()
        self._drained.set()


class SpdySession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        sink: ByteSink,
        *,
        accept: Callable[[SpdyStream], bool] = lambda stream: True,
    ):
        self._frames = FrameReader(reader)
        self._writer = FrameWriter()
        self._sink = sink
        self._accept = accept
        self._send_lock = asyncio.Lock()
        self._streams: dict[int, SpdyStream] = {}
        self._incoming: asyncio.Queue[SpdyStream | None] = asyncio.Queue()
        self._last_stream_id = 0
        self._going_away = False
        self.ended = asyncio.Event()
        self.receive_window = DEFAULT_INITIAL_WINDOW
        self.initial_send_window = DEFAULT_INITIAL_WINDOW
        self._peer_flow_control = False
        self._connection_send_window = DEFAULT_INITIAL_WINDOW
        self._window_changed = asyncio.Event()
        self._unacknowledged = 0

    @property
    def finished(self) -> bool:
        """The connection ended: no more frames either way."""
        return self.ended.is_set()

    async def next_stream(self) -> SpdyStream | None:
        """The next stream the client opened, or None once the connection ended."""
        if self.finished and self._incoming.empty():
            return None
        return await self._incoming.get()

    async def serve(self) -> None:
        """Reads frames until the client closes the connection (or breaks the protocol)."""
        try:
            while (frame := await self._frames.read()) is not None:
                await self._dispatch(frame)
        except SpdyProtocolError as error:
            log.info("SPDY connection ended: %s", error)
        except ConnectionError:
            pass
        finally:
            self._end()

    async def close(self) -> None:
        """GOAWAY, then closes the connection; every stream ends."""
        if not self.finished:
            with contextlib.suppress(ConnectionError):
                await self.send(GoAway(self._last_stream_id))
        self._end()
        with contextlib.suppress(ConnectionError):
            await self._sink.close()

    async def send(self, frame: Frame) -> None:
        # One frame at a time, encoded in sending order: header compression is stateful.
        async with self._send_lock:
            if self.finished:
                raise StreamClosed("the connection is closed")
            await self._sink.write(self._writer.encode(frame))

    # -- flow control ---------------------------------------------------------------------------

    async def acknowledge(self, stream: SpdyStream, size: int) -> None:
        """WINDOW_UPDATEs for data the protocol has read, each once half a window is read."""
        stream.unacknowledged += size
        self._unacknowledged += size
        half = self.receive_window // 2
        with contextlib.suppress(ConnectionError):
            if stream.unacknowledged >= half and not stream.done:
                delta, stream.unacknowledged = stream.unacknowledged, 0
                await self.send(WindowUpdate(stream.id, delta))
            if self._unacknowledged >= half:
                delta, self._unacknowledged = self._unacknowledged, 0
                await self.send(WindowUpdate(0, delta))

    async def reserve_window(self, stream: SpdyStream, wanted: int) -> int:
        """Takes up to ``wanted`` bytes of the send windows, waiting while one is closed."""
        if not self._peer_flow_control:
            return wanted
        while (available := min(stream.send_window, self._connection_send_window)) <= 0:
            if stream.reset or self.finished:
                return wanted  # the caller's write fails on the closed stream
            self._window_changed.clear()
            await self._window_changed.wait()
        size = min(wanted, available)
        stream.send_window -= size
        self._connection_send_window -= size
        return size

    # -- incoming frames ------------------------------------------------------------------------

    async def _dispatch(self, frame: Frame) -> None:
        match frame:
            case SynStream():
                await self._on_syn_stream(frame)
            case DataFrame():
                await self._on_data(frame)
            case RstStream():
                self._on_reset(frame)
            case Settings():
                self._on_settings(frame)
            case Ping() if frame.id % 2 == 1:  # the client's; even ids would answer ours
                await self.send(frame)
            case GoAway():
                self._going_away = True
            case HeadersFrame():
                self._on_headers(frame)
            case WindowUpdate():
                self._on_window_update(frame)
            # SYN_REPLY: this side opens no streams, so there is nothing it could answer.

    async def _on_syn_stream(self, frame: SynStream) -> None:
        if frame.stream_id % 2 == 0 or frame.stream_id <= self._last_stream_id:
            await self.send(RstStream(frame.stream_id, RstStatus.PROTOCOL_ERROR))
            return
        self._last_stream_id = frame.stream_id
        if self._going_away:
            await self.send(RstStream(frame.stream_id, RstStatus.REFUSED_STREAM))
            return
        stream = SpdyStream(self, frame.stream_id, frame.headers, remote_fin=frame.fin)
        if not self._accept(stream):
            await self.send(RstStream(frame.stream_id, RstStatus.CANCEL))
            return
        self._streams[stream.id] = stream
        await self.send(SynReply(stream.id))
        self._incoming.put_nowait(stream)

    async def _on_data(self, frame: DataFrame) -> None:
        stream = self._streams.get(frame.stream_id)
        if stream is None or stream.remote_fin:  # gone or finished: dropped, as spdystream does
            return
        stream.received(frame.data, frame.fin)
        self.forget_if_done(stream)
        await stream.wait_drained()

    def _on_reset(self, frame: RstStream) -> None:
        stream = self._streams.pop(frame.stream_id, None)
        if stream is not None:
            stream.end()
            self._window_changed.set()

    def _on_settings(self, frame: Settings) -> None:
        window = frame.values.get(Setting.INITIAL_WINDOW_SIZE)
        if window is None:
            return
        self._peer_flow_control = True
        for stream in self._streams.values():
            stream.send_window += window - self.initial_send_window
        self.initial_send_window = window
        self._window_changed.set()

    def _on_headers(self, frame: HeadersFrame) -> None:
        stream = self._streams.get(frame.stream_id)
        if stream is not None and frame.fin:
            stream.received(b"", True)
            self.forget_if_done(stream)

    def _on_window_update(self, frame: WindowUpdate) -> None:
        self._peer_flow_control = True
        if frame.stream_id == 0:
            self._connection_send_window += frame.delta
        elif (stream := self._streams.get(frame.stream_id)) is not None:
            stream.send_window += frame.delta
        self._window_changed.set()

    # -- bookkeeping ----------------------------------------------------------------------------

    def forget_if_done(self, stream: SpdyStream) -> None:
        if stream.done:
            self._streams.pop(stream.id, None)

    def _end(self) -> None:
        if self.finished:
            return
        self.ended.set()
        for stream in self._streams.values():
            stream.end()
        self._streams.clear()
        self._window_changed.set()
        self._incoming.put_nowait(None)
