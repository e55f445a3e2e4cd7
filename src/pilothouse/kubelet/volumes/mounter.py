"""Mounts on the node: tmpfs for memory-backed volumes, binds for subPaths.

``LinuxMounter`` calls mount(2) and umount2(2) directly (no ``mount`` process per volume) and
reads ``/proc/self/mountinfo`` to find what is mounted, so mounts left by an agent that was
killed are found again by path alone. Unmounting never follows a symbolic link (a container
could have planted one), and a busy mount is detached lazily rather than left behind.

``Mounter`` is the protocol the volume manager needs; tests give it a fake that records calls.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path
from typing import Protocol

_MS_BIND = 0x1000
_MNT_DETACH = 0x2
_UMOUNT_NOFOLLOW = 0x8
_MOUNTINFO = Path("/proc/self/mountinfo")


class Mounter(Protocol):
    def mount_tmpfs(self, target: Path, *, size: int | None) -> None:
        """A tmpfs on ``target``; ``size`` in bytes, None for the kernel's default (half of RAM)."""

    def bind(self, source: str, target: Path) -> None:
        """Bind ``source`` (a path or ``/proc/self/fd/N``) onto ``target``."""

    def unmount(self, target: Path) -> None:
        """Unmount ``target``; nothing happens when it is not a mount point."""

    def mount_points_under(self, directory: Path) -> list[Path]:
        """Mount points at or below ``directory``, in the order they must be unmounted."""

    def is_mount_point(self, path: Path) -> bool: ...


class LinuxMounter:
    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)

    def mount_tmpfs(self, target: Path, *, size: int | None) -> None:
        options = f"size={size}" if size else None
        self._mount("tmpfs", target, "tmpfs", 0, options)

    def bind(self, source: str, target: Path) -> None:
        self._mount(source, target, None, _MS_BIND, None)

    def unmount(self, target: Path) -> None:
        for flags in (_UMOUNT_NOFOLLOW, _UMOUNT_NOFOLLOW | _MNT_DETACH):
            if self._libc.umount2(os.fsencode(target), flags) == 0:
                return
            code = ctypes.get_errno()
            if code in (errno.EINVAL, errno.ENOENT):
                return  # not (or no longer) a mount point
            if code != errno.EBUSY:
                raise OSError(code, f"unmount {target}: {os.strerror(code)}")
        raise OSError(errno.EBUSY, f"unmount {target}: {os.strerror(errno.EBUSY)}")

    def mount_points_under(self, directory: Path) -> list[Path]:
        root = os.path.realpath(directory)
        prefix = root.rstrip("/") + "/"
        found = [p for p in mount_points() if p == root or p.startswith(prefix)]
        # mountinfo lists a mount after the one it sits on: undo them newest first.
        return [Path(p) for p in reversed(found)]

    def is_mount_point(self, path: Path) -> bool:
        return os.path.realpath(path) in mount_points()

    def _mount(self, source: str, target: Path, fstype: str | None, flags: int,
               data: str | None) -> None:
        result = self._libc.mount(
            os.fsencode(source), os.fsencode(target),
            fstype.encode() if fstype else None, ctypes.c_ulong(flags),
            data.encode() if data else None,
        )
        if result != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"mount {source} on {target}: {os.strerror(code)}")


def mount_points() -> list[str]:
    """The mount points of this process's mount namespace, in mountinfo order."""
    points = []
    for line in _MOUNTINFO.read_text().splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.append(_unescape(fields[4]))
    return points


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in paths as octal escapes.
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
