"""Pushing an image: layers and config (skipping what the registry has), then the manifest.

Blobs the registry already has (``HEAD``) are skipped; a blob the image was pulled with from
another repository of the same registry is mounted across repositories instead of uploaded;
blobs up to ``MONOLITHIC_LIMIT`` go in one ``PUT``, bigger ones in ``PATCH`` chunks. The
manifest is put last, under the tag (the registry then holds the whole image), and the
pushed ``name@digest`` becomes a repo digest of the local image.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from yarl import URL

from ..digests import short_id
from ..errors import ImageError
from ..manifests import Descriptor
from ..reference import Reference, parse_reference
from .client import RegistrySession, RepositoryClient
from .config import Credentials, RegistryConfig

if TYPE_CHECKING:
    from ..image import Image
    from ..progress import ProgressSink
    from ..store import ImageStore

MAX_CONCURRENT_UPLOADS = 3
MONOLITHIC_LIMIT = 32 << 20
CHUNK_SIZE = 16 << 20


async def push_image(
    store: ImageStore,
    ref: str,
    *,
    destination: str | None,
    auth: Credentials | None,
    insecure: bool,
    progress: ProgressSink | None,
    config: RegistryConfig,
) -> str:
    image = store.resolve(ref)
    target = _target(image, ref, destination)
    manifest = store.manifest(image)
    async with RegistrySession(config, credentials=auth) as session:
        endpoint = config.push_endpoint(target.domain, insecure=insecure)
        repository = await session.repository(endpoint, target.path, push=True)
        pusher = _Pusher(store, repository, progress, _mount_sources(image, target))
        await asyncio.gather(*(pusher.push_blob(d) for d in manifest.layers))
        await pusher.push_blob(manifest.config)
        digest = await repository.put_manifest(
            target.digest or target.tag or "latest", store.manifest_bytes(image), manifest.media_type
        )
    store.add_repo_digest(image, f"{target.name}@{digest}")
    if progress is not None:
        progress.update(target.tag or "latest", f"digest: {digest} size: {len(store.manifest_bytes(image))}")
    return digest


def _target(image: Image, ref: str, destination: str | None) -> Reference:
    if destination is not None:
        return parse_reference(destination)
    try:
        target = parse_reference(ref)
    except ImageError:
        target = None
    if target is None or (target.tag and str(target) not in image.repo_tags):
        if len(image.repo_tags) == 1:
            return parse_reference(image.repo_tags[0])
        raise ImageError(f"push {ref}: name the destination repository (the image has no single tag)")
    return target


def _mount_sources(image: Image, target: Reference) -> list[str]:
    """Repositories of the same registry this image came from: blobs can be mounted from them."""
    sources = []
    for repo_digest in image.repo_digests:
        source = parse_reference(repo_digest.split("@")[0], default_tag=False)
        if source.domain == target.domain and source.path != target.path:
            sources.append(source.path)
    return sources


class _Pusher:
    def __init__(
        self,
        store: ImageStore,
        repository: RepositoryClient,
        progress: ProgressSink | None,
        mount_sources: list[str],
    ):
        self.store = store
        self.repository = repository
        self.progress = progress
        self.mount_sources = mount_sources
        self._uploads = asyncio.Semaphore(MAX_CONCURRENT_UPLOADS)

    async def push_blob(self, descriptor: Descriptor) -> None:
        async with self._uploads:
            if await self.repository.has_blob(descriptor.digest):
                self._report(descriptor.digest, "Layer already exists")
                return
            source = self.mount_sources[0] if self.mount_sources else None
            location = await self.repository.start_upload(mount=descriptor.digest, mount_from=source)
            if location is None:
                self._report(descriptor.digest, f"Mounted from {source}")
                return
            self._report(descriptor.digest, "Pushing")
            size = self.store.blobs.size(descriptor.digest)
            if size <= MONOLITHIC_LIMIT:
                data = self.store.blobs.read_bytes(descriptor.digest)
                await self.repository.finish_upload(location, descriptor.digest, data, size)
            else:
                await self._push_chunked(location, descriptor.digest, size)
            self._report(descriptor.digest, "Pushed")

    async def _push_chunked(self, location: URL, digest: str, size: int) -> None:
        offset = 0
        with self.store.blobs.open(digest) as blob:
            while chunk := blob.read(CHUNK_SIZE):
                location = await self.repository.upload_chunk(location, chunk, offset)
                offset += len(chunk)
                self._report(digest, "Pushing", offset, size)
        await self.repository.finish_upload(location, digest)

    def _report(self, digest: str, status: str, current: int = 0, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress.update(short_id(digest), status, current, total)
