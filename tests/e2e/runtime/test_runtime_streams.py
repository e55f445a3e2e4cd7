"""exec, attach, logs and port-forward with real containers."""

# ruff: noqa: ASYNC240 (tests read small files on the event loop; nothing else runs on it)

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from runtime_helpers import container, output, start

from pilothouse.runtime.errors import ExecTimeout
from pilothouse.runtime.logrotation import ContainerLogManager, rotated_logs
from pilothouse.runtime.logs import LogOptions, parse_entry, read_logs
from pilothouse.runtime.oci.runtime import LocalRuntime

CRI_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|\+00:00) (stdout|stderr) (F|P) ")


async def test_exec_sync_returns_output_and_exit_code_and_kills_on_timeout(runtime: LocalRuntime) -> None:
    _, container_id = await start(runtime, container("sleep", "300"))

    response = await runtime.exec_sync(container_id, ["sh", "-c", "echo out; echo err >&2; exit 4"], timeout=10)
    started = time.monotonic()
    with pytest.raises(ExecTimeout):
        await runtime.exec_sync(container_id, ["sleep", "60"], timeout=0.5)
    elapsed = time.monotonic() - started

    assert (response.stdout, response.stderr, response.exit_code) == (b"out\n", b"err\n", 4)
    assert elapsed < 30
    assert "sleep 60" not in await output(runtime, container_id, "ps", "-o", "args")


async def test_exec_streams_stdin_and_output_without_a_tty(runtime: LocalRuntime) -> None:
    _, container_id = await start(runtime, container("sleep", "300"))

    session = await runtime.exec(container_id, ["sh", "-c", "cat; echo bye >&2; exit 2"], stdin=True)
    await session.write_stdin(b"hello\n")
    await session.close_stdin()
    assert session.stdout is not None and session.stderr is not None
    out, err, code = await asyncio.gather(session.stdout.read(), session.stderr.read(), session.wait())

    assert (out, err, code) == (b"hello\n", b"bye\n", 2)


async def test_exec_with_a_tty_can_be_resized(runtime: LocalRuntime) -> None:
    _, container_id = await start(runtime, container("sleep", "300"))

    session = await runtime.exec(container_id, ["sh"], tty=True, stdin=True)
    await session.resize(width=91, height=17)
    # With runc the new size reaches the container's terminal asynchronously.
    await session.write_stdin(b'until [ "$(stty size)" = "17 91" ]; do sleep 0.01; done; tty; stty size; exit 6\n')
    assert session.stdout is not None and session.stderr is None
    out = await session.stdout.read()
    code = await session.wait()

    assert b"/dev/pts/" in out and b"17 91" in out
    assert code == 6


async def test_attach_connects_to_the_containers_stdio(runtime: LocalRuntime) -> None:
    script = "read line; echo got $line; echo problem >&2; exit 9"
    _, container_id = await start(runtime, container("sh", "-c", script, stdin=True))

    session = await runtime.attach(container_id, stdin=True)
    await session.write_stdin(b"ping\n")
    assert session.stdout is not None and session.stderr is not None
    out, err, code = await asyncio.gather(session.stdout.read(), session.stderr.read(), session.wait())

    assert (out, err, code) == (b"got ping\n", b"problem\n", 9)


async def test_logs_are_written_in_the_cri_format(runtime: LocalRuntime) -> None:
    _, container_id = await start(runtime, container("sh", "-c", "echo one; printf part; echo two >&2"))
    await runtime.wait_container(container_id)
    path = Path((await runtime.container_status(container_id)).log_path)

    lines = path.read_bytes().splitlines()
    entries = [parse_entry(line) for line in lines]
    shown = [(stream, data) async for stream, data in read_logs(path, LogOptions())]

    assert all(CRI_LINE.match(line) for line in lines)
    assert [(e.stream, e.partial, e.content) for e in entries] == [
        ("stdout", False, b"one"),
        ("stdout", True, b"part"),
        ("stderr", False, b"two"),
    ]
    assert shown == [("stdout", b"one\n"), ("stderr", b"two\n")]


async def test_logs_rotate_by_size_and_the_container_keeps_logging(runtime: LocalRuntime) -> None:
    script = "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.01; done"
    _, container_id = await start(runtime, container("sh", "-c", script))
    path = Path((await runtime.container_status(container_id)).log_path)
    manager = ContainerLogManager(runtime, max_size=2000, max_files=3)

    rotations = 0
    while rotations < 3:
        await _until(lambda: path.exists() and path.stat().st_size >= 2000)
        rotations += len(await manager.rotate_once())
    await _until(lambda: path.exists() and path.stat().st_size > 0)

    kept = rotated_logs(path)
    assert len(kept) == 2
    numbers = [int(e.content.split()[1]) for f in [*kept, path] for e in map(parse_entry, f.read_bytes().splitlines())]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # nothing lost between files


async def test_follow_ends_when_the_container_exits(runtime: LocalRuntime) -> None:
    _, container_id = await start(runtime, container("sh", "-c", "echo first; sleep 0.3; echo last"))
    path = Path((await runtime.container_status(container_id)).log_path)

    def running() -> bool:
        return runtime.containers.load(container_id).finished_at == 0

    shown = [data async for _, data in read_logs(path, LogOptions(follow=True), running=running)]

    assert shown == [b"first\n", b"last\n"]


async def test_port_forward_reaches_the_sandboxs_loopback(runtime: LocalRuntime) -> None:
    server = "while true; do echo hello from the pod | nc -l -p 8080; done"
    sandbox_id, container_id = await start(runtime, container("sh", "-c", server))

    for _ in range(400):
        try:
            reader, writer = await runtime.port_forward(sandbox_id, 8080)
        except ConnectionRefusedError:
            await asyncio.sleep(0.01)
            continue
        answer = await reader.read()
        writer.close()
        if answer:
            break
    assert answer == b"hello from the pod\n"


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")
