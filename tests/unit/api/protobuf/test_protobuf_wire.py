"""The protobuf wire format reader and writer."""

from __future__ import annotations

import pytest

from pilothouse.api.protobuf import wire


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63 - 1])
def test_varints_round_trip(value):
    encoded = wire.encode_varint(value)

    assert wire.read_varint(encoded, 0) == (value, len(encoded))


def test_negative_numbers_are_ten_byte_twos_complement():
    encoded = wire.encode_varint(-2)

    assert len(encoded) == 10
    raw, _ = wire.read_varint(encoded, 0)
    assert wire.signed(raw) == -2
    assert wire.signed(raw, 32) == -2


def test_fields_yields_every_wire_type():
    data = (wire.varint_field(1, 150) + wire.string_field(2, "hi") + wire.double_field(3, 1.5)
            + b"\x25" + (7).to_bytes(4, "little"))

    fields = list(wire.fields(data))

    assert fields[:2] == [(1, wire.VARINT, 150), (2, wire.LEN, b"hi")]
    assert fields[2][:2] == (3, wire.I64) and wire.double(fields[2][2]) == 1.5
    assert fields[3] == (4, wire.I32, 7)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x08", "truncated varint"),
        (b"\x08" + b"\xff" * 11, "longer than 10 bytes"),
        (b"\x12\x05ab", "runs past the end"),
        (b"\x19\x00", "truncated fixed-width"),
        (b"\x00", "field number 0"),
        (b"\x0b", "unsupported wire type 3"),
    ],
)
def test_malformed_messages(data, problem):
    with pytest.raises(wire.WireError, match=problem):
        list(wire.fields(data))
