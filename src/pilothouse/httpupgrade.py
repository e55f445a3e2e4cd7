"""Taking over an aiohttp server connection after an HTTP/1.1 protocol upgrade.

aiohttp speaks WebSocket itself but no other upgraded protocol (SPDY/3.1 for kubectl's
streams), and a proxy must pass the upgraded bytes through without parsing them.
:func:`switch_protocols` answers ``101 Switching Protocols`` (sent at once, before any data,
so a client never sees data ahead of the upgrade), then hands over the raw connection: what
the client sends arrives on :attr:`UpgradedConnection.reader`, what is written goes out as is.

Used by the kubelet (SPDY sessions) and by the API server (splicing the client's connection
to the kubelet's), which may not import each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web

READ_LIMIT = 1 << 20  # the reader pauses the socket beyond twice this much unread data


class _RawPayload:
    """The parser aiohttp feeds the connection's bytes to once the upgrade is done."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()


class UpgradedConnection:
    """The client's connection after the upgrade: a byte reader and a byte writer."""

    def __init__(self, reader: asyncio.StreamReader, response: web.StreamResponse):
        self.reader = reader
        self.response = response  # what the aiohttp handler must return

    async def write(self, data: bytes) -> None:
        """Sends ``data``, waiting while the socket's buffer is full; ConnectionResetError
        once the client is gone."""
        await self.response.write(data)

    async def close(self) -> None:
        """Ends the response; aiohttp closes the socket when the handler returns."""
        await self.response.write_eof()


async def switch_protocols(request: web.Request, headers: Mapping[str, str]) -> UpgradedConnection:
    """Answers 101 with ``headers`` and takes the connection over from aiohttp."""
    response = web.StreamResponse(status=101, reason="Switching Protocols", headers=headers)
    response.force_close()  # the connection never returns to HTTP
    await response.prepare(request)
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("the client went away during the upgrade")
    reader.set_transport(transport)
    request.protocol.set_parser(_RawPayload(reader))  # type: ignore[arg-type]
    return UpgradedConnection(reader, response)
