"""Child processes of the network code: deadlines, failures, the plugins' PATH."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from pilothouse.network.process import (
    CommandFailed,
    CommandTimeout,
    check_output,
    run,
    search_path,
)


async def test_run_returns_status_and_output() -> None:
    completed = await run(["sh", "-c", "cat; echo err >&2; exit 3"], stdin=b"in", time_limit=5)
    assert (completed.returncode, completed.stdout, completed.stderr) == (3, b"in", b"err\n")


async def test_check_output_raises_with_stderr() -> None:
    with pytest.raises(CommandFailed, match="boom") as raised:
        await check_output(["sh", "-c", "echo boom >&2; exit 2"])
    assert raised.value.returncode == 2


async def test_a_command_past_its_deadline_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    with pytest.raises(CommandTimeout):
        await run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"], time_limit=0.3)

    assert not _alive(int(pid_file.read_text()))


async def test_a_cancelled_caller_leaves_no_process_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(
        run(["sh", "-c", f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; exec sleep 30"],
            time_limit=60)
    )
    for _ in range(1000):
        if pid_file.exists():
            break
        await asyncio.sleep(0.01)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert not _alive(int(pid_file.read_text()))


def test_search_path_keeps_the_callers_and_adds_the_system_directories(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/opt/tools/bin:/usr/bin")
    entries = search_path().split(os.pathsep)
    assert entries[:2] == ["/opt/tools/bin", "/usr/bin"]
    assert "/usr/sbin" in entries and entries.count("/usr/bin") == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
