"""Namespaces pinned to files, made and entered without running any program.

A sandbox's network, IPC and UTS namespaces are created before any of its containers and
pinned by bind mounts of the namespaces onto files, as CRI-O's ``pinns`` does: the pod
network can be set up before the first container and torn down after the last, and the
namespaces do not depend on a process staying alive. The UTS namespace gets the sandbox's
hostname and the network namespace a working loopback interface at once.

Namespace changes happen on a dedicated short-lived thread: a thread's namespaces are its
own, so the rest of the process never leaves the host's.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from .syscalls import MNT_DETACH, MS_BIND, mount, sethostname, setns, umount, unshare

T = TypeVar("T")

CLONE_FLAGS = {"net": 0x40000000, "ipc": 0x08000000, "uts": 0x04000000}
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def pin(paths: Mapping[str, Path], *, hostname: str = "") -> None:
    """Creates new namespaces of the kinds in ``paths`` ("net", "ipc", "uts"), pinned there."""
    for path in paths.values():
        path.touch(mode=0o444, exist_ok=False)
    try:
        _on_thread(lambda: _create_here(paths, hostname))
    except BaseException:
        for path in paths.values():
            unpin(path)
        raise


def unpin(path: Path) -> None:
    """Unpins and deletes ``path``; the namespace goes when nothing else holds it."""
    try:
        umount(str(path), MNT_DETACH)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    path.unlink(missing_ok=True)


def run_inside(netns: Path, function: Callable[[], T]) -> T:
    """Calls ``function`` on a thread that is in the network namespace pinned at ``netns``."""

    def entered() -> T:
        with open(netns, "rb") as target:
            setns(target.fileno(), CLONE_FLAGS["net"])
        return function()

    return _on_thread(entered)


def connect_socket(netns: Path, family: int = socket.AF_INET) -> socket.socket:
    """An unconnected TCP socket that belongs to the network namespace pinned at ``netns``."""
    return run_inside(netns, lambda: socket.socket(family, socket.SOCK_STREAM))


def _create_here(paths: Mapping[str, Path], hostname: str) -> None:
    flags = 0
    for kind in paths:
        flags |= CLONE_FLAGS[kind]
    unshare(flags)
    for kind, path in paths.items():
        mount(f"/proc/self/task/{threading.get_native_id()}/ns/{kind}", str(path), None, MS_BIND)
    if "uts" in paths and hostname:
        sethostname(hostname)
    if "net" in paths:
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

    thread = threading.Thread(target=body, name="namespaces")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def is_pinned(path: Path) -> bool:
    """Whether a namespace is still pinned at ``path`` (after a reboot only the file is left)."""
    try:
        return path.stat().st_dev != path.parent.stat().st_dev
    except FileNotFoundError:
        return False
