"""SPDY/3.1 frames: their wire format and the compression of their header blocks.

Kubernetes streams exec, attach and port-forward over SPDY/3.1 (the ``Upgrade: SPDY/3.1``
HTTP upgrade, or tunnelled in a WebSocket); the frames here are those of the SPDY/3 draft
that Go's ``moby/spdystream`` speaks:

- a control frame is ``1 | version(15) | type(16) | flags(8) | length(24) | payload``, a
  data frame ``0 | stream id(31) | flags(8) | length(24) | data``;
- name/value header blocks (in SYN_STREAM, SYN_REPLY, HEADERS) are
  ``count(32) (length(32) name length(32) value)*`` with lower-case names and several values
  joined by NUL, compressed by one zlib stream per direction for the whole connection,
  primed with the SPDY/3 dictionary and flushed (Z_SYNC_FLUSH) after every block.

:class:`FrameReader` and :class:`FrameWriter` keep that per-direction compression state, so
each connection needs exactly one of each, used in the order frames cross the wire.
"""

from __future__ import annotations

import asyncio
import enum
import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_DATA_LENGTH = (1 << 24) - 1
MAX_HEADER_BLOCK = 1 << 20  # decompressed; a bound against compression bombs
DEFAULT_INITIAL_WINDOW = 64 * 1024
STREAM_ID_MASK = 0x7FFFFFFF

Headers = dict[str, list[str]]


class FrameType(enum.IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(enum.IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9
    FRAME_TOO_LARGE = 11


class GoAwayStatus(enum.IntEnum):
    OK = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 2


class Setting(enum.IntEnum):
    MAX_CONCURRENT_STREAMS = 4
    INITIAL_WINDOW_SIZE = 7


class SpdyProtocolError(Exception):
    """The peer sent something that is not SPDY/3."""


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers
    associated_id: int = 0
    priority: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: RstStatus


@dataclass(frozen=True)
class Settings:
    values: dict[int, int]


@dataclass(frozen=True)
class Ping:
    id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: GoAwayStatus = GoAwayStatus.OK


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int
    delta: int


Frame = (
    DataFrame | SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate
)


def _dictionary() -> bytes:
    """The zlib dictionary of SPDY/3 header blocks (draft 3, section 2.6.10.1)."""
    words = (
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
        "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
        "cache-control", "connection", "content-base", "content-encoding", "content-language",
        "content-length", "content-location", "content-md5", "content-range", "content-type",
        "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
        "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
        "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range",
        "referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
        "user-agent", "vary", "via", "warning", "www-authenticate", "method", "get", "status",
        "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
    )
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417"
        "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
        "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
        "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
        "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
        "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
        "charset=iso-8859-1,utf-,*,enq=0."
    )
    prefixed = b"".join(struct.pack(">I", len(w)) + w.encode() for w in words)
    return prefixed + tail.encode()


HEADER_DICTIONARY = _dictionary()


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block; names are lower-cased as SPDY/3 requires."""
    parts = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        encoded_name = name.lower().encode()
        value = "\x00".join(values).encode()
        parts += [struct.pack(">I", len(encoded_name)), encoded_name, struct.pack(">I", len(value)), value]
    return b"".join(parts)


def decode_header_block(block: bytes) -> Headers:
    headers: Headers = {}
    try:
        (count,), offset = struct.unpack_from(">I", block), 4
        for _ in range(count):
            (length,) = struct.unpack_from(">I", block, offset)
            name = block[offset + 4 : offset + 4 + length].decode()
            offset += 4 + length
            (length,) = struct.unpack_from(">I", block, offset)
            value = block[offset + 4 : offset + 4 + length].decode()
            offset += 4 + length
            if not name or offset > len(block):
                raise SpdyProtocolError("malformed header block")
            headers.setdefault(name.lower(), []).extend(value.split("\x00"))
    except (struct.error, UnicodeDecodeError) as error:
        raise SpdyProtocolError(f"malformed header block: {error}") from None
    return headers


class FrameWriter:
    """Serializes frames; owns the connection's outgoing header compression."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, HEADER_DICTIONARY)

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            if len(frame.data) > MAX_DATA_LENGTH:
                raise ValueError("data frame too large")
            flags = FLAG_FIN if frame.fin else 0
            return struct.pack(">II", frame.stream_id & STREAM_ID_MASK, flags << 24 | len(frame.data)) + frame.data
        kind, flags, payload = self._control(frame)
        return struct.pack(">HHI", 0x8000 | VERSION, kind, flags << 24 | len(payload)) + payload

    def _control(self, frame: Frame) -> tuple[FrameType, int, bytes]:
        match frame:
            case SynStream():
                flags = (FLAG_FIN if frame.fin else 0) | (FLAG_UNIDIRECTIONAL if frame.unidirectional else 0)
                fixed = struct.pack(">IIBB", frame.stream_id, frame.associated_id, frame.priority << 5, 0)
                return FrameType.SYN_STREAM, flags, fixed + self._compress(frame.headers)
            case SynReply():
                body = struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
                return FrameType.SYN_REPLY, FLAG_FIN if frame.fin else 0, body
            case HeadersFrame():
                body = struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
                return FrameType.HEADERS, FLAG_FIN if frame.fin else 0, body
            case RstStream():
                return FrameType.RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status)
            case Settings():
                entries = b"".join(struct.pack(">II", key, value) for key, value in frame.values.items())
                return FrameType.SETTINGS, 0, struct.pack(">I", len(frame.values)) + entries
            case Ping():
                return FrameType.PING, 0, struct.pack(">I", frame.id)
            case GoAway():
                return FrameType.GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id, frame.status)
            case WindowUpdate():
                return FrameType.WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id, frame.delta)
        raise TypeError(f"not a SPDY frame: {frame!r}")

    def _compress(self, headers: Headers) -> bytes:
        block = encode_header_block(headers)
        return self._compressor.compress(block) + self._compressor.flush(zlib.Z_SYNC_FLUSH)


class FrameReader:
    """Reads frames from a byte stream; owns the connection's incoming header decompression.

    Control frames of types SPDY/3 does not define (CREDENTIAL, NOOP) are skipped, as the
    draft requires of unknown control frames.
    """

    def __init__(self, reader: asyncio.StreamReader):
        self._reader = reader
        self._decompressor = zlib.decompressobj(zdict=HEADER_DICTIONARY)

    async def read(self) -> Frame | None:
        """The next frame, or None when the stream ends between frames."""
        while True:
            try:
                head = await self._reader.readexactly(8)
            except asyncio.IncompleteReadError as error:
                if not error.partial:
                    return None
                raise SpdyProtocolError("connection closed inside a frame header") from None
            first, second = struct.unpack(">II", head)
            flags, length = second >> 24, second & 0xFFFFFF
            try:
                payload = await self._reader.readexactly(length)
            except asyncio.IncompleteReadError:
                raise SpdyProtocolError("connection closed inside a frame") from None
            if not first & 0x80000000:
                return DataFrame(first & STREAM_ID_MASK, payload, bool(flags & FLAG_FIN))
            version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
            if version != VERSION:
                raise SpdyProtocolError(f"unsupported SPDY version {version}")
            if kind in FrameType._value2member_map_:
                return self._control(FrameType(kind), flags, payload)

    def _control(self, kind: FrameType, flags: int, payload: bytes) -> Frame:
        fin = bool(flags & FLAG_FIN)
        try:
            match kind:
                case FrameType.SYN_STREAM:
                    stream_id, associated, priority, _slot = struct.unpack_from(">IIBB", payload)
                    return SynStream(
                        stream_id & STREAM_ID_MASK, self._decompress(payload[10:]), associated & STREAM_ID_MASK,
                        priority >> 5, fin, bool(flags & FLAG_UNIDIRECTIONAL),
                    )
                case FrameType.SYN_REPLY:
                    (stream_id,) = struct.unpack_from(">I", payload)
                    return SynReply(stream_id & STREAM_ID_MASK, self._decompress(payload[4:]), fin)
                case FrameType.HEADERS:
                    (stream_id,) = struct.unpack_from(">I", payload)
                    return HeadersFrame(stream_id & STREAM_ID_MASK, self._decompress(payload[4:]), fin)
                case FrameType.RST_STREAM:
                    stream_id, status = struct.unpack_from(">II", payload)
                    return RstStream(stream_id & STREAM_ID_MASK, _rst_status(status))
                case FrameType.SETTINGS:
                    (count,) = struct.unpack_from(">I", payload)
                    entries = (struct.unpack_from(">II", payload, 4 + 8 * i) for i in range(count))
                    return Settings({key & 0xFFFFFF: value for key, value in entries})
                case FrameType.PING:
                    return Ping(struct.unpack_from(">I", payload)[0])
                case FrameType.GOAWAY:
                    last_good, status = struct.unpack_from(">II", payload)
                    return GoAway(last_good & STREAM_ID_MASK, _goaway_status(status))
                case FrameType.WINDOW_UPDATE:
                    stream_id, delta = struct.unpack_from(">II", payload)
                    return WindowUpdate(stream_id & STREAM_ID_MASK, delta & STREAM_ID_MASK)
        except struct.error:
            raise SpdyProtocolError(f"truncated {kind.name} frame") from None
        raise AssertionError(kind)

    def _decompress(self, data: bytes) -> Headers:
        try:
            block = self._decompressor.decompress(data, MAX_HEADER_BLOCK)
        except zlib.error as error:
            raise SpdyProtocolError(f"bad header compression: {error}") from None
        if self._decompressor.unconsumed_tail:
            raise SpdyProtocolError("header block too large")
        return decode_header_block(block)


def _rst_status(value: int) -> RstStatus:
    try:
        return RstStatus(value)
    except ValueError:
        return RstStatus.PROTOCOL_ERROR


def _goaway_status(value: int) -> GoAwayStatus:
    try:
        return GoAwayStatus(value)
    except ValueError:
        return GoAwayStatus.PROTOCOL_ERROR
