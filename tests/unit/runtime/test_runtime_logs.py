"""The CRI log format and the log reader."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pilothouse.runtime.logs import (
    LogOptions,
    format_entry,
    parse_entry,
    parse_timestamp,
    read_logs,
)

T0 = 1_475_713_029_669_794_202  # 2016-10-06T00:17:09.669794202Z


def test_an_entry_is_timestamp_stream_tag_and_content() -> None:
    line = format_entry(T0, "stdout", b"log line")
    partial = format_entry(T0, "stderr", b"a part", partial=True)

    assert line == b"2016-10-06T00:17:09.669794202Z stdout F log line\n"
    assert partial == b"2016-10-06T00:17:09.669794202Z stderr P a part\n"
    entry = parse_entry(line)
    assert (entry.time_ns, entry.stream, entry.partial, entry.content) == (T0, "stdout", False, b"log line")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-10-06T00:17:09.669794202Z", T0),
        ("2016-10-06T00:17:09.669794202+00:00", T0),
        ("2016-10-06T02:17:09.669794202+02:00", T0),
        ("2016-10-06T00:17:09Z", T0 - 669_794_202),
        ("2016-10-06T00:17:09.5Z", T0 - 169_794_202),
    ],
)
def test_timestamps_with_zones_and_fractions(text: str, expected: int) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("line", [b"", b"garbage", b"2016-10-06T00:17:09Z stdin F x", b"2016-10-06T00:17:09Z stdout X x"])
def test_malformed_lines_are_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        parse_entry(line)


def write_log(path: Path, *entries: tuple[int, str, bytes, bool]) -> None:
    path.write_bytes(b"".join(format_entry(t, s, c, partial=p) for t, s, c, p in entries))


async def shown(path: Path, **options: object) -> list[tuple[str, bytes]]:
    return [item async for item in read_logs(path, LogOptions(**options))]  # type: ignore[arg-type]


async def test_parts_are_joined_and_options_apply(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    write_log(
        log,
        (T0, "stdout", b"one", False),
        (T0 + 1, "stdout", b"tw", True),
        (T0 + 2, "stderr", b"err", False),
        (T0 + 3, "stdout", b"o", False),
        (T0 + 4, "stdout", b"three", False),
    )

    assert await shown(log) == [("stdout", b"one\n"), ("stderr", b"err\n"), ("stdout", b"two\n"), ("stdout", b"three\n")]
    assert await shown(log, tail_lines=2) == [("stdout", b"two\n"), ("stdout", b"three\n")]
    assert await shown(log, since_ns=T0 + 3) == [("stdout", b"o\n"), ("stdout", b"three\n")]
    assert await shown(log, limit_bytes=6) == [("stdout", b"one\n"), ("stderr", b"er")]
    assert await shown(log, streams=("stderr",)) == [("stderr", b"err\n")]
    stamped = await shown(log, timestamps=True, tail_lines=1)
    assert stamped == [("stdout", b"2016-10-06T00:17:09.669794206Z three\n")]


async def test_a_missing_log_shows_nothing(tmp_path: Path) -> None:
    assert await shown(tmp_path / "absent.log") == []


async def test_follow_reads_new_lines_across_a_rotation_until_the_container_stops(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    write_log(log, (T0, "stdout", b"before", False))
    running = True
    received: list[bytes] = []

    async def follow() -> None:
        async for _, data in read_logs(log, LogOptions(follow=True), running=lambda: running):
            received.append(data)

    task = asyncio.ensure_future(follow())
    await _until(lambda: received == [b"before\n"])
    with log.open("ab") as f:
        f.write(format_entry(T0 + 1, "stdout", b"appended"))
    await _until(lambda: len(received) == 2)
    log.rename(tmp_path / "0.log.1")
    write_log(log, (T0 + 2, "stdout", b"after rotation", False))
    await _until(lambda: len(received) == 3)
    running = False
    await asyncio.wait_for(task, 10)

    assert received == [b"before\n", b"appended\n", b"after rotation\n"]


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")
