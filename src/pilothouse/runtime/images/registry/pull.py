"""Pulling an image: manifest (or index, then this platform's manifest), config, layers.

Guarantees:

- Every manifest, config and layer is verified against its digest (and announced size) as it
  streams in; a mismatch stores nothing and fails the pull. Each layer's unpacked content is
  verified against the config's diff id.
- Layers already stored and unpacked are not downloaded again; missing ones download in
  parallel (``MAX_CONCURRENT_DOWNLOADS``, as Docker) and unpack in a thread while they
  download; a layer is published only after its blob digest and its diff id both matched.
- The image is recorded only when all of it is in place; after a failure the content written
  so far is garbage-collected unless another writer is busy (then the next collection does).
- Mirrors are tried in order before the registry itself; content errors are not retried
  elsewhere, unreachable or refusing endpoints are.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .. import mediatypes
from ..digests import short_id
from ..errors import DigestMismatch, ImageError, RegistryError
from ..manifests import (
    Descriptor,
    Platform,
    check_manifest_matches_config,
    host_platform,
    media_type_of,
    parse_config,
    parse_index,
    parse_manifest,
    select_platform,
)
from ..reference import Reference, parse_reference
from .client import RegistrySession, RepositoryClient
from .config import Credentials, RegistryConfig
from .feed import FeedAborted, LayerFeed

if TYPE_CHECKING:
    from ..image import Image
    from ..progress import ProgressSink
    from ..store import ImageStore

MAX_CONCURRENT_DOWNLOADS = 3
CHUNK_SIZE = 1 << 20


async def pull_image(
    store: ImageStore,
    ref: str,
    *,
    auth: Credentials | None,
    insecure: bool,
    progress: ProgressSink | None,
    config: RegistryConfig,
    platform: Platform | None = None,
) -> Image:
    reference = parse_reference(ref)
    failures: list[RegistryError] = []
    async with RegistrySession(config, credentials=auth) as session:
        for endpoint in config.endpoints(reference.domain, insecure=insecure):
            try:
                repository = await session.repository(endpoint, reference.path)
                puller = _Puller(store, repository, progress, platform or host_platform())
                return await puller.pull(reference)
            except RegistryError as e:
                failures.append(e)
    # The registry itself is the last endpoint: its answer is the one users expect to see.
    raise failures[-1]


class _Puller:
    def __init__(
        self,
        store: ImageStore,
        repository: RepositoryClient,
        progress: ProgressSink | None,
        platform: Platform,
    ):
        self.store = store
        self.repository = repository
        self.progress = progress
        self.platform = platform
        self._downloads = asyncio.Semaphore(MAX_CONCURRENT_DOWNLOADS)

    async def pull(self, reference: Reference) -> Image:
        from ..gc import collect_garbage

        try:
            with self.store.writing():
                return await self._pull(reference)
        except (ImageError, asyncio.CancelledError):
            collect_garbage(self.store, wait=False)
            raise

    async def _pull(self, reference: Reference) -> Image:
        target = reference.digest or reference.tag or "latest"
        data, content_type, top_digest = await self.repository.get_manifest(target)
        media_type = media_type_of(data, content_type)
        index_digest = None
        if media_type in mediatypes.INDEX_TYPES:
            self.store.blobs.write_bytes(data, expected_digest=top_digest)
            index_digest = top_digest
            chosen = select_platform(parse_index(data, media_type), self.platform)
            data, content_type, manifest_digest = await self.repository.get_manifest(chosen.digest)
            media_type = media_type_of(data, content_type)
        else:
            manifest_digest = top_digest
        manifest = parse_manifest(data, media_type)
        if self.progress is not None:
            self.progress.update(short_id(target), f"Pulling from {self.repository.path}")
        config_data = await self._config_bytes(manifest.config)
        config = parse_config(config_data)
        check_manifest_matches_config(manifest, config)
        await self._fetch_layers(list(zip(manifest.layers, config.diff_ids, strict=True)))
        self.store.blobs.write_bytes(data, expected_digest=manifest_digest)
        tags = [str(reference)] if reference.tag and not reference.digest else []
        return self.store.add_image(
            manifest_digest,
            tags=tags,
            repo_digests=[f"{reference.name}@{top_digest}"],
            index_digest=index_digest,
        )

    async def _config_bytes(self, descriptor: Descriptor) -> bytes:
        if not self.store.blobs.has(descriptor.digest):
            await self._download(descriptor, report=False)  # Docker shows layers only
        return self.store.blobs.read_bytes(descriptor.digest)

    async def _fetch_layers(self, layers: list[tuple[Descriptor, str]]) -> None:
        tasks = [asyncio.create_task(self._fetch_layer(d, diff_id)) for d, diff_id in layers]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _fetch_layer(self, descriptor: Descriptor, diff_id: str) -> None:
        blobs, layers = self.store.blobs, self.store.layers
        if blobs.has(descriptor.digest) and layers.has(diff_id):
            self._report(descriptor.digest, "Already exists")
            return
        self._report(descriptor.digest, "Pulling fs layer")
        if blobs.has(descriptor.digest) or layers.has(diff_id) or descriptor.media_type == mediatypes.OCI_LAYER_ZSTD:
            # zstd is decoded by a child process reading a file: download first.
            if not blobs.has(descriptor.digest):
                await self._download(descriptor)
            self._report(descriptor.digest, "Extracting")
            await _finish_in_thread(asyncio.ensure_future(asyncio.to_thread(self._unpack, descriptor.digest, diff_id)))
        else:
            await self._download_unpacking(descriptor, diff_id)
        self._report(descriptor.digest, "Pull complete")

    def _unpack(self, digest: str, diff_id: str) -> None:
        with self.store.blobs.open(digest) as blob:
            self.store.layers.unpack(blob, expected_diff_id=diff_id)

    async def _download_unpacking(self, descriptor: Descriptor, diff_id: str) -> None:
        """Downloads a layer while a thread unpacks it from the same bytes."""
        feed = LayerFeed()
        unpacking = asyncio.ensure_future(asyncio.to_thread(self._unpack_feed, feed, diff_id))
        try:
            await self._download(descriptor, feed=feed)
        except BaseException as error:
            feed.fail(error)
            await asyncio.wait([unpacking])  # it discards its staging directory
            unpack_error = unpacking.exception()
            if isinstance(error, FeedAborted) and unpack_error is not None:
                raise unpack_error from None
            raise
        feed.close()
        await _finish_in_thread(unpacking)

    def _unpack_feed(self, feed: LayerFeed, diff_id: str) -> None:
        try:
            self.store.layers.unpack(feed, expected_diff_id=diff_id)  # type: ignore[arg-type]
            while feed.read(CHUNK_SIZE):
                pass  # unpacked by someone else meanwhile: let the download finish
        except BaseException:
            feed.abandon()
            raise

    async def _download(
        self, descriptor: Descriptor, *, feed: LayerFeed | None = None, report: bool = True
    ) -> None:
        async with self._downloads, self.repository.get_blob(descriptor.digest) as response:
            announced = response.content_length
            if announced is not None and announced != descriptor.size:
                raise DigestMismatch(
                    f"blob {descriptor.digest} size", f"{descriptor.size} bytes", f"{announced} bytes"
                )
            with self.store.blobs.writer(
                expected_digest=descriptor.digest, expected_size=descriptor.size
            ) as writer:
                async for chunk in response.content.iter_chunked(CHUNK_SIZE):
                    writer.write(chunk)
                    if feed is not None and not await feed.put(chunk):
                        raise FeedAborted("unpacking failed")
                    if report:
                        self._report(descriptor.digest, "Downloading", writer.size, descriptor.size)
                writer.commit(f"blob {descriptor.digest}")
        if report:
            self._report(descriptor.digest, "Download complete")

    def _report(self, digest: str, status: str, current: int = 0, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress.update(short_id(digest), status, current, total)


async def _finish_in_thread(work: asyncio.Future[None]) -> None:
    """Awaits thread work; if cancelled, still waits for the thread (it cannot be stopped),
    so that nothing writes into the store after the pull gave up and collected garbage."""
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        if not work.cancelled():
            work.exception()  # seen: asyncio must not log it as never retrieved
        raise
