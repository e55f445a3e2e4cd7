"""The Kubernetes WebSocket channel protocols: several byte streams over one WebSocket.

Every message is ``[channel][data]``. For exec and attach (``v4.channel.k8s.io`` and
``v5.channel.k8s.io``) the channels are 0 stdin, 1 stdout, 2 stderr, 3 the final status (a
``metav1.Status`` as JSON) and 4 terminal resizes (``{"Width": w, "Height": h}``); v5 adds
the message ``[255, channel]`` by which a client closes its side of a channel (stdin's end of
file). For port forwarding channel ``2i`` carries the data of the ``i``-th requested port and
``2i+1`` its errors, each starting with the port number (two bytes, little endian).

Clients may send text messages (the Python client does for ``str`` data): their first
character is the channel, the rest UTF-8 data. Base64 variants are not served.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web

V4_PROTOCOL = "v4.channel.k8s.io"
V5_PROTOCOL = "v5.channel.k8s.io"

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3
RESIZE = 4
CLOSE = 255  # v5: [CLOSE, channel] ends the sender's side of a channel


def encode(channel: int, data: bytes) -> bytes:
    return bytes((channel,)) + data


def decode(message: bytes) -> tuple[int, bytes]:
    """(channel, data) of one message; ValueError for an empty message."""
    if not message:
        raise ValueError("empty channel message")
    return message[0], message[1:]


def port_prefix(port: int) -> bytes:
    """The first message of a port-forward channel: the port, little endian."""
    return port.to_bytes(2, "little")


class ChannelSocket:
    """A prepared WebSocket seen as numbered channels."""

    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws
        self._send_lock = asyncio.Lock()

    @property
    def protocol(self) -> str:
        return self.ws.ws_protocol or ""

    async def send(self, channel: int, data: bytes) -> None:
        """Sends one message; ConnectionError once the client is gone."""
        async with self._send_lock:
            if self.ws.closed:
                raise ConnectionResetError("the WebSocket is closed")
            await self.ws.send_bytes(encode(channel, data))

    async def messages(self) -> AsyncIterator[tuple[int, bytes]]:
        """(channel, data) of every data message until the client closes the socket."""
        async for message in self.ws:
            if message.type == WSMsgType.BINARY:
                payload = message.data
            elif message.type == WSMsgType.TEXT:
                payload = message.data.encode()
            else:  # ERROR, CLOSE, CLOSING: the iteration ends
                continue
            if payload:
                yield decode(payload)

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.ws.close()
