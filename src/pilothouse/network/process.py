"""Child processes for the network code (CNI plugins, nft, ip netns), kept off the event loop.

Guarantees: every command runs as an asyncio subprocess with a deadline; a command that
outlives its deadline, or whose caller is cancelled, is killed and reaped before control
returns, so no plugin or nft process is ever left running behind the caller's back.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Where Debian keeps ip, nft and iptables (which portmap runs), even when the caller's PATH
# is a user's without the sbin directories.
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class CommandTimeout(Exception):
    """The command did not finish within its deadline and was killed."""


class CommandFailed(Exception):
    """The command exited with a non-zero status."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: bytes):
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr.decode(errors="replace").strip()
        super().__init__(f"{' '.join(self.argv)}: exit {returncode}: {self.stderr}")


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes


def search_path() -> str:
    """The caller's PATH followed by the system directories it lacks."""
    entries = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    return os.pathsep.join([*entries, *(d for d in SYSTEM_PATH if d not in entries)])


async def run(
    argv: Sequence[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    time_limit: float,
) -> Completed:
    """Runs ``argv`` to completion and returns its exit status and output, whatever it is."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else None,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), time_limit)
    except TimeoutError:
        await _kill(process)
        raise CommandTimeout(f"{argv[0]} did not finish within {time_limit:g}s") from None
    except asyncio.CancelledError:
        await _kill(process)
        raise
    assert process.returncode is not None
    return Completed(tuple(argv), process.returncode, stdout, stderr)


async def check_output(
    argv: Sequence[str], *, stdin: bytes | None = None, time_limit: float = 30.0
) -> bytes:
    """Runs ``argv`` and returns its stdout; raises CommandFailed on a non-zero exit."""
    completed = await run(argv, stdin=stdin, time_limit=time_limit)
    if completed.returncode != 0:
        raise CommandFailed(argv, completed.returncode, completed.stderr)
    return completed.stdout


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass
    # Shielded so that a second cancellation cannot leave a zombie behind.
    await asyncio.shield(process.wait())
