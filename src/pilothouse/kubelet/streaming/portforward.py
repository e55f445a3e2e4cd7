"""Port forwarding: the client's connections carried to ports of a pod's network namespace.

Over SPDY (``portforward.k8s.io``, kubectl), the client opens two streams per connection it
forwards, both with headers ``port`` and ``requestID``: an error stream (``streamType:
error``), which the client closes at once, and a data stream (``streamType: data``). Once
both arrived the pair is connected to the port and bytes are copied both ways: a FIN from the
client half-closes the connection to the port; the port's end of file becomes FINs on the
data and error streams (kubectl closes its local connection on the error stream's end). Once
one direction has ended the other gets one more second (containerd's rule, after socat).
A failure to connect is written on the error stream before its FIN. A stream whose partner does not come within 30 s gets "timed out
waiting for streams" on its error stream.

Over the WebSocket channel protocol (the Python client) the ports come with the request
(``?port=80&port=8080``), one connection per port, as the kubelet's ``handleWebSocketStreams``
does: channel ``2i`` carries port ``i``'s data and ``2i+1`` its error, each opened with the
port number; the WebSocket closes once every connection has ended.

Failure messages are the kubelet's: ``error forwarding port P to pod POD, uid UID: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pilothouse.runtime.errors import ContainerRuntimeError

from . import channels
from .spdysession import SpdySession, SpdyStream, StreamClosed

log = logging.getLogger(__name__)

PROTOCOL = "portforward.k8s.io"
READ_SIZE = 128 * 1024
STREAM_CREATION_TIMEOUT = 30.0
LINGER = 1.0  # seconds one direction of a forwarded connection outlives the other

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[int], Awaitable[Connection]]


@dataclass(frozen=True)
class Target:
    """Where forwarded connections go: a connector to the sandbox's ports, and the names
    the error messages give."""

    connect: Connect
    pod: str
    uid: str = ""

    async def open(self, port: int) -> Connection:
        """A connection to ``port``; OSError with the kubelet's message if it fails."""
        try:
            return await self.connect(port)
        except (OSError, ContainerRuntimeError) as error:
            raise OSError(f"error forwarding port {port} to pod {self.pod}, uid {self.uid}: {_describe(port, error)}") from None


def _describe(port: int, error: Exception) -> str:
    if isinstance(error, OSError) and error.errno is not None:
        reason = os.strerror(error.errno).lower()  # as Go words it: "connection refused"
        return f"failed to connect to localhost:{port}: dial tcp4 127.0.0.1:{port}: connect: {reason}"
    return str(error)


def parse_ports(values: list[str]) -> list[int]:
    """The ``port`` query parameters (each may be a comma-separated list); ValueError with
    the kubelet's message when one is not a port."""
    ports = []
    for value in values:
        if not value:
            raise ValueError('query parameter "port" cannot be empty')
        for text in value.split(","):
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise ValueError(f'unable to parse "{text}" as a port')
            ports.append(int(text))
    return ports


# -- SPDY ----------------------------------------------------------------------------------------


def accept_stream(stream: SpdyStream) -> bool:
    """The kubelet's ``httpStreamReceived``: a valid port and stream type, or the stream is
    refused."""
    port = stream.header("port")
    return port.isdigit() and 0 < int(port) < 65536 and stream.header("streamtype") in ("error", "data")


@dataclass
class _StreamPair:
    request_id: str
    error: SpdyStream | None = None
    data: SpdyStream | None = None
    expiry: asyncio.Task[None] | None = None

    @property
    def complete(self) -> bool:
        return self.error is not None and self.data is not None


class SpdyPortForwarder:
    """Serves one SPDY port-forward connection."""

    def __init__(self, session: SpdySession, target: Target, *, timeout: float = STREAM_CREATION_TIMEOUT):
        self.session = session
        self.target = target
        self.timeout = timeout
        self._pairs: dict[str, _StreamPair] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Pairs the client's streams and forwards each pair, until the connection ends."""
        try:
            while (stream := await self.session.next_stream()) is not None:
                await self._add(stream)
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _add(self, stream: SpdyStream) -> None:
        request_id = self._request_id(stream)
        pair = self._pairs.get(request_id)
        if pair is None:
            pair = self._pairs[request_id] = _StreamPair(request_id)
            pair.expiry = self._spawn(self._expire(pair))
        kind = stream.header("streamtype")
        if getattr(pair, kind) is not None:
            message = f"error processing stream for request {request_id}: {kind} stream already assigned"
            await _report(pair.error, message)
            return
        setattr(pair, kind, stream)
        if pair.complete:
            del self._pairs[request_id]
            if pair.expiry is not None:
                pair.expiry.cancel()
            self._spawn(self._forward(pair))

    @staticmethod
    def _request_id(stream: SpdyStream) -> str:
        # Clients older than the requestID header open the error stream, then the data
        # stream, with consecutive odd ids: the error stream's id names the pair.
        request_id = stream.header("requestid")
        if request_id:
            return request_id
        return str(stream.id if stream.header("streamtype") == "error" else stream.id - 2)

    async def _expire(self, pair: _StreamPair) -> None:
        await asyncio.sleep(self.timeout)
        if self._pairs.get(pair.request_id) is pair:
            del self._pairs[pair.request_id]
            await _report(pair.error, f"timed out waiting for streams of request {pair.request_id}")
            for stream in (pair.error, pair.data):
                if stream is not None:
                    await _quietly(stream.cancel())

    async def _forward(self, pair: _StreamPair) -> None:
        assert pair.error is not None and pair.data is not None
        port = int(pair.data.header("port"))
        try:
            reader, writer = await self.target.open(port)
        except OSError as error:
            await _report(pair.error, str(error))
            await _quietly(pair.data.close())
            return
        try:
            await _copy_spdy(pair.data, pair.error, reader, writer)
        finally:
            writer.close()
            await _quietly(pair.error.close())

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _copy_spdy(
    data: SpdyStream, error: SpdyStream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Both directions, until one has ended and the other has ended too or LINGERed."""

    async def to_port() -> None:
        try:
            while chunk := await data.read():
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except ConnectionError:
            data.discard_input()

    async def to_client() -> None:
        with contextlib.suppress(ConnectionError, StreamClosed):
            while chunk := await reader.read(READ_SIZE):
                await data.write(chunk)
        # The port closed: tell the client at once. Newer kubectl resets the data stream on the
        # FIN (ending to_port); older ones wait for the error stream's end, then close.
        await _quietly(data.close())
        await _quietly(error.close())

    await _linger(to_port(), to_client())
    await _quietly(data.close())


async def _linger(*directions: Awaitable[None]) -> None:
    """Runs the copies until one ends, then gives the others LINGER seconds to end too (as
    containerd's port forwarding does, after socat)."""
    tasks = {asyncio.ensure_future(direction) for direction in directions}
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            await asyncio.wait(pending, timeout=LINGER)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _report(stream: SpdyStream | None, message: str) -> None:
    if stream is None:
        return
    log.info("port forwarding: %s", message)
    await _quietly(stream.write(message.encode()))
    await _quietly(stream.close())


async def _quietly(call: Awaitable[None]) -> None:
    with contextlib.suppress(ConnectionError, StreamClosed):
        await call


# -- WebSocket channels --------------------------------------------------------------------------


class WebSocketPortForwarder:
    """Serves the Python client's port forwarding: one connection per requested port."""

    def __init__(self, socket: channels.ChannelSocket, target: Target, ports: list[int]):
        self.socket = socket
        self.target = target
        self.ports = ports
        self._inputs: list[asyncio.Queue[bytes]] = [asyncio.Queue() for _ in ports]

    async def run(self) -> None:
        for index, port in enumerate(self.ports):
            await self.socket.send(2 * index, channels.port_prefix(port))
            await self.socket.send(2 * index + 1, channels.port_prefix(port))
        receiver = asyncio.ensure_future(self._receive())
        try:
            await asyncio.gather(*(self._forward(index, port) for index, port in enumerate(self.ports)))
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
            await self.socket.close()

    async def _receive(self) -> None:
        try:
            async for channel, data in self.socket.messages():
                if channel % 2 == 0 and channel // 2 < len(self._inputs) and data:
                    self._inputs[channel // 2].put_nowait(data)
        finally:
            for queue in self._inputs:
                queue.put_nowait(b"")

    async def _forward(self, index: int, port: int) -> None:
        try:
            reader, writer = await self.target.open(port)
        except OSError as error:
            log.info("port forwarding: %s", error)
            with contextlib.suppress(ConnectionError):
                await self.socket.send(2 * index + 1, str(error).encode())
            return

        async def to_port() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await self._inputs[index].get():
                    writer.write(data)
                    await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()

        async def to_client() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(READ_SIZE):
                    await self.socket.send(2 * index, data)

        try:
            await _linger(to_port(), to_client())
        finally:
            writer.close()
