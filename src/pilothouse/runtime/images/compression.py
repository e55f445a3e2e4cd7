"""Reading layer and archive streams whatever their compression, recognised by magic bytes.

Layers may be gzip (the common case), zstd (decoded by the ``zstd`` command, Debian package
``zstd``), or plain tar; ADD also extracts bzip2 and xz archives, as Docker does. Media types
are not trusted for this: docker-archive layers are often compressed under a plain name.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .errors import LayerError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"


def sniff(source: BinaryIO) -> str:
    """``gzip``, ``zstd``, ``bzip2``, ``xz`` or ``none``; ``source`` must be seekable or
    have ``peek``."""
    if hasattr(source, "seekable") and source.seekable():
        position = source.tell()
        magic = source.read(6)
        source.seek(position)
    else:
        magic = source.peek(6)[:6]  # type: ignore[attr-defined]
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic.startswith(ZSTD_MAGIC):
        return "zstd"
    if magic.startswith(BZIP2_MAGIC):
        return "bzip2"
    if magic.startswith(XZ_MAGIC):
        return "xz"
    return "none"


@contextmanager
def uncompressed(source: BinaryIO) -> Iterator[BinaryIO]:
    """Yields a reader of ``source``'s decompressed bytes (``source`` as for :func:`sniff`;
    zstd needs a real file)."""
    kind = sniff(source)
    if kind == "gzip":
        with gzip.GzipFile(fileobj=source, mode="rb") as reader:
            yield reader  # type: ignore[misc]
    elif kind == "bzip2":
        with bz2.BZ2File(source, mode="rb") as reader:
            yield reader  # type: ignore[misc]
    elif kind == "xz":
        with lzma.LZMAFile(source, mode="rb") as reader:
            yield reader  # type: ignore[misc]
    elif kind == "zstd":
        with _zstd_reader(source) as reader:
            yield reader
    else:
        yield source


@contextmanager
def _zstd_reader(source: BinaryIO) -> Iterator[BinaryIO]:
    command = shutil.which("zstd")
    if command is None:
        raise LayerError("zstd-compressed layer, but the zstd command is not installed")
    # The child reads the file descriptor itself: put its offset where our buffer says we are.
    os.lseek(source.fileno(), source.tell(), os.SEEK_SET)
    process = subprocess.Popen(
        [command, "-d", "-c", "-q"], stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        yield process.stdout  # type: ignore[misc]
    finally:
        process.stdout.close()
        process.wait()
        error = process.stderr.read().decode(errors="replace").strip()
        process.stderr.close()
    if process.returncode != 0:
        raise LayerError(f"zstd decompression failed: {error or process.returncode}")
