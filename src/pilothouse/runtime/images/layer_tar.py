"""Writing layer tars: from a directory tree, or from an overlayfs upper directory.

Guarantees:

- Deterministic output for the same tree: entries sorted by name, numeric owners only, PAX
  format, integer mtimes, hard links within the tree written as links to the first name.
- From an overlayfs upper directory (``overlay_upper=True``), overlay whiteouts become OCI
  whiteouts: a character device 0/0 ``dir/name`` becomes an empty ``dir/.wh.name``, a directory
  with ``trusted.overlay.opaque=y`` gets a ``dir/.wh..wh..opq`` entry; overlayfs's own
  ``trusted.overlay.*`` bookkeeping xattrs are left out. Sockets are skipped, as Docker does.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO, Protocol

from .unpack import (
    OPAQUE_WHITEOUT,
    OVERLAY_OPAQUE_XATTR,
    OVERLAY_XATTR_PREFIX,
    PAX_XATTR_PREFIX,
    WHITEOUT_PREFIX,
)


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class LayerTarWriter:
    """A stream of tar entries written to ``sink`` (closed with :meth:`close`)."""

    def __init__(self, sink: Sink):
        # Closed by close(): the writer is fed entry by entry by its owner.
        # (A stream tar only ever calls write() on its file object, hence the ignore.)
        self._tar = tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT)  # type: ignore[call-overload]  # noqa: SIM115
        self._links: dict[tuple[int, int], str] = {}

    def add(self, info: tarfile.TarInfo, data: BinaryIO | None = None) -> None:
        self._tar.addfile(info, data)

    def add_tree(self, root: Path, *, overlay_upper: bool = False) -> None:
        """Adds everything under ``root`` (not ``root`` itself), names relative to it."""
        self._add_children(str(root), "", overlay_upper)

    def close(self) -> None:
        self._tar.close()

    def _add_children(self, directory: str, prefix: str, overlay_upper: bool) -> None:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            self._add_path(os.path.join(directory, name), prefix + name, overlay_upper)

    def _add_path(self, path: str, name: str, overlay_upper: bool) -> None:
        st = os.lstat(path)
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            return
        if overlay_upper and stat.S_ISCHR(mode) and st.st_rdev == 0:
            parent, _, base = name.rpartition("/")
            whiteout = f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base
            self.add(_empty_file(whiteout, st))
            return
        info = _header(name, st, path)
        info.pax_headers = _xattr_headers(path)
        if stat.S_ISREG(mode):
            first = self._links.get((st.st_dev, st.st_ino)) if st.st_nlink > 1 else None
            if first is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = first
                info.size = 0
                self.add(info)
                return
            if st.st_nlink > 1:
                self._links[(st.st_dev, st.st_ino)] = name
            with open(path, "rb") as data:
                self.add(info, data)
            return
        self.add(info)
        if stat.S_ISDIR(mode):
            if overlay_upper and _is_opaque(path):
                self.add(_empty_file(f"{name}/{OPAQUE_WHITEOUT}", st))
            self._add_children(path, name + "/", overlay_upper)


def _header(name: str, st: os.stat_result, path: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    kind = stat.S_IFMT(st.st_mode)
    if kind == stat.S_IFDIR:
        info.type = tarfile.DIRTYPE
    elif kind == stat.S_IFREG:
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif kind == stat.S_IFLNK:
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif kind == stat.S_IFIFO:
        info.type = tarfile.FIFOTYPE
    else:
        info.type = tarfile.CHRTYPE if kind == stat.S_IFCHR else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    return info


def _empty_file(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.REGTYPE
    info.mode = 0
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    return info


def _xattr_headers(path: str) -> dict[str, str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    headers = {}
    for attribute in sorted(names):
        if attribute.startswith(OVERLAY_XATTR_PREFIX):
            continue
        value = os.getxattr(path, attribute, follow_symlinks=False)
        headers[PAX_XATTR_PREFIX + attribute] = value.decode("utf-8", "surrogateescape")
    return headers


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def write_tree_layer(root: Path, sink: Sink, *, overlay_upper: bool = False) -> None:
    """Writes the tree under ``root`` to ``sink`` as one layer tar."""
    writer = LayerTarWriter(sink)
    writer.add_tree(root, overlay_upper=overlay_upper)
    writer.close()
