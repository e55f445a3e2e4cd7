"""Container logs in the CRI format, written by the monitor and read here.

Each line of a log file is one entry::

    2016-10-06T00:17:09.669794202Z stdout F log line

an RFC 3339 timestamp with nanoseconds (``Z`` or an offset such as ``+00:00``), the stream,
a tag (``F`` for an entry that ends a line, ``P`` for part of a longer line) and the content.
:func:`read_logs` gives what ``kubectl logs`` and ``pilothouse logs`` show: whole lines
reassembled from their parts, optionally the last N only, since a time, with timestamps,
up to a byte limit, and following the file (across rotations) while the container runs.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

STREAMS = ("stdout", "stderr")
TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")
FOLLOW_POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class LogEntry:
    timestamp: str  # as written
    time_ns: int
    stream: str
    partial: bool
    content: bytes


def format_entry(time_ns: int, stream: str, content: bytes, *, partial: bool = False) -> bytes:
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return b"%s.%09dZ %s %s %s\n" % (stamp.encode(), nanos, stream.encode(), b"P" if partial else b"F", content)


def parse_entry(line: bytes) -> LogEntry:
    """One line of a CRI log file (without or with its newline); ValueError if malformed."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3 or parts[1].decode(errors="replace") not in STREAMS or parts[2] not in (b"F", b"P"):
        raise ValueError(f"not a CRI log line: {line[:80]!r}")
    timestamp = parts[0].decode()
    return LogEntry(
        timestamp=timestamp,
        time_ns=parse_timestamp(timestamp),
        stream=parts[1].decode(),
        partial=parts[2] == b"P",
        content=parts[3] if len(parts) == 4 else b"",
    )


def parse_timestamp(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp with up to 9 fractional digits."""
    match = TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    seconds, fraction, zone = match.groups()
    moment = datetime.fromisoformat(seconds + ("+00:00" if zone == "Z" else zone))
    nanos = int((fraction or "").ljust(9, "0")[:9])
    return int(moment.timestamp()) * 1_000_000_000 + nanos


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail_lines: int | None = None  # the last N lines only
    since_ns: int | None = None  # lines written at or after this time only
    timestamps: bool = False  # prefix each line with its RFC 3339 timestamp
    limit_bytes: int | None = None  # stop after this many bytes of output
    streams: tuple[str, ...] = STREAMS


async def read_logs(
    path: Path, options: LogOptions, *, running: Callable[[], bool] = lambda: False
) -> AsyncIterator[tuple[str, bytes]]:
    """Yields ``(stream, bytes)`` as the reader should print them.

    With ``follow`` it keeps reading while ``running()`` is true, switching to a new file
    when the log is rotated, and ends once the container has stopped and the file is read.
    """
    budget = options.limit_bytes
    async for stream, data in _lines(path, options, running):
        if budget is not None:
            data = data[:budget]
            budget -= len(data)
        if data:
            yield stream, data
        if budget is not None and budget <= 0:
            return


async def _lines(
    path: Path, options: LogOptions, running: Callable[[], bool]
) -> AsyncIterator[tuple[str, bytes]]:
    pending: dict[str, list[LogEntry]] = {}
    handle = _open(path)
    if handle is None:
        return
    with handle:
        lines = []
        for entry in _entries(handle.read()):
            line = _assemble(entry, pending, options) if _wanted(entry, options) else None
            if line is not None:
                lines.append((entry.stream, line))
    if options.tail_lines is not None:
        lines = lines[len(lines) - options.tail_lines :] if options.tail_lines > 0 else []
    for stream, line in lines:
        yield stream, line
    if not options.follow:
        return
    async for entry in _follow(path, running):
        if _wanted(entry, options):
            line = _assemble(entry, pending, options)
            if line is not None:
                yield entry.stream, line


async def _follow(path: Path, running: Callable[[], bool]) -> AsyncIterator[LogEntry]:
    handle = _open(path)
    if handle is None:
        return
    handle.seek(0, os.SEEK_END)
    buffer = b""
    try:
        while True:
            chunk = handle.read()
            if chunk:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for entry in _entries(b"\n".join(complete) + b"\n" if complete else b""):
                    yield entry
                continue
            rotated = _open_if_replaced(path, handle)
            if rotated is not None:
                handle.close()
                handle = rotated
                continue
            if not running():
                return
            await asyncio.sleep(FOLLOW_POLL_INTERVAL)
    finally:
        handle.close()


def _open(path: Path):  # type: ignore[no-untyped-def]
    try:
        return open(path, "rb")  # noqa: SIM115 (closed by the caller)
    except FileNotFoundError:
        return None


def _open_if_replaced(path: Path, handle):  # type: ignore[no-untyped-def]
    try:
        if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
            return None
    except FileNotFoundError:
        return None
    return _open(path)


def _entries(data: bytes) -> list[LogEntry]:
    entries = []
    for line in data.split(b"\n"):
        if line:
            try:
                entries.append(parse_entry(line))
            except ValueError:
                continue
    return entries


def _wanted(entry: LogEntry, options: LogOptions) -> bool:
    if entry.stream not in options.streams:
        return False
    return options.since_ns is None or entry.time_ns >= options.since_ns


def _assemble(entry: LogEntry, pending: dict[str, list[LogEntry]], options: LogOptions) -> bytes | None:
    """The whole line once its last part arrives; None while parts are still coming."""
    parts = pending.setdefault(entry.stream, [])
    parts.append(entry)
    if entry.partial:
        return None
    pending[entry.stream] = []
    content = b"".join(part.content for part in parts) + b"\n"
    if options.timestamps:
        content = parts[0].timestamp.encode() + b" " + content
    return content
