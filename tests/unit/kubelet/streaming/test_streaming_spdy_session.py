"""The SPDY server session against a scripted client: replies, data, half-closes, resets,
pings, flow control and the end of the connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from pilothouse.kubelet.streaming.spdy import (
    DataFrame,
    Frame,
    FrameReader,
    FrameWriter,
    GoAway,
    Ping,
    RstStatus,
    RstStream,
    Setting,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)
from pilothouse.kubelet.streaming.spdysession import SpdySession, SpdyStream, StreamClosed


class Pipe:
    """A byte sink feeding a reader: the server's output, as the client receives it."""

    def __init__(self) -> None:
        self.reader = asyncio.StreamReader()

    async def write(self, data: bytes) -> None:
        self.reader.feed_data(data)

    async def close(self) -> None:
        self.reader.feed_eof()


class Client:
    def __init__(self) -> None:
        self.to_server = asyncio.StreamReader()
        self.from_server = Pipe()
        self._writer = FrameWriter()
        self._reader = FrameReader(self.from_server.reader)

    def send(self, *frames: Frame) -> None:
        for frame in frames:
            self.to_server.feed_data(self._writer.encode(frame))

    async def receive(self) -> Frame | None:
        return await asyncio.wait_for(self._reader.read(), 5)

    async def received_data(self, stream_id: int, size: int) -> bytes:
        data = b""
        while len(data) < size:
            frame = await self.receive()
            if isinstance(frame, DataFrame) and frame.stream_id == stream_id:
                data += frame.data
        return data


@pytest.fixture
async def client() -> Client:
    return Client()


def session_with(client: Client, accept: Callable[[SpdyStream], bool] = lambda stream: True) -> SpdySession:
    return SpdySession(client.to_server, client.from_server, accept=accept)


@pytest.fixture
async def session(client: Client) -> AsyncIterator[SpdySession]:
    served = session_with(client)
    serving = asyncio.ensure_future(served.serve())
    yield served
    client.to_server.feed_eof()
    await asyncio.wait_for(serving, 5)


async def open_stream(client: Client, session: SpdySession, stream_id: int = 1, kind: str = "data") -> SpdyStream:
    client.send(SynStream(stream_id, {"streamtype": [kind]}))
    assert await client.receive() == SynReply(stream_id)
    stream = await asyncio.wait_for(session.next_stream(), 5)
    assert stream is not None
    return stream


async def test_streams_are_accepted_and_carry_data_both_ways(client: Client, session: SpdySession) -> None:
    stream = await open_stream(client, session, kind="stdin")
    client.send(DataFrame(1, b"from the client"), DataFrame(1, b"", fin=True))
    await stream.write(b"from the server")
    await stream.close()

    assert stream.header("streamType") == "stdin"
    assert await stream.read() == b"from the client"
    assert await stream.read() == b""
    assert await client.receive() == DataFrame(1, b"from the server")
    assert await client.receive() == DataFrame(1, b"", fin=True)
    with pytest.raises(StreamClosed):
        await stream.write(b"after the end")


async def test_refused_and_out_of_order_streams_are_reset(client: Client) -> None:
    session = session_with(client, accept=lambda stream: stream.header("port") == "80")
    serving = asyncio.ensure_future(session.serve())
    client.send(
        SynStream(1, {"port": ["81"]}),
        SynStream(2, {"port": ["80"]}),  # even ids are the server's
        SynStream(5, {"port": ["80"]}),
        SynStream(3, {"port": ["80"]}),  # ids must grow
    )

    replies = [await client.receive() for _ in range(4)]
    client.to_server.feed_eof()
    await serving

    assert replies == [
        RstStream(1, RstStatus.CANCEL),
        RstStream(2, RstStatus.PROTOCOL_ERROR),
        SynReply(5),
        RstStream(3, RstStatus.PROTOCOL_ERROR),
    ]


async def test_client_pings_are_echoed(client: Client, session: SpdySession) -> None:
    client.send(Ping(2), Ping(7))  # an even id would answer a ping of the server's

    assert await client.receive() == Ping(7)


async def test_a_reset_ends_reads_and_refuses_writes(client: Client, session: SpdySession) -> None:
    stream = await open_stream(client, session)
    client.send(RstStream(1, RstStatus.CANCEL))

    assert await stream.read() == b""
    with pytest.raises(StreamClosed):
        await stream.write(b"too late")


async def test_cancel_resets_the_stream(client: Client, session: SpdySession) -> None:
    stream = await open_stream(client, session)
    await stream.cancel()

    assert await client.receive() == RstStream(1, RstStatus.CANCEL)
    assert await stream.read() == b""


async def test_read_data_is_acknowledged_with_window_updates(client: Client, session: SpdySession) -> None:
    stream = await open_stream(client, session)
    client.send(*(DataFrame(1, b"x" * 10_000) for _ in range(4)))
    for _ in range(4):
        assert await stream.read() == b"x" * 10_000

    updates = [await client.receive(), await client.receive()]

    assert updates == [WindowUpdate(1, 40_000), WindowUpdate(0, 40_000)]


async def test_without_flow_control_from_the_client_writes_are_not_held(client: Client, session: SpdySession) -> None:
    stream = await open_stream(client, session)
    await stream.write(b"y" * 200_000)

    assert await client.received_data(1, 200_000) == b"y" * 200_000


async def test_the_windows_of_a_flow_controlling_client_are_honoured(client: Client, session: SpdySession) -> None:
    client.send(Settings({Setting.INITIAL_WINDOW_SIZE: 10}))
    stream = await open_stream(client, session)
    writing = asyncio.ensure_future(stream.write(b"z" * 25))

    first = await client.receive()
    await asyncio.sleep(0)
    blocked = not writing.done()
    client.send(WindowUpdate(1, 100))
    rest = await client.received_data(1, 15)
    await asyncio.wait_for(writing, 5)

    assert first == DataFrame(1, b"z" * 10)
    assert blocked
    assert rest == b"z" * 15


async def test_a_stream_with_too_much_unread_data_holds_the_connection(client: Client, session: SpdySession) -> None:
    stream = await open_stream(client, session)
    client.send(*(DataFrame(1, b"w" * 30_000) for _ in range(3)), Ping(9))

    unanswered = asyncio.ensure_future(client.receive())
    await asyncio.sleep(0.1)
    held = not unanswered.done()
    for _ in range(3):
        await stream.read()

    after = [await unanswered]
    while after[-1] != Ping(9):
        after.append(await client.receive())

    assert held
    assert after == [WindowUpdate(1, 60_000), WindowUpdate(0, 60_000), Ping(9)]


async def test_close_sends_goaway_and_ends_every_stream(client: Client, session: SpdySession) -> None:
    stream = await open_stream(client, session, stream_id=3)
    await session.close()

    assert await client.receive() == GoAway(3)
    assert await client.receive() is None
    assert await stream.read() == b""
    assert await session.next_stream() is None


async def test_the_end_of_the_connection_ends_the_session(client: Client) -> None:
    session = session_with(client)
    serving = asyncio.ensure_future(session.serve())
    client.send(SynStream(1, {}))
    assert await client.receive() == SynReply(1)
    stream = await session.next_stream()
    assert stream is not None
    client.to_server.feed_eof()
    await serving

    assert session.ended.is_set()
    assert await stream.read() == b""
    assert await session.next_stream() is None
