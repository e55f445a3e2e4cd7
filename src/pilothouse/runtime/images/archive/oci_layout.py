"""OCI image layout tarballs: ``oci-layout``, ``index.json`` and ``blobs/sha256/<hex>``.

Exported index entries carry the full name in ``io.containerd.image.name`` and the tag in
``org.opencontainers.image.ref.name`` (as containerd writes them; skopeo and podman find an
image by the latter: ``oci-archive:file.tar:v1``). Blobs are copied as stored (compressed
layers stay compressed). On import, a ``ref.name`` that is a whole reference names the image;
a bare tag needs the name given by the caller, otherwise the image is imported untagged.
"""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import mediatypes
from ..digests import digest_hex
from ..errors import InvalidImage, InvalidReference
from ..manifests import (
    Descriptor,
    check_manifest_matches_config,
    encode_json,
    host_platform,
    parse_index,
    parse_json,
    parse_manifest,
    select_platform,
)
from ..reference import parse_reference
from .members import ArchiveReader, add_bytes, add_file
from .names import export_tags

if TYPE_CHECKING:
    from ..image import Image
    from ..store import ImageStore

LAYOUT_VERSION = "1.0.0"
IMAGE_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"


def import_oci_layout(store: ImageStore, reader: ArchiveReader, *, tag: str | None) -> list[Image]:
    layout = parse_json(reader.read("oci-layout"), "oci-layout") if reader.has("oci-layout") else {}
    if layout.get("imageLayoutVersion", LAYOUT_VERSION) != LAYOUT_VERSION:
        raise InvalidImage(f"unsupported OCI layout version {layout.get('imageLayoutVersion')!r}")
    index = parse_index(reader.read("index.json"), mediatypes.OCI_INDEX)
    if not index.manifests:
        raise InvalidImage("index.json lists no images")
    pending = []
    for descriptor in index.manifests:
        manifest_digest, index_digest = _import_image(store, reader, descriptor)
        names = _names(descriptor, tag if len(index.manifests) == 1 else None)
        pending.append((manifest_digest, names, index_digest))
    return [store.add_image(digest, tags=names, index_digest=idx) for digest, names, idx in pending]


def _names(descriptor: Descriptor, tag: str | None) -> list[str]:
    annotations = descriptor.annotations or {}
    names = []
    full = annotations.get(IMAGE_NAME_ANNOTATION) or annotations.get(REF_NAME_ANNOTATION, "")
    if full and ("/" in full or ":" in full):
        try:
            names.append(str(parse_reference(full)))
        except InvalidReference:
            pass
    elif full and tag is not None:
        names.append(str(parse_reference(tag, default_tag=False).with_tag(full)))
    if tag is not None and not names:
        names.append(str(parse_reference(tag)))
    return names


def _import_image(store: ImageStore, reader: ArchiveReader, descriptor: Descriptor) -> tuple[str, str | None]:
    index_digest = None
    if descriptor.media_type in mediatypes.INDEX_TYPES:
        _copy_blob(store, reader, descriptor)
        index_digest = descriptor.digest
        nested = parse_index(store.blobs.read_bytes(descriptor.digest), descriptor.media_type)
        descriptor = select_platform(nested, host_platform())
    _copy_blob(store, reader, descriptor)
    manifest = parse_manifest(store.blobs.read_bytes(descriptor.digest), descriptor.media_type or "")
    _copy_blob(store, reader, manifest.config)
    config = store.load_config(manifest.config.digest)
    check_manifest_matches_config(manifest, config)
    for layer, diff_id in zip(manifest.layers, config.diff_ids, strict=True):
        _copy_blob(store, reader, layer)
        if not store.layers.has(diff_id):
            with store.blobs.open(layer.digest) as blob:
                store.layers.unpack(blob, expected_diff_id=diff_id)
    return descriptor.digest, index_digest


def _copy_blob(store: ImageStore, reader: ArchiveReader, descriptor: Descriptor) -> None:
    if store.blobs.has(descriptor.digest):
        return
    with reader.open(f"blobs/sha256/{digest_hex(descriptor.digest)}") as source:
        store.blobs.write_stream(
            source, expected_digest=descriptor.digest, expected_size=descriptor.size, what=f"blob {descriptor.digest}"
        )


def export_oci_layout(store: ImageStore, images: Sequence[tuple[str, Image]], tar: tarfile.TarFile) -> None:
    entries: list[dict[str, Any]] = []
    written: set[str] = set()
    for ref, image in images:
        manifest = store.manifest(image)
        for descriptor in (manifest.config, *manifest.layers):
            _add_blob(store, tar, descriptor.digest, written)
        _add_blob(store, tar, image.manifest_digest, written)
        entry = {
            "mediaType": image.manifest_media_type,
            "digest": image.manifest_digest,
            "size": store.blobs.size(image.manifest_digest),
        }
        tags = export_tags(ref, image)
        for name in tags:
            reference = parse_reference(name)
            annotations = {IMAGE_NAME_ANNOTATION: str(reference), REF_NAME_ANNOTATION: reference.tag or "latest"}
            entries.append({**entry, "annotations": annotations})
        if not tags:
            entries.append(entry)
    add_bytes(tar, "oci-layout", encode_json({"imageLayoutVersion": LAYOUT_VERSION}))
    add_bytes(tar, "index.json", encode_json({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries}))


def _add_blob(store: ImageStore, tar: tarfile.TarFile, digest: str, written: set[str]) -> None:
    if digest in written:
        return
    written.add(digest)
    with store.blobs.open(digest) as blob:
        add_file(tar, f"blobs/sha256/{digest_hex(digest)}", blob, store.blobs.size(digest))
