"""Processes known by pid *and* start time, so that a reused pid is never mistaken for them.

Waiting for a process that is not our child uses a pidfd, which becomes readable when the
process exits: no polling, and it works for monitors started by an earlier runtime process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    start_time: int  # clock ticks after boot, field 22 of /proc/<pid>/stat

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        """The process with ``pid`` now, or None if there is none."""
        stat = _stat(pid)
        return None if stat is None else cls(pid, stat[1])

    @classmethod
    def current(cls) -> ProcessRef:
        ref = cls.of(os.getpid())
        assert ref is not None
        return ref

    def alive(self) -> bool:
        stat = _stat(self.pid)
        return stat is not None and stat[1] == self.start_time and stat[0] not in ("Z", "X")

    async def wait(self) -> None:
        """Waits until the process exits."""
        try:
            pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return
        try:
            if not self.alive():
                return
            loop = asyncio.get_running_loop()
            exited: asyncio.Future[None] = loop.create_future()
            loop.add_reader(pidfd, resolve, exited)
            try:
                await exited
            finally:
                loop.remove_reader(pidfd)
        finally:
            os.close(pidfd)


def resolve(future: asyncio.Future[None]) -> None:
    """Resolves ``future`` unless it already is: a file descriptor can be ready again before
    its callback is removed."""
    if not future.done():
        future.set_result(None)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of ``pid``, or None."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
        fields = text[text.rindex(b")") + 2 :].split()
        return fields[0].decode(), int(fields[19])
    return None
