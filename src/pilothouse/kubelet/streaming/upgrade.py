"""Choosing a streaming protocol and upgrading the HTTP connection to it.

Clients ask for one of three transports:

- WebSocket (``Upgrade: websocket``), the subprotocol chosen from ``Sec-WebSocket-Protocol``
  in the client's order of preference;
- SPDY/3.1 (``Upgrade: SPDY/3.1``), the stream protocol chosen from the client's
  ``X-Stream-Protocol-Version`` headers (apimachinery's ``httpstream.Handshake``);
- SPDY/3.1 tunnelled in a WebSocket (subprotocol ``SPDY/3.1+portforward.k8s.io``, kubectl
  port-forward since 1.30): the WebSocket's binary messages carry the SPDY byte stream.

Refusals happen before the upgrade, as plain HTTP errors with the kubelet's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from pilothouse.httpupgrade import switch_protocols

from .spdysession import SpdySession, SpdyStream

SPDY = "SPDY/3.1"
STREAM_PROTOCOL_HEADER = "X-Stream-Protocol-Version"
ACCEPTED_PROTOCOLS_HEADER = "X-Accepted-Stream-Protocol-Versions"
SPDY_TUNNEL_PREFIX = "SPDY/3.1+"
MAX_MESSAGE = 16 << 20


def _header_tokens(request: web.Request, name: str) -> list[str]:
    """Every comma-separated value of every ``name`` header, in order."""
    return [token.strip() for value in request.headers.getall(name, []) for token in value.split(",") if token.strip()]


def is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def is_spdy(request: web.Request) -> bool:
    connection = request.headers.get("Connection", "").lower()
    return "upgrade" in connection and SPDY.lower() in request.headers.get("Upgrade", "").lower()


def websocket_protocols(request: web.Request) -> list[str]:
    return _header_tokens(request, "Sec-WebSocket-Protocol")


def first_supported(offered: list[str], supported: tuple[str, ...]) -> str | None:
    """The first protocol of the client's list that the server supports."""
    return next((protocol for protocol in offered if protocol in supported), None)


def choose_websocket_protocol(request: web.Request, supported: tuple[str, ...], *, allow_none: bool = False) -> str:
    """The subprotocol to answer with ("" when the client offered none and that is allowed);
    403 when nothing matches, as the kubelet's wsstream handshake answers."""
    offered = websocket_protocols(request)
    if not offered and allow_none:
        return ""
    chosen = first_supported(offered, supported)
    if chosen is None:
        raise web.HTTPForbidden(
            text=f"requested protocol(s) are not supported: [{' '.join(offered)}]; supports [{' '.join(supported)}]"
        )
    return chosen


def choose_stream_protocol(request: web.Request, supported: tuple[str, ...]) -> str:
    """apimachinery's ``httpstream.Handshake``: the client's first protocol that we serve."""
    offered = _header_tokens(request, STREAM_PROTOCOL_HEADER)
    if not offered:
        raise web.HTTPBadRequest(text=f"unable to upgrade: {STREAM_PROTOCOL_HEADER} is required")
    chosen = first_supported(offered, supported)
    if chosen is None:
        raise web.HTTPForbidden(
            text=(
                "unable to upgrade: unable to negotiate protocol: client supports "
                f"[{' '.join(offered)}], server accepts [{' '.join(supported)}]"
            ),
            headers={ACCEPTED_PROTOCOLS_HEADER: ", ".join(supported)},
        )
    return chosen


async def accept_websocket(request: web.Request, protocol: str) -> web.WebSocketResponse:
    """Completes the WebSocket handshake with ``protocol`` (none if "")."""
    ws = web.WebSocketResponse(protocols=(protocol,) if protocol else (), compress=False, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    return ws


async def accept_spdy(
    request: web.Request, protocol: str, *, accept: Callable[[SpdyStream], bool] = lambda stream: True
) -> tuple[SpdySession, web.StreamResponse]:
    """Switches the connection to SPDY/3.1 for stream protocol ``protocol``; the session and
    the response the handler returns."""
    if not is_spdy(request):
        raise web.HTTPBadRequest(text="unable to upgrade: missing upgrade headers in request")
    connection = await switch_protocols(
        request, {"Connection": "Upgrade", "Upgrade": SPDY, STREAM_PROTOCOL_HEADER: protocol}
    )
    return SpdySession(connection.reader, connection, accept=accept), connection.response


class WebSocketTunnel:
    """The byte stream carried by a WebSocket's binary messages (SPDY tunnelled in it).

    :attr:`reader` gets what the client sends; :meth:`write` sends one binary message. The
    reader pauses the pumping of messages while it holds too much unread data.
    """

    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws
        self.reader = asyncio.StreamReader(limit=1 << 20)
        self._reading = asyncio.Event()
        self._reading.set()
        # The reader pauses and resumes its "transport" (the pumping below) by its fill.
        self.reader.set_transport(self)  # type: ignore[arg-type]
        self._pump = asyncio.ensure_future(self._receive())

    def pause_reading(self) -> None:
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    async def _receive(self) -> None:
        try:
            async for message in self.ws:
                if message.type != WSMsgType.BINARY:
                    break  # the tunnel carries binary messages only
                self.reader.feed_data(message.data)
                await self._reading.wait()
        finally:
            self.reader.feed_eof()

    async def write(self, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("the WebSocket is closed")
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.ws.close()
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


async def accept_spdy_tunnel(
    request: web.Request, protocol: str, *, accept: Callable[[SpdyStream], bool] = lambda stream: True
) -> tuple[SpdySession, web.StreamResponse]:
    """Accepts the WebSocket with subprotocol ``protocol`` (``SPDY/3.1+...``) to run SPDY
    inside it; the session and the response the handler returns."""
    ws = await accept_websocket(request, protocol)
    tunnel = WebSocketTunnel(ws)
    return SpdySession(tunnel.reader, tunnel, accept=accept), ws


async def run_spdy(session: SpdySession, work: Awaitable[None]) -> None:
    """Runs ``work`` while the session reads its frames, then closes the session."""
    serving = asyncio.ensure_future(session.serve())
    try:
        await work
    finally:
        await session.close()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
