"""subPath mounts that cannot escape their volume, as the kubelet's subpath package makes them.

A container that can write to a volume can turn any directory in it into a symbolic link to
``/``; if the runtime then bind-mounted ``<volume>/<subPath>`` it would follow the link and
hand the host to the container. So, as upstream:

1. a missing subPath is created inside the volume directory by directory with mkdirat() and
   openat(O_NOFOLLOW), with the mode of the volume root;
2. the subPath is resolved once, must lie inside the (resolved) volume, and is then opened
   component by component with openat(O_PATH|O_NOFOLLOW): any symbolic link met on the way
   is refused;
3. the opened file (``/proc/self/fd/N``, which no one can redirect) is bind-mounted on
   ``volume-subpaths/<volume>/<container>/<index>``, and that is what the container gets.

A target already mounted from the same file is reused (a restarted container gets the same
file); these mounts stay until the pod's teardown. A subPath of a configMap or secret
volume is a snapshot: later updates of the volume do not reach it, as upstream.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pilothouse.kubelet.volumes.mounter import Mounter

_OPEN_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class SubPathError(Exception):
    """Why a subPath cannot be used; detailed, so for logs rather than for the user."""


def make_subpath_dir(volume_path: Path, sub_path: str) -> None:
    """Create ``sub_path`` inside the volume (mode of the volume root) unless it exists."""
    base = os.path.realpath(volume_path)
    wanted = os.path.join(base, sub_path)
    if os.path.exists(wanted):
        return  # a file or directory: bind_subpath checks where it really is
    existing, to_create = _existing_prefix(base, wanted)
    resolved = os.path.realpath(existing, strict=True)
    if not within(resolved, base):
        raise SubPathError(f"path {resolved} is outside of allowed base {base}")
    mode = os.stat(base).st_mode & 0o777
    fd = safe_open(resolved, base)
    try:
        for name in to_create:
            os.mkdir(name, mode, dir_fd=fd)
            child = os.open(name, _OPEN_DIR, dir_fd=fd)
            os.close(fd)
            fd = child
            os.fchmod(fd, mode)  # mkdirat applied the umask
    finally:
        os.close(fd)


def bind_subpath(mounter: Mounter, volume_path: Path, sub_path: str, target: Path) -> Path:
    """Bind the file or directory at ``sub_path`` of the volume onto ``target``."""
    base = os.path.realpath(volume_path)
    try:
        resolved = os.path.realpath(os.path.join(base, sub_path), strict=True)
    except OSError as error:
        raise SubPathError(f"error resolving symlinks in {sub_path}: {error}") from None
    fd = safe_open(resolved, base)
    try:
        if mounter.is_mount_point(target):
            if _same_file(fd, target):
                return target
            mounter.unmount(target)
        target.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            target.mkdir(mode=0o750, exist_ok=True)
        else:
            # A file target takes any non-directory: the bind gives it the source's type.
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o640))
        mounter.bind(f"/proc/self/fd/{fd}", target)
        return target
    finally:
        os.close(fd)


def safe_open(path: str, base: str) -> int:
    """An O_PATH descriptor of ``path``, reached from ``base`` without following any link."""
    if not within(path, base):
        raise SubPathError(f"path {path} is outside of allowed base {base}")
    relative = os.path.relpath(path, base)
    fd = os.open(base, _OPEN_DIR)
    current = base
    try:
        for name in [] if relative == "." else relative.split("/"):
            current = os.path.join(current, name)
            child = os.open(name, _OPEN_PATH, dir_fd=fd)
            os.close(fd)
            fd = child
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise SubPathError(f"unexpected symlink found {current}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def within(path: str, base: str) -> bool:
    relative = os.path.relpath(path, base)
    return relative != ".." and not relative.startswith("../")


def _existing_prefix(base: str, wanted: str) -> tuple[str, list[str]]:
    """The deepest existing directory on the way to ``wanted``, and the names still missing."""
    names = os.path.relpath(wanted, base).split("/")
    current = base
    for index, name in enumerate(names):
        candidate = os.path.join(current, name)
        if not os.path.exists(candidate):
            return current, names[index:]
        current = candidate
    return current, []


def _same_file(fd: int, target: Path) -> bool:
    source, mounted = os.fstat(fd), os.stat(target)
    return (source.st_dev, source.st_ino) == (mounted.st_dev, mounted.st_ino)
