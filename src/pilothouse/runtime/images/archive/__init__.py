"""Image archives: ``docker save`` tarballs and OCI image layout tarballs, both directions.

The format of an archive to import is recognised by its contents (``manifest.json`` for a
docker-archive, ``index.json`` + ``oci-layout`` for an OCI layout); a tarball may be gzip,
bzip2 or xz compressed. Imports verify every blob and diff id and record images only when
all their content is in; exports are written to a temporary file renamed into place, so a
failure leaves no half-written archive.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ImageError, InvalidImage
from .docker_archive import export_docker_archive, import_docker_archive
from .members import ArchiveReader
from .oci_layout import export_oci_layout, import_oci_layout

if TYPE_CHECKING:
    from ..image import Image
    from ..store import ImageStore

FORMATS = ("docker-archive", "oci-archive")


def import_archive(store: ImageStore, path: Path, *, tag: str | None = None) -> list[Image]:
    from ..gc import collect_garbage

    try:
        with tarfile.open(path, mode="r:*") as tar, store.writing():
            reader = ArchiveReader(tar)
            if reader.has("manifest.json"):
                return import_docker_archive(store, reader, tag=tag)
            if reader.has("index.json"):
                return import_oci_layout(store, reader, tag=tag)
    except tarfile.TarError as e:
        raise InvalidImage(f"{path}: not a readable tar archive: {e}") from None
    except (ImageError, EOFError, OSError):
        collect_garbage(store, wait=False)
        raise
    raise InvalidImage(f"{path}: neither a docker-archive (manifest.json) nor an OCI layout (index.json)")


def export_archive(store: ImageStore, refs: Sequence[str], path: Path, *, format: str) -> None:
    if format not in FORMATS:
        raise ImageError(f"unknown archive format {format!r} (use {' or '.join(FORMATS)})")
    if not refs:
        raise ImageError("name at least one image to export")
    images = [(ref, store.resolve(ref)) for ref in refs]
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            if format == "docker-archive":
                export_docker_archive(store, images, tar)
            else:
                export_oci_layout(store, images, tar)
        os.rename(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
