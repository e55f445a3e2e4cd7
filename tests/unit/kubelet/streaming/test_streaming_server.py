"""The kubelet's HTTPS server over the fake runtime: every transport end to end over TLS, with
scripted clients (aiohttp's WebSocket client, and SPDY frames written by hand)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from pilothouse import pki
from pilothouse.kubelet import labels
from pilothouse.kubelet.server import KubeletServer
from pilothouse.kubelet.streaming.spdy import (
    DataFrame,
    Frame,
    FrameReader,
    FrameWriter,
    GoAway,
    RstStatus,
    RstStream,
    SynReply,
    SynStream,
)
from pilothouse.runtime.fake import FakeRuntime, FakeSession
from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    ExecSyncResponse,
    ImageSpec,
    PodSandboxConfig,
    PodSandboxMetadata,
)
from pilothouse.runtime.logs import format_entry


@dataclass
class Node:
    runtime: FakeRuntime
    port: int
    client_tls: ssl.SSLContext
    container_id: str
    log_file: Path

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _credentials(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext, Path]:
    ca = pki.create_ca()
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca.cert_pem)
    serving = pki.issue(ca, common_name="system:node:n", server_names=["127.0.0.1"])
    client = pki.issue(ca, common_name="kube-apiserver-kubelet-client", organizations=["system:masters"], client=True)
    assert isinstance(serving, pki.KeyPair) and isinstance(client, pki.KeyPair)
    (tmp_path / "serving.pem").write_bytes(serving.cert_pem + serving.key_pem)
    (tmp_path / "client.pem").write_bytes(client.cert_pem + client.key_pem)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "serving.pem")
    client_tls = ssl.create_default_context(cafile=str(ca_file))
    client_tls.load_cert_chain(tmp_path / "client.pem")
    return server_tls, client_tls, ca_file


async def _run_pod(runtime: FakeRuntime, log_file: Path, *, tty: bool = False) -> str:
    runtime.add_image("busybox")
    identity = {labels.POD_NAMESPACE: "default", labels.POD_NAME: "web", labels.POD_UID: "uid-1"}
    sandbox = PodSandboxConfig(metadata=PodSandboxMetadata("web", "uid-1", "default"), labels=identity)
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    config = ContainerConfig(
        metadata=ContainerMetadata("app"), image=ImageSpec("busybox"), log_path=str(log_file),
        labels={**identity, labels.CONTAINER_NAME: "app"}, tty=tty, stdin=True,
    )
    container_id = await runtime.create_container(sandbox_id, config, sandbox)
    await runtime.start_container(container_id)
    return container_id


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    server_tls, client_tls, ca_file = _credentials(tmp_path)
    runtime = FakeRuntime()
    log_file = tmp_path / "app.log"
    log_file.write_bytes(b"")
    container_id = await _run_pod(runtime, log_file)
    port = _free_port()
    server = KubeletServer(runtime=runtime, ssl_context=server_tls, client_ca=ca_file, host="127.0.0.1", port=port)
    await server.start()
    try:
        yield Node(runtime, port, client_tls, container_id, log_file)
    finally:
        await server.stop()


async def _channel_messages(ws: aiohttp.ClientWebSocketResponse) -> dict[int, list[bytes]]:
    channels: dict[int, list[bytes]] = {}
    async for message in ws:
        channels.setdefault(message.data[0], []).append(message.data[1:])
    return channels


# -- logs --------------------------------------------------------------------------------------------


async def test_logs_with_tail_and_timestamps(node: Node) -> None:
    node.log_file.write_bytes(b"".join(
        format_entry(1_700_000_000_000_000_000 + i, "stdout", f"line {i}".encode()) for i in range(3)
    ))
    async with aiohttp.ClientSession() as session:
        response = await session.get(node.url("/containerLogs/default/web/app?tailLines=2&timestamps=true"),
                                     ssl=node.client_tls)
        body = await response.text()

    assert response.status == 200
    assert body == "2023-11-14T22:13:20.000000001Z line 1\n2023-11-14T22:13:20.000000002Z line 2\n"


# -- exec and attach over WebSocket ------------------------------------------------------------------


async def test_exec_over_websocket_v5(node: Node) -> None:
    node.runtime.exec_handler = lambda container_id, cmd: ExecSyncResponse(b"out", b"err", 3)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            node.url("/exec/default/web/app?command=sh&command=-c&command=exit+3&stdout=1&stderr=1"),
            protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"), ssl=node.client_tls,
        )
        channels = await _channel_messages(ws)

    assert ws.protocol == "v5.channel.k8s.io"
    assert channels[1] == [b"", b"out"]
    assert channels[2] == [b"err"]
    assert [json.loads(status) for status in channels[3]] == [{
        "metadata": {}, "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }]
    assert node.runtime.calls[-1] == ("exec", {"container_id": node.container_id, "cmd": ["sh", "-c", "exit 3"],
                                               "tty": False, "stdin": False})


async def test_attach_with_stdin_closed_by_v5_and_resizes(tmp_path: Path) -> None:
    server_tls, client_tls, ca_file = _credentials(tmp_path)
    runtime = FakeRuntime()
    container_id = await _run_pod(runtime, tmp_path / "app.log", tty=True)
    port = _free_port()
    server = KubeletServer(runtime=runtime, ssl_context=server_tls, client_ca=ca_file, host="127.0.0.1", port=port)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"https://127.0.0.1:{port}/attach/default/web/app?stdin=1&stdout=1&tty=1",
                protocols=("v5.channel.k8s.io",), ssl=client_tls,
            )
            await ws.send_bytes(b"\x04" + json.dumps({"Width": 120, "Height": 40}).encode())
            await ws.send_bytes(b"\x00typed")
            await ws.send_bytes(b"\xff\x00")
            attached: FakeSession = await _first_session(runtime, container_id)
            await _until(lambda: attached.stdin_closed and attached.sizes)
            assert attached.stdout is not None
            attached.stdout.feed_data(b"echoed")
            attached.finish(0)
            channels = await _channel_messages(ws)
    finally:
        await server.stop()

    assert (bytes(attached.stdin_data), attached.sizes) == (b"typed", [(120, 40)])
    assert channels[1] == [b"", b"echoed"]
    assert [json.loads(status) for status in channels[3]] == [{"metadata": {}, "status": "Success"}]


async def _first_session(runtime: FakeRuntime, container_id: str) -> FakeSession:
    await _until(lambda: runtime.containers[container_id].sessions)
    return runtime.containers[container_id].sessions[0]


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    """Polls the fake's state, which has no event to wait on."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


# -- SPDY -------------------------------------------------------------------------------------------


class SpdyClient:
    """Just enough of a SPDY client: the HTTP upgrade, then frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.frames = FrameReader(reader)
        self.encoder = FrameWriter()

    @classmethod
    async def connect(cls, node: Node, path: str, protocol: str) -> tuple[SpdyClient, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", node.port, ssl=node.client_tls)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            f"X-Stream-Protocol-Version: {protocol}\r\nContent-Length: 0\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        return cls(reader, writer), head

    def send(self, *frames: Frame) -> None:
        for frame in frames:
            self.writer.write(self.encoder.encode(frame))

    async def until_goaway(self) -> list[Frame]:
        frames = []
        async with asyncio.timeout(5):
            while (frame := await self.frames.read()) is not None:
                frames.append(frame)
                if isinstance(frame, GoAway):
                    break
        self.writer.close()
        return frames


def _data(frames: list[Frame], stream_id: int) -> bytes:
    return b"".join(f.data for f in frames if isinstance(f, DataFrame) and f.stream_id == stream_id)


def _finished(frames: list[Frame], stream_id: int) -> bool:
    return any(isinstance(f, DataFrame) and f.stream_id == stream_id and f.fin for f in frames)


async def test_exec_over_spdy(node: Node) -> None:
    node.runtime.exec_handler = lambda container_id, cmd: ExecSyncResponse(b"hello", b"", 0)
    client, head = await SpdyClient.connect(
        node, "/exec/default/web/app?command=echo&stdout=1&stderr=1", "v4.channel.k8s.io"
    )
    client.send(*(SynStream(i, {"streamtype": [kind]}) for i, kind in ((1, "error"), (3, "stdout"), (5, "stderr"))))
    frames = await client.until_goaway()

    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"X-Stream-Protocol-Version: v4.channel.k8s.io\r\n" in head
    assert [f for f in frames if isinstance(f, SynReply)] == [SynReply(1), SynReply(3), SynReply(5)]
    assert _data(frames, 3) == b"hello" and _finished(frames, 3) and _finished(frames, 5)
    assert json.loads(_data(frames, 1)) == {"metadata": {}, "status": "Success"}


async def test_port_forward_over_spdy(node: Node) -> None:
    async def echo(sandbox_id: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read())  # everything until the client's end of file
        writer.close()

    node.runtime.port_handler = echo
    client, _ = await SpdyClient.connect(node, "/portForward/default/web", "portforward.k8s.io")
    headers = {"port": ["80"], "requestid": ["0"]}
    refused = {"port": ["81"], "requestid": ["1"]}
    client.send(
        SynStream(1, {**headers, "streamtype": ["error"]}), DataFrame(1, b"", fin=True),
        SynStream(3, {**headers, "streamtype": ["data"]}), DataFrame(3, b"ping"), DataFrame(3, b"", fin=True),
        SynStream(5, {"port": ["0"], "streamtype": ["data"]}),  # invalid: refused
    )
    frames = []
    async with asyncio.timeout(5):
        while not _finished(frames, 1):
            frames.append(await client.frames.read())
    node.runtime.port_handler = None
    client.send(SynStream(7, {**refused, "streamtype": ["error"]}), SynStream(9, {**refused, "streamtype": ["data"]}))
    async with asyncio.timeout(5):
        while not _finished(frames, 7):
            frames.append(await client.frames.read())
    client.writer.close()

    assert _data(frames, 3) == b"ping" and _finished(frames, 3)
    assert _data(frames, 1) == b""
    assert RstStream(5, RstStatus.CANCEL) in frames
    assert _data(frames, 7).startswith(b"error forwarding port 81 to pod ")


# -- port forwarding over WebSocket ------------------------------------------------------------------


async def test_port_forward_over_websocket(node: Node) -> None:
    async def echo(sandbox_id: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(4))
        writer.close()

    node.runtime.port_handler = echo
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(node.url("/portForward/default/web?port=8080"),
                                      protocols=("v4.channel.k8s.io",), ssl=node.client_tls)
        await ws.send_bytes(b"\x00ping")
        channels = await _channel_messages(ws)

    assert channels[0] == [(8080).to_bytes(2, "little"), b"ping"]
    assert channels[1] == [(8080).to_bytes(2, "little")]
