"""The protocol buffers wire format, both ways, with no schema knowledge.

Reading: ``fields(data)`` walks a message and yields ``(number, wire_type, value)``: an ``int``
for varint and fixed-width fields (the raw unsigned bits), ``bytes`` for length-delimited ones.
Malformed input (truncated varints or lengths, group wire types, field number 0) raises
``WireError``; nothing is read past the end of ``data``.

Writing: ``varint_field``, ``bytes_field``, ``string_field``, ``bool_field`` and
``double_field`` return one encoded field; a message is the concatenation of its fields.
Negative integers are encoded as 64-bit two's complement, as Go and protoc do for int32/int64.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT = 0
I64 = 1
LEN = 2
I32 = 5

_MASK64 = (1 << 64) - 1


class WireError(ValueError):
    """The bytes are not a well-formed protocol buffers message."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint starting at ``pos`` and the position just after it."""
    result = 0
    shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Every field of one message, in wire order."""
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
            yield number, wire_type, value
        elif wire_type == LEN:
            length, pos = read_varint(data, pos)
            if length > end - pos:
                raise WireError(f"field {number}: length {length} runs past the end")
            yield number, wire_type, data[pos : pos + length]
            pos += length
        elif wire_type in (I64, I32):
            size = 8 if wire_type == I64 else 4
            if size > end - pos:
                raise WireError(f"field {number}: truncated fixed-width value")
            yield number, wire_type, int.from_bytes(data[pos : pos + size], "little")
            pos += size
        else:
            raise WireError(f"field {number}: unsupported wire type {wire_type}")


def signed(value: int, bits: int = 64) -> int:
    """Reinterpret raw unsigned varint bits as a two's complement integer of ``bits`` bits."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def double(value: int) -> float:
    return struct.unpack("<d", value.to_bytes(8, "little"))[0]


def single(value: int) -> float:
    return struct.unpack("<f", value.to_bytes(4, "little"))[0]


# --- writing ------------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    value &= _MASK64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return encode_varint(number << 3 | wire_type)


def varint_field(number: int, value: int) -> bytes:
    return _key(number, VARINT) + encode_varint(value)


def bool_field(number: int, value: bool) -> bytes:
    return varint_field(number, 1 if value else 0)


def bytes_field(number: int, value: bytes) -> bytes:
    return _key(number, LEN) + encode_varint(len(value)) + value


def string_field(number: int, value: str) -> bytes:
    return bytes_field(number, value.encode())


def double_field(number: int, value: float) -> bytes:
    return _key(number, I64) + struct.pack("<d", value)
