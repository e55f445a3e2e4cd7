"""Mounting and unmounting overlayfs, by system call (no ``mount`` process per container).

Lower layers are given bottom first and passed to the kernel top first, as overlayfs wants.
The classic ``mount(2)`` takes all options in one page; deeper images are mounted with the
new mount API (``fsopen``/``fsconfig`` with ``lowerdir+``, Linux 6.8+), which takes the
layers one by one. Snapshots are mounted with ``redirect_dir``, ``index`` and ``metacopy``
off, so that an upper directory always holds plain copies and whiteouts and can be turned
into a layer tar.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence
from pathlib import Path

from .errors import SnapshotError

PAGE_LIMIT = os.sysconf("SC_PAGE_SIZE") - 1
OVERLAY_OPTIONS = ("redirect_dir=off", "index=off", "metacopy=off")

MNT_DETACH = 2
SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 429, 430, 431, 432
FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 1, 6
FSMOUNT_CLOEXEC = 1
MOVE_MOUNT_F_EMPTY_PATH = 4
AT_FDCWD = -100

_libc = ctypes.CDLL(None, use_errno=True)


def mount_overlay(lower: Sequence[Path], *, upper: Path, work: Path, target: Path) -> None:
    """Mounts ``lower`` (bottom first) with ``upper`` on ``target``."""
    for path in (*lower, upper, work, target):
        if any(c in str(path) for c in ",:"):
            raise SnapshotError(f"overlay path {path} contains ',' or ':'")
    top_first = [str(p) for p in reversed(lower)]
    common = [f"upperdir={upper}", f"workdir={work}", *OVERLAY_OPTIONS]
    data = ",".join([f"lowerdir={':'.join(top_first)}", *common])
    if len(data) > PAGE_LIMIT:
        _mount_layer_by_layer(top_first, common, target)
        return
    if _libc.mount(b"overlay", os.fsencode(target), b"overlay", 0, data.encode()) == 0:
        return
    if ctypes.get_errno() != errno.EINVAL:
        _check(-1, target)
    # Kernels older than 4.19 know neither metacopy nor, before 4.13, index: they are off there.
    basic = ",".join([f"lowerdir={':'.join(top_first)}", f"upperdir={upper}", f"workdir={work}"])
    _check(_libc.mount(b"overlay", os.fsencode(target), b"overlay", 0, basic.encode()), target)


def _mount_layer_by_layer(top_first: list[str], options: list[str], target: Path) -> None:
    fs_fd = _libc.syscall(SYS_FSOPEN, b"overlay", 1)
    _check(fs_fd, target)
    try:
        settings = [("source", "overlay")] + [("lowerdir+", p) for p in top_first]
        settings += [tuple(o.split("=", 1)) for o in options]  # type: ignore[misc]
        for key, value in settings:
            result = _libc.syscall(SYS_FSCONFIG, fs_fd, FSCONFIG_SET_STRING, key.encode(), value.encode(), 0)
            _check(result, target)
        _check(_libc.syscall(SYS_FSCONFIG, fs_fd, FSCONFIG_CMD_CREATE, None, None, 0), target)
        mount_fd = _libc.syscall(SYS_FSMOUNT, fs_fd, FSMOUNT_CLOEXEC, 0)
        _check(mount_fd, target)
        try:
            moved = _libc.syscall(
                SYS_MOVE_MOUNT, mount_fd, b"", AT_FDCWD, os.fsencode(target), MOVE_MOUNT_F_EMPTY_PATH
            )
            _check(moved, target)
        finally:
            os.close(mount_fd)
    finally:
        os.close(fs_fd)


def unmount(target: Path) -> None:
    """Unmounts ``target``; lazily if it is busy; nothing if it is not mounted."""
    if _libc.umount2(os.fsencode(target), 0) == 0:
        return
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOENT):
        return
    if error == errno.EBUSY and _libc.umount2(os.fsencode(target), MNT_DETACH) == 0:
        return
    raise SnapshotError(f"cannot unmount {target}: {os.strerror(ctypes.get_errno())}")


def is_mounted(target: Path) -> bool:
    return os.path.ismount(target)


def _check(result: int, target: Path) -> None:
    if result < 0:
        error = ctypes.get_errno()
        raise SnapshotError(f"cannot mount overlay on {target}: {os.strerror(error)}")
