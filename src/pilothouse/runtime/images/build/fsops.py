"""Filesystem operations inside a build step's root filesystem, never outside it.

Container paths are resolved as if the root filesystem were ``/``: symlinks are followed
(an absolute target starts again at the root, ``..`` stops at it), so ``COPY x /bin/`` lands in
``/usr/bin`` when ``/bin`` links there, and no link can lead a write onto the host. The last
component of a path being written is never followed: an existing symlink there is replaced.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from pathlib import Path

from ..errors import BuildError

MAX_SYMLINKS = 40


def resolve_in_root(root: Path, path: str, *, follow_final: bool = True) -> Path:
    """The host path of container path ``path`` under ``root``."""
    pending = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if (pending or follow_final) and candidate.is_symlink():
            links += 1
            if links > MAX_SYMLINKS:
                raise BuildError(f"{path}: too many levels of symbolic links")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def make_dirs(root: Path, path: str, *, owner: tuple[int, int] | None = None) -> Path:
    """``mkdir -p`` of container path ``path``; new directories are 0755 and get ``owner``."""
    current = "/"
    for part in [p for p in path.split("/") if p not in ("", ".")]:
        current = f"{current.rstrip('/')}/{part}"
        target = resolve_in_root(root, current)
        if target.is_dir():
            continue
        if target.exists() or target.is_symlink():
            raise BuildError(f"cannot create directory {current}: a file is in the way")
        target.mkdir(mode=0o755)
        os.chmod(target, 0o755)
        if owner is not None:
            os.lchown(target, *owner)
    return resolve_in_root(root, path)


def copy_into_root(
    source: Path, root: Path, dest: str, *, owner: tuple[int, int] | None, keep_owner: bool = False
) -> None:
    """Copies the host file or tree ``source`` to container path ``dest`` (a tree's contents
    go into ``dest``). Files get ``owner``, else their own owner with ``keep_owner``, else root."""
    st = os.lstat(source)
    if stat.S_ISDIR(st.st_mode):
        target = resolve_in_root(root, dest)
        if not target.is_dir():
            make_dirs(root, dest, owner=owner)
            _set_metadata(target, st, owner, keep_owner)
        with os.scandir(source) as entries:
            children = sorted(entry.name for entry in entries)
        for name in children:
            copy_into_root(source / name, root, f"{dest.rstrip('/')}/{name}", owner=owner, keep_owner=keep_owner)
        return
    make_dirs(root, posixpath.dirname(dest.rstrip("/")) or "/", owner=owner)
    target = resolve_in_root(root, dest, follow_final=False)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISREG(st.st_mode):
        _copy_file(source, target)
    else:
        raise BuildError(f"cannot copy {source}: not a file, directory or symlink")
    _set_metadata(target, st, owner, keep_owner)


def _copy_file(source: Path, target: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(source, "rb") as src, os.fdopen(os.open(target, flags, 0o600), "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _set_metadata(target: Path, st: os.stat_result, owner: tuple[int, int] | None, keep_owner: bool) -> None:
    uid, gid = owner if owner is not None else ((st.st_uid, st.st_gid) if keep_owner else (0, 0))
    os.lchown(target, uid, gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(target, stat.S_IMODE(st.st_mode))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
