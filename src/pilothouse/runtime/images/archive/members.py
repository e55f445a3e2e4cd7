"""Reading and writing the members of an image archive."""

from __future__ import annotations

import io
import posixpath
import tarfile
from typing import IO

from ..errors import InvalidImage

JSON_LIMIT = 64 << 20


class ArchiveReader:
    """Members of a tar archive by normalised name (``./a/b`` and ``a/b`` are the same)."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self._members = {
            posixpath.normpath(m.name.lstrip("/")): m for m in tar.getmembers() if m.isreg() or m.islnk()
        }

    def has(self, name: str) -> bool:
        return posixpath.normpath(name) in self._members

    def open(self, name: str) -> IO[bytes]:
        member = self._members.get(posixpath.normpath(name.lstrip("/")))
        if member is None:
            raise InvalidImage(f"archive has no {name!r}")
        data = self.tar.extractfile(member)
        if data is None:
            raise InvalidImage(f"archive member {name!r} is not a file")
        return data

    def read(self, name: str) -> bytes:
        with self.open(name) as data:
            content = data.read(JSON_LIMIT + 1)
        if len(content) > JSON_LIMIT:
            raise InvalidImage(f"archive member {name!r} is too large")
        return content


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def add_file(tar: tarfile.TarFile, name: str, source: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    tar.addfile(info, source)
