"""The blob store: immutable content addressed by its sha256 digest.

Guarantees:

- A blob appears under ``blobs/sha256/<hex>`` only complete and verified: writers stream into
  a private file under ``ingest/`` while hashing, and rename it into place only if the digest
  (and the size, when announced) is the expected one. A mismatch, an error or a crash leaves
  nothing under ``blobs/`` (stale ingest files are swept by garbage collection).
- Concurrent writers of the same blob are harmless: the rename is atomic and the content is
  identical by definition.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

from .digests import check_digest, digest_hex
from .errors import BlobNotFound, DigestMismatch


class BlobWriter:
    """Streams one blob into the store; :meth:`commit` verifies and publishes it."""

    def __init__(self, store: BlobStore, *, expected_digest: str | None, expected_size: int | None):
        self._store = store
        self._expected_digest = expected_digest
        self._expected_size = expected_size
        self._hash = hashlib.sha256()
        self.size = 0
        fd, name = tempfile.mkstemp(dir=store.ingest_dir, prefix="blob-")
        self._file = os.fdopen(fd, "wb")
        self._temp_path = Path(name)

    def write(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self, what: str = "blob") -> str:
        """Publishes the blob and returns its digest; raises DigestMismatch and stores nothing."""
        self._file.close()
        digest = "sha256:" + self._hash.hexdigest()
        try:
            if self._expected_size is not None and self.size != self._expected_size:
                raise DigestMismatch(
                    f"{what} {self._expected_digest or ''} size".strip(),
                    f"{self._expected_size} bytes",
                    f"{self.size} bytes",
                )
            if self._expected_digest is not None and digest != self._expected_digest:
                raise DigestMismatch(what, self._expected_digest, digest)
            os.chmod(self._temp_path, 0o444)
            os.rename(self._temp_path, self._store.path(digest))
        except BaseException:
            self.abort()
            raise
        return digest

    def abort(self) -> None:
        self._file.close()
        self._temp_path.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()


class BlobStore:
    """Blobs under ``root/blobs/sha256`` with their ingest area under ``root/ingest``."""

    def __init__(self, root: Path):
        self.blobs_dir = root / "blobs" / "sha256"
        self.ingest_dir = root / "ingest"
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.blobs_dir / digest_hex(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def writer(
        self, *, expected_digest: str | None = None, expected_size: int | None = None
    ) -> BlobWriter:
        if expected_digest is not None:
            check_digest(expected_digest)
        return BlobWriter(self, expected_digest=expected_digest, expected_size=expected_size)

    def write_bytes(self, data: bytes, *, expected_digest: str | None = None) -> str:
        with self.writer(expected_digest=expected_digest, expected_size=None) as writer:
            writer.write(data)
            return writer.commit()

    def write_stream(
        self,
        source: IO[bytes],
        *,
        expected_digest: str | None = None,
        expected_size: int | None = None,
        what: str = "blob",
    ) -> str:
        with self.writer(expected_digest=expected_digest, expected_size=expected_size) as writer:
            while chunk := source.read(1 << 20):
                writer.write(chunk)
            return writer.commit(what)

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def digests(self) -> Iterator[str]:
        for entry in os.scandir(self.blobs_dir):
            yield "sha256:" + entry.name

    def sweep_ingest(self) -> int:
        """Deletes every ingest file; only safe while no writer runs (under the GC lock)."""
        count = 0
        for entry in os.scandir(self.ingest_dir):
            Path(entry.path).unlink(missing_ok=True)
            count += 1
        return count
