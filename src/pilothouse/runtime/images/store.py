"""The image store: local images, their content, and everything done to them.

Layout under ``root`` (``<data dir>/images``)::

    blobs/sha256/<hex>     manifests, configs, indexes, layer tars (verified on write)
    ingest/                blobs being written
    layers/<hex>/diff      each layer unpacked once, keyed by diff id, shared by all images
    images.json            image id -> manifest, tags, repo digests (flock-protected)
    leases/                what snapshots keep alive
    buildcache.json        build steps -> resulting manifests

Guarantees:

- An image is recorded only after its manifest, config and every layer are stored and
  unpacked, so a failed pull, import or build leaves no half-made image.
- Several processes (CLI invocations, the kubelet) can share one store: the image table is
  rewritten under an exclusive ``flock``, content writers hold a shared lock on ``gc.lock``
  for as long as they add content, and garbage collection takes it exclusively.
- Resolution follows Docker: a name (normalised, ``:latest`` by default), ``name@digest``,
  a full id, or an unambiguous id prefix.
"""

from __future__ import annotations

import builtins
import datetime
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import mediatypes
from .blobs import BlobStore
from .buildcache import BuildCache
from .digests import short_id
from .errors import AmbiguousImage, ImageInUse, ImageNotFound, InvalidReference
from .image import Image, parse_created
from .layers import LayerStore
from .leases import Lease, Leases
from .locking import file_lock
from .manifests import (
    Descriptor,
    ImageConfig,
    Manifest,
    check_manifest_matches_config,
    encode_json,
    parse_config,
    parse_manifest,
)
from .records import ImageRecord, ImageRecords, ImageTable
from .reference import is_image_id, parse_reference
from .registry.config import Credentials, RegistryConfig

if TYPE_CHECKING:
    from .gc import GarbageReport
    from .layer_tar import Sink
    from .progress import ProgressSink

_HEX_PREFIX_RE = re.compile(r"^[a-f0-9]{1,64}$")


class ImageStore:
    """All local images under ``root``."""

    def __init__(self, root: Path, *, registry_config: RegistryConfig | None = None):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.blobs = BlobStore(root)
        self.layers = LayerStore(root)
        self.records = ImageRecords(root / "images.json")
        self.leases = Leases(root / "leases")
        self.build_cache = BuildCache(root / "buildcache.json")
        self.registry_config = registry_config or RegistryConfig()
        self.gc_lock_path = root / "gc.lock"
        self._configs: dict[str, ImageConfig] = {}

    # -- reading -------------------------------------------------------------------------

    def resolve(self, ref: str) -> Image:
        """The image ``ref`` names; raises ImageNotFound, AmbiguousImage or InvalidReference."""
        return self._image(_find(self.records.read(), ref))

    def get(self, image_id: str) -> Image:
        record = self.records.read().images.get(image_id)
        if record is None:
            raise ImageNotFound(image_id)
        return self._image(record)

    def list(self) -> list[Image]:
        return [self._image(r) for r in self.records.read().images.values()]

    def image_config(self, image: Image) -> ImageConfig:
        """The whole config document of ``image`` (history, rootfs, ...)."""
        return self.load_config(image.id)

    def load_config(self, config_digest: str) -> ImageConfig:
        """The parsed config blob ``config_digest`` (cached: blobs never change)."""
        config = self._configs.get(config_digest)
        if config is None:
            config = parse_config(self.blobs.read_bytes(config_digest))
            self._configs[config_digest] = config
        return config

    def manifest_bytes(self, image: Image) -> bytes:
        return self.blobs.read_bytes(image.manifest_digest)

    def manifest(self, image: Image) -> Manifest:
        return parse_manifest(self.manifest_bytes(image), image.manifest_media_type)

    def layer_dirs(self, image: Image) -> builtins.list[Path]:
        """The unpacked layer directories of ``image``, bottom first (unpacking any missing)."""
        missing = [d for d in image.diff_ids if not self.layers.has(d)]
        if missing:
            self._unpack_missing(image, set(missing))
        return [self.layers.dir(d) for d in image.diff_ids]

    # -- adding --------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Held by anything adding content, so that garbage collection waits for it."""
        with file_lock(self.gc_lock_path, exclusive=False):
            yield

    def add_image(
        self,
        manifest_digest: str,
        *,
        tags: Sequence[str] = (),
        repo_digests: Sequence[str] = (),
        index_digest: str | None = None,
    ) -> Image:
        """Records the image of a stored manifest whose config and layers are all in place."""
        manifest_bytes = self.blobs.read_bytes(manifest_digest)
        manifest = parse_manifest(manifest_bytes)
        config = self.load_config(manifest.config.digest)
        check_manifest_matches_config(manifest, config)
        size = sum(self.layers.info(d).size for d in config.diff_ids)
        record = ImageRecord(
            id=manifest.config.digest,
            manifest=manifest_digest,
            manifest_media_type=manifest.media_type,
            size=size,
            repo_tags=[str(parse_reference(t)) for t in tags],
            repo_digests=list(repo_digests),
            index=index_digest,
            added=_now(),
        )
        with self.records.update() as table:
            table.put(record)
            stored = table.images[record.id]
        return self._image(stored)

    def add_layer(self, write_tar: Callable[[Sink], None]) -> Descriptor:
        """Stores the uncompressed layer tar ``write_tar`` writes, unpacked; call while
        :meth:`writing`. Returns its descriptor (digest = diff id)."""
        with self.blobs.writer() as blob:
            write_tar(blob)
            digest = blob.commit("layer")
        if not self.layers.has(digest):
            with self.blobs.open(digest) as source:
                self.layers.unpack(source, expected_diff_id=digest)
        return Descriptor(mediatypes.OCI_LAYER, digest, self.blobs.size(digest))

    def write_image(
        self,
        config: dict[str, Any] | bytes,
        layers: Sequence[Descriptor],
        *,
        media_type: str = mediatypes.OCI_MANIFEST,
    ) -> str:
        """Stores ``config`` (a document, or exact bytes whose digest must be kept) and a
        manifest over stored, unpacked ``layers``, without recording an image (build steps
        keep such intermediate states); returns the manifest digest."""
        config_bytes = config if isinstance(config, bytes) else encode_json(config)
        config_digest = self.blobs.write_bytes(config_bytes)
        config_type = (
            mediatypes.OCI_CONFIG if media_type == mediatypes.OCI_MANIFEST else mediatypes.DOCKER_CONFIG
        )
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "digest": config_digest, "size": len(config_bytes)},
            "layers": [layer.to_dict() for layer in layers],
        }
        return self.blobs.write_bytes(encode_json(manifest))

    def create_image(
        self, config: dict[str, Any] | bytes, layers: Sequence[Descriptor], *, tags: Sequence[str] = ()
    ) -> Image:
        """Stores and records an image made of ``config`` over ``layers``."""
        return self.add_image(self.write_image(config, layers), tags=tags)

    def image_of_manifest(self, manifest_digest: str) -> Image:
        """An :class:`Image` view of a stored manifest, recorded or not (no names)."""
        manifest = parse_manifest(self.blobs.read_bytes(manifest_digest))
        config = self.load_config(manifest.config.digest)
        record = ImageRecord(
            id=manifest.config.digest,
            manifest=manifest_digest,
            manifest_media_type=manifest.media_type,
            size=sum(self.layers.info(d).size for d in config.diff_ids if self.layers.has(d)),
        )
        return self._image(record)

    def tag(self, source: str, target: str) -> Image:
        image = self.resolve(source)
        new_tag = str(parse_reference(target))
        with self.records.update() as table:
            if image.id not in table.images:
                raise ImageNotFound(source)
            table.add_tag(image.id, new_tag)
        return self.get(image.id)

    def add_repo_digest(self, image: Image, repo_digest: str) -> None:
        with self.records.update() as table:
            if image.id in table.images:
                table.add_repo_digest(image.id, repo_digest)

    # -- removing ------------------------------------------------------------------------

    def remove(self, ref: str, *, force: bool = False) -> builtins.list[str]:
        """Untags or deletes as ``docker rmi`` does; returns its ``Untagged:``/``Deleted:`` lines."""
        with self.records.update() as table:
            record = _find(table, ref)
            users = sorted(lease.name for lease in self.leases.list() if lease.alive and lease.image_id == record.id)
            by_name = _names_a_tag(ref, record)
            lines = _remove_from_table(table, record, ref=ref, by_name=by_name, users=users, force=force)
        if any(line.startswith("Deleted:") for line in lines):
            from .gc import collect_garbage

            collect_garbage(self, wait=False)
        return lines

    def prune(self, *, all_unused: bool = False) -> GarbageReport:
        """Deletes dangling images (all unused ones with ``all_unused``), then the build cache
        and unreferenced content, like ``docker image prune`` followed by ``builder prune``."""
        from .gc import prune

        return prune(self, all_unused=all_unused)

    # -- leases (snapshots) --------------------------------------------------------------

    def acquire_lease(self, name: str, image: Image, *, holder: Path) -> None:
        self.leases.put(
            Lease(name=name, image_id=image.id, diff_ids=list(image.diff_ids), holder=str(holder))
        )

    def release_lease(self, name: str) -> None:
        self.leases.remove(name)

    # -- registries and archives ---------------------------------------------------------

    async def pull(
        self,
        ref: str,
        *,
        auth: Credentials | None = None,
        insecure: bool = False,
        progress: ProgressSink | None = None,
        registry_config: RegistryConfig | None = None,
    ) -> Image:
        """Pulls ``ref`` for this machine's platform; see :mod:`registry.pull`."""
        from .registry.pull import pull_image

        return await pull_image(
            self,
            ref,
            auth=auth,
            insecure=insecure,
            progress=progress,
            config=registry_config or self.registry_config,
        )

    async def push(
        self,
        ref: str,
        *,
        destination: str | None = None,
        auth: Credentials | None = None,
        insecure: bool = False,
        progress: ProgressSink | None = None,
        registry_config: RegistryConfig | None = None,
    ) -> str:
        """Pushes the image ``ref`` (to ``destination`` if given); returns the manifest digest."""
        from .registry.push import push_image

        return await push_image(
            self,
            ref,
            destination=destination,
            auth=auth,
            insecure=insecure,
            progress=progress,
            config=registry_config or self.registry_config,
        )

    def import_archive(self, path: Path, *, tag: str | None = None) -> builtins.list[Image]:
        """Loads a docker-archive or OCI layout tarball (see :mod:`archive`)."""
        from .archive import import_archive

        return import_archive(self, path, tag=tag)

    def export_archive(self, refs: Sequence[str], path: Path, *, format: str = "docker-archive") -> None:
        """Saves images as a docker-archive or an OCI layout tarball (see :mod:`archive`)."""
        from .archive import export_archive

        export_archive(self, refs, path, format=format)

    # -- internals -----------------------------------------------------------------------

    def _image(self, record: ImageRecord) -> Image:
        config = self.load_config(record.id)
        return Image(
            id=record.id,
            repo_tags=list(record.repo_tags),
            repo_digests=list(record.repo_digests),
            size=record.size,
            config=config.config,
            created=parse_created(config.created),
            manifest_digest=record.manifest,
            manifest_media_type=record.manifest_media_type,
            diff_ids=list(config.diff_ids),
            os=config.os or "linux",
            architecture=config.architecture,
            variant=config.variant,
            index_digest=record.index,
        )

    def _unpack_missing(self, image: Image, missing: set[str]) -> None:
        manifest = self.manifest(image)
        with self.writing():
            for descriptor, diff_id in zip(manifest.layers, image.diff_ids, strict=True):
                if diff_id in missing and not self.layers.has(diff_id):
                    with self.blobs.open(descriptor.digest) as blob:
                        self.layers.unpack(blob, expected_diff_id=diff_id)


def _find(table: ImageTable, ref: str) -> ImageRecord:
    if ref.startswith("sha256:"):
        prefix = ref.removeprefix("sha256:")
        if not _HEX_PREFIX_RE.match(prefix):
            raise InvalidReference(ref, "an image id is sha256: followed by hex digits")
        return _by_id_prefix(table, prefix, ref)
    if is_image_id(ref):
        return _by_id_prefix(table, ref, ref)
    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        if _HEX_PREFIX_RE.match(ref):
            return _by_id_prefix(table, ref, ref)
        raise
    record = (
        table.by_repo_digest(f"{parsed.name}@{parsed.digest}")
        if parsed.digest
        else table.by_tag(str(parsed))
    )
    if record is not None:
        return record
    if _HEX_PREFIX_RE.match(ref):
        return _by_id_prefix(table, ref, ref)
    raise ImageNotFound(ref)


def _by_id_prefix(table: ImageTable, prefix: str, ref: str) -> ImageRecord:
    matches = table.by_id_prefix(prefix)
    if not matches:
        raise ImageNotFound(ref)
    if len(matches) > 1:
        raise AmbiguousImage(prefix)
    return matches[0]


def _names_a_tag(ref: str, record: ImageRecord) -> str | None:
    """The tag or repo digest ``ref`` names in ``record``, if ``ref`` is a name, not an id."""
    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        return None
    if parsed.digest:
        repo_digest = f"{parsed.name}@{parsed.digest}"
        return repo_digest if repo_digest in record.repo_digests else None
    return str(parsed) if str(parsed) in record.repo_tags else None


def _remove_from_table(
    table: ImageTable,
    record: ImageRecord,
    *,
    ref: str,
    by_name: str | None,
    users: list[str],
    force: bool,
) -> list[str]:
    if by_name is not None and (len(record.repo_tags) + len(record.repo_digests) > 1 or force):
        return _untag(table, record, by_name, users=users)
    if by_name is None and len(record.repo_tags) > 1 and not force:
        raise ImageInUse(
            f"conflict: unable to delete {short_id(record.id)} (must be forced) - "
            "image is referenced in multiple repositories"
        )
    if users and not force:
        what = f"repository reference {ref!r}" if by_name else short_id(record.id)
        raise ImageInUse(
            f"conflict: unable to delete {what} (must be forced) - image is being used by "
            f"container(s) {', '.join(users)}"
        )
    lines = [f"Untagged: {_familiar(t)}" for t in record.repo_tags]
    lines += [f"Untagged: {_familiar(d)}" for d in record.repo_digests]
    del table.images[record.id]
    lines.append(f"Deleted: {record.id}")
    return lines


def _untag(table: ImageTable, record: ImageRecord, name: str, *, users: list[str]) -> list[str]:
    lines = []
    if name in record.repo_tags:
        record.repo_tags.remove(name)
        lines.append(f"Untagged: {_familiar(name)}")
        repository = name.rsplit(":", 1)[0]
        # Docker drops the repo digests of a repository with its last tag there.
        if not any(t.rsplit(":", 1)[0] == repository for t in record.repo_tags):
            for digest in [d for d in record.repo_digests if d.split("@")[0] == repository]:
                record.repo_digests.remove(digest)
                lines.append(f"Untagged: {_familiar(digest)}")
    else:
        record.repo_digests.remove(name)
        lines.append(f"Untagged: {_familiar(name)}")
    if not record.repo_tags and not record.repo_digests and not users:
        del table.images[record.id]
        lines.append(f"Deleted: {record.id}")
    return lines


def _familiar(name: str) -> str:
    return parse_reference(name, default_tag=False).familiar()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
