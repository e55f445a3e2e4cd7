"""Network namespaces pinned to a file, made and entered without running any program.

A sandbox's network namespace is created before its infra process, pinned by a bind mount
of the namespace onto a file, so that the pod network can be set up on it first and torn
down after the infra process is gone (as containerd and CRI-O do). Loopback is brought up
at once, so a sandbox without a pod network still has a working ``lo``.

Namespace changes happen on a dedicated short-lived thread: a thread's network namespace is
its own, so the rest of the process never leaves the host's.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .syscalls import CLONE_NEWNET, MNT_DETACH, MS_BIND, mount, setns, umount, unshare

T = TypeVar("T")

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def create(path: Path) -> None:
    """Creates a network namespace with ``lo`` up, pinned at ``path``."""
    path.touch(mode=0o444, exist_ok=False)
    try:
        _on_thread(lambda: _create_here(path))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def remove(path: Path) -> None:
    """Unpins and deletes ``path``; the namespace goes when nothing else holds it."""
    try:
        umount(str(path), MNT_DETACH)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    path.unlink(missing_ok=True)


def run_inside(path: Path, function: Callable[[], T]) -> T:
    """Calls ``function`` on a thread that is in the network namespace at ``path``."""

    def entered() -> T:
        with open(path, "rb") as target:
            setns(target.fileno(), CLONE_NEWNET)
        return function()

    return _on_thread(entered)


def connect_socket(path: Path, family: int = socket.AF_INET) -> socket.socket:
    """An unconnected TCP socket that belongs to the namespace at ``path``."""
    return run_inside(path, lambda: socket.socket(family, socket.SOCK_STREAM))


def _create_here(path: Path) -> None:
    unshare(CLONE_NEWNET)
    mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", str(path), None, MS_BIND)
    _loopback_up()


def _loopback_up() -> None:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _on_thread(function: Callable[[], T]) -> T:
    """Runs ``function`` on a new thread that ends with it, and returns its result."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            outcome.append(function())
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=body, name="netns")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
