"""SPDY/3.1 frames: encoding, decoding, and header compression with the SPDY dictionary."""

from __future__ import annotations

import asyncio
import zlib

import pytest

from pilothouse.kubelet.streaming.spdy import (
    HEADER_DICTIONARY,
    DataFrame,
    Frame,
    FrameReader,
    FrameWriter,
    GoAway,
    GoAwayStatus,
    HeadersFrame,
    Ping,
    RstStatus,
    RstStream,
    Settings,
    SpdyProtocolError,
    SynReply,
    SynStream,
    WindowUpdate,
    decode_header_block,
    encode_header_block,
)

# What kubectl 1.27 (Go's spdystream) sent for `kubectl exec -i POD -- cat` with "hi\n" on
# stdin: SYN_STREAMs 1, 3, 5, 7 (streamType error, stdin, stdout, stderr), then stdin's data
# and FIN. The header blocks name the SPDY/3 dictionary by its Adler-32, e3c6a7c2.
KUBECTL_EXEC = bytes.fromhex(
    "80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800"
    "000000ffff800300010000001700000003000000000000c22e555c92929907000000ffff800300010000001900"
    "000005000000000000c22ac5565c92925f5a02000000ffff800300010000001500000007000000000000c22997"
    "5a5404000000ffff000000030000000368690a0000000301000000"
)


def _reader(data: bytes) -> FrameReader:
    stream = asyncio.StreamReader()
    stream.feed_data(data)
    stream.feed_eof()
    return FrameReader(stream)


async def _read_all(data: bytes) -> list[Frame]:
    reader = _reader(data)
    frames = []
    while (frame := await reader.read()) is not None:
        frames.append(frame)
    return frames


async def test_decodes_what_kubectl_sends() -> None:
    frames = await _read_all(KUBECTL_EXEC)

    assert frames == [
        SynStream(1, {"streamtype": ["error"]}),
        SynStream(3, {"streamtype": ["stdin"]}),
        SynStream(5, {"streamtype": ["stdout"]}),
        SynStream(7, {"streamtype": ["stderr"]}),
        DataFrame(3, b"hi\n"),
        DataFrame(3, b"", fin=True),
    ]


def test_dictionary_is_the_spdy3_one() -> None:
    assert len(HEADER_DICTIONARY) == 1423
    assert zlib.adler32(HEADER_DICTIONARY) == 0xE3C6A7C2  # the DICTID in kubectl's header blocks


FRAMES: list[Frame] = [
    DataFrame(1, b"payload"),
    DataFrame(3, b"", fin=True),
    SynStream(5, {"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]}, priority=3, fin=True),
    SynStream(7, {}, associated_id=5, unidirectional=True),
    SynReply(5),
    SynReply(9, {"x-multi": ["a", "b"]}, fin=True),
    HeadersFrame(5, {"trailer": ["yes"]}, fin=True),
    RstStream(5, RstStatus.CANCEL),
    Settings({7: 131072, 4: 100}),
    Ping(1),
    GoAway(7, GoAwayStatus.INTERNAL_ERROR),
    WindowUpdate(0, 32768),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
async def test_every_frame_survives_a_round_trip(frame: Frame) -> None:
    assert await _read_all(FrameWriter().encode(frame)) == [frame]


async def test_header_compression_spans_the_whole_connection() -> None:
    writer = FrameWriter()
    frames = [SynStream(i, {"streamtype": ["data"], "port": ["80"], "requestid": [str(i)]}) for i in (1, 3, 5)]
    encoded = [writer.encode(frame) for frame in frames]

    assert await _read_all(b"".join(encoded)) == frames
    # Later blocks lean on the earlier ones: a reader that missed the first cannot decode them.
    with pytest.raises(SpdyProtocolError):
        await _read_all(b"".join(encoded[1:]))


def test_header_blocks_are_lower_case_with_nul_separated_values() -> None:
    block = encode_header_block({"StreamType": ["error"], "X": ["1", "2"]})

    assert block == (
        b"\x00\x00\x00\x02" b"\x00\x00\x00\x0astreamtype" b"\x00\x00\x00\x05error"
        b"\x00\x00\x00\x01x" b"\x00\x00\x00\x031\x002"
    )
    assert decode_header_block(block) == {"streamtype": ["error"], "x": ["1", "2"]}


def test_malformed_header_blocks_are_protocol_errors() -> None:
    with pytest.raises(SpdyProtocolError):
        decode_header_block(b"\x00\x00\x00\x01\x00\x00\x00\x09short")


async def test_unknown_control_frames_are_skipped() -> None:
    credential = b"\x80\x03\x00\x0a\x00\x00\x00\x02\xab\xcd"  # CREDENTIAL (type 10)

    assert await _read_all(credential + FrameWriter().encode(Ping(3))) == [Ping(3)]


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01",  # SPDY/2
        b"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00",  # cut inside the payload
        b"\x00\x00\x00\x01\x00\x00",  # cut inside the header
        b"\x80\x03\x00\x01\x00\x00\x00\x0e\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00garbage!",  # not zlib
    ],
    ids=["old-version", "truncated-payload", "truncated-header", "bad-compression"],
)
async def test_broken_input_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(SpdyProtocolError):
        await _read_all(data)


async def test_end_of_stream_between_frames_is_the_end() -> None:
    assert await _read_all(b"") == []
