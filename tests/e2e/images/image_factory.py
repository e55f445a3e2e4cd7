"""Small images made in a store for tests and benchmarks: files per layer, gzip or plain."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Sequence

from pilothouse.runtime.images import mediatypes
from pilothouse.runtime.images.digests import sha256_digest
from pilothouse.runtime.images.image import Image
from pilothouse.runtime.images.manifests import Descriptor
from pilothouse.runtime.images.store import ImageStore


def layer_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def add_layer(store: ImageStore, files: dict[str, bytes], *, compress: bool) -> tuple[Descriptor, str]:
    tar = layer_tar(files)
    blob = gzip.compress(tar, mtime=0) if compress else tar
    digest = store.blobs.write_bytes(blob)
    with store.blobs.open(digest) as source:
        store.layers.unpack(source, expected_diff_id=sha256_digest(tar))
    media_type = mediatypes.OCI_LAYER_GZIP if compress else mediatypes.OCI_LAYER
    return Descriptor(media_type, digest, len(blob)), sha256_digest(tar)


def make_image(
    store: ImageStore,
    layers: Sequence[dict[str, bytes]],
    *,
    tags: Sequence[str] = (),
    compress: bool = True,
    config: dict[str, object] | None = None,
    architecture: str = "amd64",
) -> Image:
    with store.writing():
        added = [add_layer(store, files, compress=compress) for files in layers]
        document = {
            "architecture": architecture,
            "os": "linux",
            "created": "2024-01-02T03:04:05Z",
            "config": config or {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in added]},
        }
        return store.create_image(document, [d for d, _ in added], tags=tags)


def random_layers(count: int, size: int) -> list[dict[str, bytes]]:
    """``count`` layers of one incompressible file of ``size`` bytes each."""
    return [{f"data/layer{n}.bin": os.urandom(size)} for n in range(count)]
