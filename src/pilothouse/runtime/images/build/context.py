"""The build context: the directory COPY and ADD read from, minus ``.dockerignore``.

Sources are paths relative to the context (``..`` may not leave it), with ``*``, ``?`` and
``[...]`` wildcards matched per path component as Go's ``filepath.Match`` does. The content
digest of what a step copies (paths, types, modes and file contents, not timestamps) is part
of its build-cache key, so editing a copied file invalidates the cache and touching it does not.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from ..errors import BuildError
from .fsops import copy_into_root, make_dirs, resolve_in_root
from .ignore import DockerIgnore, pattern_regex

_GLOB_CHARS = re.compile(r"[*?\[]")


class BuildContext:
    def __init__(self, root: Path, ignore: DockerIgnore | None = None):
        self.root = root.resolve()
        self.ignore = ignore if ignore is not None else DockerIgnore.load(self.root)

    def sources(self, pattern: str) -> list[str]:
        """Context-relative paths ``pattern`` names (``.`` is the whole context)."""
        cleaned = posixpath.normpath(pattern.lstrip("/") or ".")
        if cleaned == ".." or cleaned.startswith("../"):
            raise BuildError(f"forbidden path outside the build context: {pattern}")
        if _GLOB_CHARS.search(cleaned):
            regex = re.compile(pattern_regex(cleaned, double_star=False))
            found = sorted(rel for rel in self.walk(".") if regex.match(rel))
        else:
            found = [cleaned] if self._visible(cleaned) else []
        if not found:
            raise BuildError(
                f"file not found in build context or excluded by .dockerignore: {pattern}"
            )
        return found

    def walk(self, relative: str) -> Iterator[str]:
        """Visible paths under directory ``relative`` (not itself), parents before children."""
        base = self.host_path(relative)
        for directory, dirs, files in os.walk(base):
            dirs.sort()
            for name in [*sorted(files), *dirs]:
                rel = os.path.relpath(os.path.join(directory, name), self.root)
                if not self.ignore.ignores(rel):
                    yield rel

    def host_path(self, relative: str) -> Path:
        return self.root / relative if relative != "." else self.root

    def is_dir(self, relative: str) -> bool:
        path = self.host_path(relative)
        return path.is_dir() and not path.is_symlink()

    def digest(self, relatives: list[str]) -> str:
        """A digest of the content of ``relatives`` and everything visible under them."""
        hasher = hashlib.sha256()
        for relative in relatives:
            for rel in [relative, *(self.walk(relative) if self.is_dir(relative) else [])]:
                _hash_entry(hasher, rel, self.host_path(rel))
        return "sha256:" + hasher.hexdigest()

    def copy(self, relative: str, rootfs: Path, dest: str, *, owner: tuple[int, int] | None) -> None:
        """Copies a source to container path ``dest``; a directory's visible contents go in it."""
        if not self.is_dir(relative):
            copy_into_root(self.host_path(relative), rootfs, dest, owner=owner)
            return
        if not resolve_in_root(rootfs, dest).is_dir():
            make_dirs(rootfs, dest, owner=owner or (0, 0))
        prefix = "" if relative == "." else relative + "/"
        for rel in self.walk(relative):
            target = f"{dest.rstrip('/')}/{rel[len(prefix):]}"
            if self.is_dir(rel):
                make_dirs(rootfs, target, owner=owner or (0, 0))
                os.chmod(resolve_in_root(rootfs, target), stat.S_IMODE(os.lstat(self.host_path(rel)).st_mode))
            else:
                copy_into_root(self.host_path(rel), rootfs, target, owner=owner)

    def _visible(self, relative: str) -> bool:
        path = self.host_path(relative)
        if not (path.exists() or path.is_symlink()):
            return False
        return relative == "." or not self.ignore.ignores(relative)


def _hash_entry(hasher: hashlib._Hash, relative: str, path: Path) -> None:
    st = os.lstat(path)
    hasher.update(f"{relative}\0{stat.S_IFMT(st.st_mode)}\0{stat.S_IMODE(st.st_mode)}\0".encode())
    if stat.S_ISLNK(st.st_mode):
        hasher.update(os.readlink(path).encode())
    elif stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                hasher.update(chunk)
    hasher.update(b"\0")
