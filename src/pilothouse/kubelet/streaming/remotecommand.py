"""exec and attach: bridging a client's streams to a runtime :class:`StreamingSession`.

Whatever the transport (WebSocket channels or SPDY streams), a session runs the same way,
as the kubelet's ``ServeExec``/``ServeAttach`` do: the client's stdin and terminal resizes go
to the session; the session's stdout and stderr go to the client until they end; then the
outcome goes on the error channel as a ``metav1.Status`` (the v4 protocol):

- ``{"metadata":{},"status":"Success"}`` for exit code 0 and for every attach;
- reason ``NonZeroExitCode`` with cause ``ExitCode`` carrying the code, which kubectl and
  the Python client turn into their own exit code;
- reason ``InternalError`` when the runtime could not start the command.

If the client goes away first, the session is closed: an exec'd command is killed, an
attached container keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pilothouse.runtime.errors import ContainerRuntimeError
from pilothouse.runtime.interface import RuntimeService, StreamingSession

from . import channels
from .spdysession import SpdySession, SpdyStream, StreamClosed

Status = dict[str, Any]

READ_SIZE = 128 * 1024
STREAM_CREATION_TIMEOUT = 30.0  # the kubelet's default (--streaming-connection... creation)
PROTOCOLS = (channels.V5_PROTOCOL, channels.V4_PROTOCOL)  # served over WebSocket and SPDY


class ClientGone(Exception):
    """The client closed the connection before the session ended."""


@dataclass(frozen=True)
class StreamOptions:
    """Which streams the client wants (the kubelet's ``remotecommand.Options``)."""

    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool

    @classmethod
    def from_query(cls, query: Any) -> StreamOptions:
        """From the ``stdin``/``stdout``/``stderr``/``tty`` parameters (``1`` or ``true``);
        ValueError if none of the three streams is wanted. With a TTY, stderr is merged into
        stdout."""

        def wanted(name: str) -> bool:
            return query.get(name, "") in ("1", "true")

        tty = wanted("tty")
        options = cls(wanted("stdin"), wanted("stdout"), wanted("stderr") and not tty, tty)
        if not (options.stdin or options.stdout or options.stderr):
            raise ValueError("you must specify at least 1 of stdin, stdout, stderr")
        return options


@dataclass(frozen=True)
class TerminalSize:
    width: int
    height: int


class CommandTransport(Protocol):
    """The client's side of one exec or attach, whatever carries it."""

    gone: asyncio.Event  # set once the client's connection ended

    async def read_stdin(self) -> bytes:
        """The next stdin data; ``b""`` at its end."""

    async def next_resize(self) -> TerminalSize | None:
        """The next terminal size; None at the end of resizes."""

    async def write_stdout(self, data: bytes) -> None: ...

    async def write_stderr(self, data: bytes) -> None: ...

    async def finish_output(self) -> None:
        """stdout and stderr have ended."""

    async def write_status(self, status: Status) -> None: ...

    async def close(self) -> None: ...


# -- statuses ------------------------------------------------------------------------------------


def success() -> Status:
    return {"metadata": {}, "status": "Success"}


def non_zero_exit(command: list[str], code: int) -> Status:
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            "command terminated with non-zero exit code: error executing command "
            f"[{' '.join(command)}], exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str) -> Status:
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


# -- running a session ---------------------------------------------------------------------------


async def run_exec(
    runtime: RuntimeService, container_id: str, command: list[str], options: StreamOptions, transport: CommandTransport
) -> None:
    try:
        session = await runtime.exec(
            container_id, command, tty=options.tty, stdin=options.stdin, stdout=options.stdout, stderr=options.stderr
        )
    except (ContainerRuntimeError, OSError) as error:
        await _finish(transport, internal_error(f"error executing command in container: {error}"))
        return
    try:
        code = _exit_code(await _bridge(session, transport))
    except ClientGone:
        await transport.close()
        return
    await _finish(transport, success() if code == 0 else non_zero_exit(command, code))


async def run_attach(
    runtime: RuntimeService, container_id: str, options: StreamOptions, transport: CommandTransport
) -> None:
    try:
        session = await runtime.attach(
            container_id, stdin=options.stdin, stdout=options.stdout, stderr=options.stderr
        )
    except (ContainerRuntimeError, OSError) as error:
        await _finish(transport, internal_error(f"error attaching to container: {error}"))
        return
    try:
        await _bridge(session, transport)  # however the container ended: attach succeeded
    except ClientGone:
        await transport.close()
        return
    await _finish(transport, success())


async def _bridge(session: StreamingSession, transport: CommandTransport) -> int | None:
    """Runs the session to its end and returns what its ``wait`` returns; ClientGone (the
    session closed) if the client goes away first."""
    feeders = [asyncio.ensure_future(_feed_stdin(session, transport))] if session.has_stdin else []
    if session.tty:
        feeders.append(asyncio.ensure_future(_feed_resizes(session, transport)))
    outcome = asyncio.ensure_future(_outcome(session, transport))
    gone = asyncio.ensure_future(transport.gone.wait())
    try:
        await asyncio.wait({outcome, gone}, return_when=asyncio.FIRST_COMPLETED)
        if not outcome.done():
            raise ClientGone()
        return outcome.result()
    except BaseException:
        await session.close()
        raise
    finally:
        for task in (*feeders, outcome, gone):
            task.cancel()
        await asyncio.gather(*feeders, outcome, gone, return_exceptions=True)


async def _outcome(session: StreamingSession, transport: CommandTransport) -> int | None:
    copies = []
    if session.stdout is not None:
        copies.append(_copy_output(session.stdout, transport.write_stdout))
    if session.stderr is not None:
        copies.append(_copy_output(session.stderr, transport.write_stderr))
    await asyncio.gather(*copies)
    await _client_call(transport.finish_output())
    return await session.wait()


async def _copy_output(source: asyncio.StreamReader, write: Callable[[bytes], Awaitable[None]]) -> None:
    while data := await source.read(READ_SIZE):
        await _client_call(write(data))


async def _client_call(call: Awaitable[None]) -> None:
    try:
        await call
    except (ConnectionError, StreamClosed) as error:
        raise ClientGone() from error


async def _feed_stdin(session: StreamingSession, transport: CommandTransport) -> None:
    while data := await transport.read_stdin():
        await session.write_stdin(data)
    await session.close_stdin()


async def _feed_resizes(session: StreamingSession, transport: CommandTransport) -> None:
    while (size := await transport.next_resize()) is not None:
        if size.width > 0 and size.height > 0:
            await session.resize(size.width, size.height)


def _exit_code(code: int | None) -> int:
    """A process killed by signal N exits, as a shell reports it, with 128 + N."""
    if code is None:
        return 0
    return 128 - code if code < 0 else code


async def _finish(transport: CommandTransport, status: Status) -> None:
    with contextlib.suppress(ConnectionError, StreamClosed):
        await transport.write_status(status)
    await transport.close()


def _status_bytes(status: Status) -> bytes:
    return json.dumps(status, separators=(",", ":")).encode()


class JsonDocuments:
    """Splits a stream of concatenated JSON documents (Go's ``json.Encoder`` output, as
    kubectl writes terminal sizes) into documents as its bytes arrive."""

    MAX_PENDING = 64 * 1024  # a document that never completes is dropped past this

    def __init__(self) -> None:
        self._text = ""
        self._decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[Any]:
        self._text += data.decode(errors="replace")
        documents = []
        while self._text.strip():
            self._text = self._text.lstrip()
            try:
                document, end = self._decoder.raw_decode(self._text)
            except ValueError:
                if len(self._text) > self.MAX_PENDING:
                    self._text = ""
                break
            documents.append(document)
            self._text = self._text[end:]
        return documents


def _parse_size(document: Any) -> TerminalSize | None:
    if not isinstance(document, dict):
        return None
    width, height = document.get("Width", 0), document.get("Height", 0)
    if not isinstance(width, int) or not isinstance(height, int):
        return None
    return TerminalSize(width, height)


# -- WebSocket channels --------------------------------------------------------------------------


class WebSocketTransport:
    """exec/attach over ``v4.channel.k8s.io`` or ``v5.channel.k8s.io``."""

    def __init__(self, socket: channels.ChannelSocket):
        self.socket = socket
        self.gone = asyncio.Event()
        self._stdin: asyncio.Queue[bytes] = asyncio.Queue()
        self._resizes: asyncio.Queue[TerminalSize | None] = asyncio.Queue()
        self._reader = asyncio.ensure_future(self._receive())

    @classmethod
    async def open(cls, socket: channels.ChannelSocket, options: StreamOptions) -> WebSocketTransport:
        transport = cls(socket)
        # An empty message on the first writable channel tells the client the streams are
        # ready, as the kubelet's createWebSocketStreams does.
        first = channels.STDOUT if options.stdout else channels.STDERR if options.stderr else channels.ERROR
        await socket.send(first, b"")
        return transport

    async def _receive(self) -> None:
        v5 = self.socket.protocol == channels.V5_PROTOCOL
        try:
            async for channel, data in self.socket.messages():
                if channel == channels.STDIN and data:
                    self._stdin.put_nowait(data)
                elif channel == channels.RESIZE:
                    with contextlib.suppress(ValueError):
                        if (size := _parse_size(json.loads(data))) is not None:
                            self._resizes.put_nowait(size)
                elif v5 and channel == channels.CLOSE and data[:1] == bytes((channels.STDIN,)):
                    self._stdin.put_nowait(b"")
        finally:
            self._stdin.put_nowait(b"")
            self._resizes.put_nowait(None)
            self.gone.set()

    async def read_stdin(self) -> bytes:
        return await self._stdin.get()

    async def next_resize(self) -> TerminalSize | None:
        return await self._resizes.get()

    async def write_stdout(self, data: bytes) -> None:
        await self.socket.send(channels.STDOUT, data)

    async def write_stderr(self, data: bytes) -> None:
        await self.socket.send(channels.STDERR, data)

    async def finish_output(self) -> None:
        """Nothing to send: the channel protocol has no end of stream but the status."""

    async def write_status(self, status: Status) -> None:
        await self.socket.send(channels.ERROR, _status_bytes(status))

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


# -- SPDY streams --------------------------------------------------------------------------------


class SpdyTransport:
    """exec/attach over SPDY/3.1: one stream per ``streamType`` header (error, stdin,
    stdout, stderr, resize), all opened by the client before anything runs."""

    def __init__(self, session: SpdySession, streams: dict[str, SpdyStream]):
        self.session = session
        self.streams = streams
        self.gone = session.ended
        self._resize_documents = JsonDocuments()
        self._sizes: deque[TerminalSize] = deque()

    @classmethod
    async def open(
        cls, session: SpdySession, options: StreamOptions, *, timeout: float = STREAM_CREATION_TIMEOUT
    ) -> SpdyTransport | None:
        """Waits for the client's streams; None (connection closed) if they do not come."""
        expected = {"error"} | {
            name
            for name, wanted in (("stdin", options.stdin), ("stdout", options.stdout),
                                 ("stderr", options.stderr), ("resize", options.tty))
            if wanted
        }
        streams: dict[str, SpdyStream] = {}
        try:
            async with asyncio.timeout(timeout):
                while not expected <= streams.keys():
                    stream = await session.next_stream()
                    if stream is None:
                        break
                    streams[stream.header("streamtype")] = stream
        except TimeoutError:
            pass
        if not expected <= streams.keys():
            await session.close()
            return None
        return cls(session, streams)

    async def read_stdin(self) -> bytes:
        stream = self.streams.get("stdin")
        return await stream.read() if stream is not None else b""

    async def next_resize(self) -> TerminalSize | None:
        stream = self.streams.get("resize")
        if stream is None:
            return None
        while not self._sizes:
            data = await stream.read()
            if not data:
                return None
            self._sizes.extend(size for doc in self._resize_documents.feed(data) if (size := _parse_size(doc)))
        return self._sizes.popleft()

    async def write_stdout(self, data: bytes) -> None:
        await self.streams["stdout"].write(data)

    async def write_stderr(self, data: bytes) -> None:
        await self.streams["stderr"].write(data)

    async def finish_output(self) -> None:
        for name in ("stdout", "stderr"):
            if (stream := self.streams.get(name)) is not None:
                await stream.close()

    async def write_status(self, status: Status) -> None:
        error = self.streams["error"]
        await error.write(_status_bytes(status))
        await error.close()

    async def close(self) -> None:
        await self.session.close()
