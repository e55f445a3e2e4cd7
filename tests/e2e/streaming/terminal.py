"""Running kubectl on a pseudo-terminal, as a user at a terminal does (``-t`` needs one)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

from cluster import ServerProcess, kubectl_binary


def run_in_terminal(
    server: ServerProcess, version: str, args: list[str], *, typed: bytes, columns: int, rows: int,
    timeout: float = 60,
) -> tuple[str, int]:
    """Runs kubectl with ``args`` on a new terminal of the given size, types ``typed``, and
    returns what the terminal showed and kubectl's exit code."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {"KUBECONFIG": str(server.kubeconfig), "PATH": "/usr/bin:/bin", "TERM": "xterm",
           "KUBECACHEDIR": str(server.data_dir.parent / f"kube-cache-{version}")}
    process = subprocess.Popen([kubectl_binary(version), *args], stdin=slave, stdout=slave, stderr=slave,
                               env=env, start_new_session=True)
    os.close(slave)
    try:
        os.write(master, typed)
        shown = _read_until_closed(master, time.monotonic() + timeout)
        return shown.decode(errors="replace"), process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def _read_until_closed(master: int, deadline: float) -> bytes:
    shown = b""
    while time.monotonic() < deadline:
        readable, _, _ = select.select([master], [], [], 0.1)
        if not readable:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    return shown
