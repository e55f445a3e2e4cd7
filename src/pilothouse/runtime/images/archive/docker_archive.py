"""The ``docker save`` format: ``manifest.json``, ``repositories``, configs and layer tars.

``manifest.json`` lists, per image, its config file (``<config hex>.json``, whose exact bytes
give the image id, so ids survive a save/load round trip), its tags fully qualified
(``docker.io/library/busybox:latest``, which docker and podman both load as such) and its uncompressed layer tars (``<diff id hex>/layer.tar``), bottom
first. Layers shared by several exported images are written once.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from .. import mediatypes
from ..compression import sniff, uncompressed
from ..digests import digest_hex
from ..errors import InvalidImage
from ..manifests import Descriptor, encode_json, parse_config
from ..reference import parse_reference
from .members import ArchiveReader, add_bytes, add_file
from .names import export_tags

if TYPE_CHECKING:
    from ..image import Image
    from ..store import ImageStore

LAYER_MEDIA_TYPES = {
    "gzip": mediatypes.OCI_LAYER_GZIP,
    "zstd": mediatypes.OCI_LAYER_ZSTD,
    "none": mediatypes.OCI_LAYER,
}


def import_docker_archive(store: ImageStore, reader: ArchiveReader, *, tag: str | None) -> list[Image]:
    entries = _load_manifest(reader.read("manifest.json"))
    manifests: list[tuple[str, list[str]]] = []
    for entry in entries:
        config_bytes = reader.read(entry["Config"])
        diff_ids = parse_config(config_bytes).diff_ids
        if len(diff_ids) != len(entry["Layers"]):
            raise InvalidImage(f"manifest.json lists {len(entry['Layers'])} layers, the config {len(diff_ids)}")
        layers = [_import_layer(store, reader, path, d) for path, d in zip(entry["Layers"], diff_ids, strict=True)]
        tags = list(entry.get("RepoTags") or [])
        if tag is not None and len(entries) == 1:
            tags.append(tag)
        manifests.append((store.write_image(config_bytes, layers), tags))
    return [store.add_image(digest, tags=tags) for digest, tags in manifests]


def _load_manifest(data: bytes) -> list[dict[str, Any]]:
    try:
        entries = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InvalidImage(f"manifest.json is not valid JSON: {e}") from None
    if not isinstance(entries, list) or not entries:
        raise InvalidImage("manifest.json must be a non-empty list of images")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) or not isinstance(entry.get("Layers"), list):
            raise InvalidImage("manifest.json entries need Config and Layers")
        for name in entry.get("RepoTags") or []:
            parse_reference(name)
    return entries


def _import_layer(store: ImageStore, reader: ArchiveReader, path: str, diff_id: str) -> Descriptor:
    if store.layers.has(diff_id) and store.blobs.has(diff_id):
        return Descriptor(mediatypes.OCI_LAYER, diff_id, store.blobs.size(diff_id))
    with reader.open(path) as source:
        digest = store.blobs.write_stream(source, what=f"layer {path}")
    with store.blobs.open(digest) as blob:
        media_type = LAYER_MEDIA_TYPES.get(sniff(blob), mediatypes.OCI_LAYER)
        store.layers.unpack(blob, expected_diff_id=diff_id)
    return Descriptor(media_type, digest, store.blobs.size(digest))


def export_docker_archive(store: ImageStore, images: Sequence[tuple[str, Image]], tar: tarfile.TarFile) -> None:
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    for ref, image in images:
        config_name = f"{digest_hex(image.id)}.json"
        if config_name not in written:
            add_bytes(tar, config_name, store.blobs.read_bytes(image.id))
            written.add(config_name)
        layer_names = []
        for descriptor, diff_id in zip(store.manifest(image).layers, image.diff_ids, strict=True):
            name = f"{digest_hex(diff_id)}/layer.tar"
            if name not in written:
                _add_layer_tar(store, tar, name, descriptor)
                written.add(name)
            layer_names.append(name)
        tags = [parse_reference(t) for t in export_tags(ref, image)]
        manifest.append({"Config": config_name, "RepoTags": [str(t) for t in tags] or None, "Layers": layer_names})
        for tag in tags:
            top = digest_hex(image.diff_ids[-1]) if image.diff_ids else ""
            repositories.setdefault(tag.name, {})[tag.tag or "latest"] = top
    add_bytes(tar, "manifest.json", encode_json(manifest))
    add_bytes(tar, "repositories", encode_json(repositories))


def _add_layer_tar(store: ImageStore, tar: tarfile.TarFile, name: str, descriptor: Descriptor) -> None:
    with store.blobs.open(descriptor.digest) as blob:
        if sniff(blob) == "none":
            add_file(tar, name, blob, descriptor.size)
            return
        # The tar header needs the size first: spool the decompressed layer.
        with tempfile.TemporaryFile(dir=store.blobs.ingest_dir) as spool, uncompressed(blob) as layer:
            shutil.copyfileobj(layer, spool, 1 << 20)
            size = spool.tell()
            spool.seek(0)
            add_file(tar, name, spool, size)
