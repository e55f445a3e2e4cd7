"""Applying a layer tar to an empty directory in the form overlayfs reads as a lower layer.

Guarantees:

- Whiteouts become overlayfs whiteouts: ``dir/.wh.name`` a character device 0/0 at
  ``dir/name``; ``dir/.wh..wh..opq`` the ``trusted.overlay.opaque=y`` xattr on ``dir``. Other
  ``.wh..wh.`` entries (aufs bookkeeping) are dropped.
- Regular files, directories, symlinks, hard links (within the layer), device nodes and FIFOs
  are created with the tar's mode (including setuid/setgid/sticky), numeric owner, mtime and
  ``SCHILY.xattr`` extended attributes; ``trusted.overlay.*`` xattrs from a tar are refused
  silently, since they would steer overlayfs.
- Nothing is written outside the destination: absolute names are made relative, ``..`` and
  paths through a symlink or a file are rejected (:class:`LayerError`), final components are
  opened with ``O_NOFOLLOW``.
- The sha256 of the whole uncompressed stream (the layer's diff id) is computed on the way.

Ownership and device nodes need root; unprivileged callers keep their own uid (the layer is
then only good for tests), as rootless container engines do.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .errors import LayerError

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
WHITEOUT_META_PREFIX = ".wh..wh."
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
OVERLAY_XATTR_PREFIX = "trusted.overlay."
PAX_XATTR_PREFIX = "SCHILY.xattr."
COPY_BUFFER = 1 << 20
TAR_BUFFER = 64 << 10  # bigger reads, but small enough that per-header buffer slicing stays cheap


class HashingReader:
    """Reads through ``source`` while hashing every byte, so the digest covers the padding."""

    def __init__(self, source: BinaryIO):
        self._source = source
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(COPY_BUFFER):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


@dataclass
class UnpackResult:
    diff_id: str  # sha256 of the uncompressed tar
    size: int  # bytes of regular file content


@dataclass
class _DirMetadata:
    path: str
    mode: int
    mtime_ns: int


@dataclass
class _Unpacker:
    root: str
    privileged: bool
    whiteouts: bool = True  # a layer (OCI whiteouts) rather than a plain archive (ADD)
    owner: tuple[int, int] | None = None  # everything owned by this, not the tar's owners
    known_dirs: set[str] = field(default_factory=set)
    deferred_dirs: list[_DirMetadata] = field(default_factory=list)
    content_size: int = 0

    def apply(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = _clean_name(member.name)
        if name == "." or (self.whiteouts and _is_aufs_metadata(name)):
            return
        parent, base = posixpath.split(name)
        if self.whiteouts and base.startswith(WHITEOUT_PREFIX):
            self._apply_whiteout(parent, base)
            return
        self._ensure_parent(parent, member.name)
        path = self._abs(name)
        self._clear_for(path, name, member)
        if member.isdir():
            self._make_dir(path, name, member)
        elif member.isreg():
            self._make_file(tar, member, path)
        elif member.issym():
            os.symlink(member.linkname, path)
            self._set_owner(path, member)
            self._set_xattrs(path, member)
            os.utime(path, ns=(_mtime_ns(member),) * 2, follow_symlinks=False)
        elif member.islnk():
            target = _clean_name(member.linkname)
            if target == ".":
                raise LayerError(f"hard link {member.name!r} points at the layer root")
            self._ensure_parent(posixpath.dirname(target), member.linkname)
            try:
                os.link(self._abs(target), path, follow_symlinks=False)
            except FileNotFoundError:
                raise LayerError(
                    f"hard link {member.name!r} points at {member.linkname!r}, "
                    "which is not in this layer"
                ) from None
        elif member.ischr() or member.isblk() or member.isfifo():
            self._make_node(path, member)
        else:
            raise LayerError(f"unsupported tar entry type {member.type!r} for {member.name!r}")

    def finish(self) -> None:
        # Directory modes and times last: children created later would bump the mtime, and
        # an unprivileged unpacker could not write into a read-only directory.
        for meta in reversed(self.deferred_dirs):
            os.chmod(meta.path, meta.mode)
            os.utime(meta.path, ns=(meta.mtime_ns, meta.mtime_ns), follow_symlinks=False)

    def _abs(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _ensure_parent(self, parent: str, entry: str) -> None:
        if parent in ("", ".") or parent in self.known_dirs:
            return
        prefix = ""
        for component in parent.split("/"):
            prefix = f"{prefix}/{component}" if prefix else component
            if prefix in self.known_dirs:
                continue
            path = self._abs(prefix)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                os.mkdir(path, 0o755)
            else:
                if not stat.S_ISDIR(mode):
                    raise LayerError(
                        f"layer entry {entry!r} goes through {prefix!r}, which is not a directory"
                    )
            self.known_dirs.add(prefix)

    def _clear_for(self, path: str, name: str, member: tarfile.TarInfo) -> None:
        try:
            existing = os.lstat(path).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISDIR(existing):
            if member.isdir():
                return
            shutil.rmtree(path)
            self.known_dirs = {d for d in self.known_dirs if d != name and not d.startswith(name + "/")}
        else:
            os.unlink(path)

    def _apply_whiteout(self, parent: str, base: str) -> None:
        self._ensure_parent(parent, posixpath.join(parent, base))
        if base == OPAQUE_WHITEOUT:
            os.setxattr(self._abs(parent or "."), OVERLAY_OPAQUE_XATTR, b"y")
            return
        hidden = posixpath.join(parent, base[len(WHITEOUT_PREFIX) :])
        path = self._abs(hidden)
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        try:
            os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        except PermissionError:
            raise LayerError(f"cannot create the whiteout for {hidden!r}: needs root") from None

    def _make_dir(self, path: str, name: str, member: tarfile.TarInfo) -> None:
        if not os.path.isdir(path):
            os.mkdir(path, 0o700)
        self.known_dirs.add(name)
        self._set_owner(path, member)
        self._set_xattrs(path, member)
        self.deferred_dirs.append(_DirMetadata(path, member.mode & 0o7777, _mtime_ns(member)))

    def _make_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as out:
            data = tar.extractfile(member)
            if data is not None:
                shutil.copyfileobj(data, out, COPY_BUFFER)
        self.content_size += member.size
        self._set_owner(path, member)
        os.chmod(path, member.mode & 0o7777)
        self._set_xattrs(path, member)
        os.utime(path, ns=(_mtime_ns(member),) * 2)

    def _make_node(self, path: str, member: tarfile.TarInfo) -> None:
        if member.isfifo():
            os.mkfifo(path, 0o600)
        else:
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            try:
                os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
            except PermissionError:
                raise LayerError(f"cannot create device node {member.name!r}: needs root") from None
        self._set_owner(path, member)
        os.chmod(path, member.mode & 0o7777)
        os.utime(path, ns=(_mtime_ns(member),) * 2)

    def _set_owner(self, path: str, member: tarfile.TarInfo) -> None:
        if self.privileged:
            os.lchown(path, *(self.owner or (member.uid, member.gid)))

    def _set_xattrs(self, path: str, member: tarfile.TarInfo) -> None:
        for key, value in member.pax_headers.items():
            if not key.startswith(PAX_XATTR_PREFIX):
                continue
            attribute = key[len(PAX_XATTR_PREFIX) :]
            if attribute.startswith(OVERLAY_XATTR_PREFIX):
                continue
            raw = value.encode("utf-8", "surrogateescape")
            try:
                os.setxattr(path, attribute, raw, follow_symlinks=False)
            except PermissionError:
                if self.privileged:
                    raise
            except OSError as e:
                raise LayerError(f"cannot set xattr {attribute} on {member.name!r}: {e}") from None


def _clean_name(name: str) -> str:
    relative = posixpath.normpath(name.lstrip("/") or ".")
    if relative == ".." or relative.startswith("../"):
        raise LayerError(f"layer entry {name!r} points outside the layer")
    return relative


def _is_aufs_metadata(name: str) -> bool:
    return any(
        part.startswith(WHITEOUT_META_PREFIX) and part != OPAQUE_WHITEOUT for part in name.split("/")
    )


def _mtime_ns(member: tarfile.TarInfo) -> int:
    return int(member.mtime * 1_000_000_000)


def apply_layer(stream: BinaryIO, dest: Path) -> UnpackResult:
    """Unpacks the uncompressed layer tar ``stream`` into the empty directory ``dest``."""
    return _apply(stream, _Unpacker(root=str(dest), privileged=os.geteuid() == 0))


def apply_tar(stream: BinaryIO, dest: Path, *, owner: tuple[int, int] | None = None) -> UnpackResult:
    """Extracts a plain tar archive into ``dest`` (ADD): ``.wh.`` names are ordinary files."""
    return _apply(stream, _Unpacker(root=str(dest), privileged=os.geteuid() == 0, whiteouts=False, owner=owner))


def _apply(stream: BinaryIO, unpacker: _Unpacker) -> UnpackResult:
    reader = HashingReader(stream)
    try:
        with tarfile.open(fileobj=reader, mode="r|", errorlevel=2, bufsize=TAR_BUFFER) as tar:  # type: ignore[call-overload]
            for member in tar:
                unpacker.apply(tar, member)
    except tarfile.TarError as e:
        raise LayerError(f"invalid layer tar: {e}") from None
    except EOFError:
        raise LayerError("layer tar is truncated") from None
    reader.drain()
    unpacker.finish()
    return UnpackResult(diff_id=reader.digest, size=unpacker.content_size)
