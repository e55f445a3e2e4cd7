"""Garbage collection: delete the blobs and unpacked layers nothing references any more.

Roots are the recorded images (their index, manifest, config and layers), live leases (the
layers under a snapshot) and build-cache entries. Collection runs under the exclusive
``gc.lock``, which content writers hold shared for as long as they add content, so a pull,
import or build in progress never loses what it has written so far; stale ingest files and
staging directories found then are leftovers of crashes and are swept too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ImageError
from .locking import file_lock, try_file_lock
from .manifests import parse_manifest

if TYPE_CHECKING:
    from .store import ImageStore


@dataclass
class GarbageReport:
    deleted: list[str] = field(default_factory=list)  # "Untagged: ..." / "Deleted: ..." lines
    blobs_removed: int = 0
    layers_removed: int = 0
    cache_entries_removed: int = 0
    bytes_reclaimed: int = 0


def prune(store: ImageStore, *, all_unused: bool) -> GarbageReport:
    """Removes dangling images (every image no snapshot uses, with ``all_unused``), clears
    the build cache and collects garbage."""
    report = GarbageReport()
    leased = {lease.image_id for lease in store.leases.list() if lease.alive}
    with store.records.update() as table:
        for record in list(table.images.values()):
            if record.id in leased or (record.repo_tags and not all_unused):
                continue
            report.deleted += [f"Untagged: {name}" for name in record.repo_tags + record.repo_digests]
            report.deleted.append(f"Deleted: {record.id}")
            del table.images[record.id]
    report.cache_entries_removed = store.build_cache.clear()
    collected = collect_garbage(store, wait=True)
    assert collected is not None
    report.blobs_removed = collected.blobs_removed
    report.layers_removed = collected.layers_removed
    report.bytes_reclaimed = collected.bytes_reclaimed
    return report


def collect_garbage(store: ImageStore, *, wait: bool) -> GarbageReport | None:
    """Deletes unreferenced content; with ``wait=False`` gives up (None) if a writer is busy."""
    if wait:
        lock = file_lock(store.gc_lock_path, exclusive=True)
        with lock:
            return _collect(store)
    with try_file_lock(store.gc_lock_path) as acquired:
        return _collect(store) if acquired else None


def _collect(store: ImageStore) -> GarbageReport:
    live_blobs, live_layers = _live_content(store)
    report = GarbageReport()
    for digest in list(store.blobs.digests()):
        if digest not in live_blobs:
            with contextlib.suppress(FileNotFoundError):
                report.bytes_reclaimed += store.blobs.path(digest).stat().st_size
            store.blobs.delete(digest)
            report.blobs_removed += 1
    for diff_id in list(store.layers.diff_ids()):
        if diff_id not in live_layers:
            with contextlib.suppress(FileNotFoundError, KeyError):
                report.bytes_reclaimed += store.layers.info(diff_id).size
            store.layers.delete(diff_id)
            report.layers_removed += 1
    store.blobs.sweep_ingest()
    store.layers.sweep_temp()
    return report


def _live_content(store: ImageStore) -> tuple[set[str], set[str]]:
    blobs: set[str] = set()
    layers: set[str] = set()
    table = store.records.read()
    manifests = {record.manifest for record in table.images.values()}
    blobs |= {record.index for record in table.images.values() if record.index}
    manifests |= store.build_cache.manifests()
    for digest in manifests:
        blobs.add(digest)
        try:
            manifest = parse_manifest(store.blobs.read_bytes(digest))
            config = store.load_config(manifest.config.digest)
        except ImageError:
            continue  # a missing or broken manifest keeps nothing else alive
        blobs.add(manifest.config.digest)
        blobs |= {layer.digest for layer in manifest.layers}
        layers |= set(config.diff_ids)
    for lease in store.leases.list():
        if lease.alive:
            layers |= set(lease.diff_ids)
        else:
            store.leases.remove(lease.name)
    return blobs, layers
