"""The table of local images: which manifest each image id came from and its names.

An image id is ``sha256:`` + the digest of its config. A tag (``docker.io/library/busybox:latest``)
names exactly one image; tagging another image with it moves it, as in Docker. The table is
one JSON file rewritten atomically under an exclusive ``flock``; readers take a shared lock,
so concurrent CLI invocations and the kubelet see a consistent table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .locking import file_lock, write_file_atomically


@dataclass
class ImageRecord:
    """One local image."""

    id: str  # sha256 of the config
    manifest: str  # digest of the (platform) manifest
    manifest_media_type: str
    size: int  # bytes of unpacked layer content
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    index: str | None = None  # the manifest list it was picked from, if any
    added: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageRecord:
        return cls(**data)


class ImageTable:
    """An in-memory copy of the table, edited inside :meth:`ImageRecords.update`."""

    def __init__(self, images: dict[str, ImageRecord]):
        self.images = images

    def by_tag(self, tag: str) -> ImageRecord | None:
        for record in self.images.values():
            if tag in record.repo_tags:
                return record
        return None

    def by_repo_digest(self, repo_digest: str) -> ImageRecord | None:
        name, _, digest = repo_digest.partition("@")
        for record in self.images.values():
            if repo_digest in record.repo_digests:
                return record
        for record in self.images.values():
            if digest in (record.manifest, record.index) and any(
                t.rsplit(":", 1)[0] == name for t in record.repo_tags
            ):
                return record
        return None

    def by_id_prefix(self, prefix: str) -> list[ImageRecord]:
        return [r for r in self.images.values() if r.id.removeprefix("sha256:").startswith(prefix)]

    def put(self, record: ImageRecord) -> None:
        """Adds or merges an image; its tags are taken from any image that had them."""
        existing = self.images.get(record.id)
        if existing is not None:
            record.repo_tags = _merged(existing.repo_tags, record.repo_tags)
            record.repo_digests = _merged(existing.repo_digests, record.repo_digests)
            record.added = existing.added or record.added
        for tag in record.repo_tags:
            self._untag_others(tag, keep=record.id)
        self.images[record.id] = record

    def add_tag(self, image_id: str, tag: str) -> None:
        self._untag_others(tag, keep=image_id)
        record = self.images[image_id]
        if tag not in record.repo_tags:
            record.repo_tags.append(tag)

    def remove_tag(self, tag: str) -> ImageRecord | None:
        record = self.by_tag(tag)
        if record is not None:
            record.repo_tags.remove(tag)
        return record

    def add_repo_digest(self, image_id: str, repo_digest: str) -> None:
        record = self.images[image_id]
        if repo_digest not in record.repo_digests:
            record.repo_digests.append(repo_digest)

    def _untag_others(self, tag: str, *, keep: str) -> None:
        for other in self.images.values():
            if other.id != keep and tag in other.repo_tags:
                other.repo_tags.remove(tag)


class ImageRecords:
    """The image table stored in ``path`` with its lock file beside it."""

    def __init__(self, path: Path):
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    def read(self) -> ImageTable:
        with file_lock(self.lock_path, exclusive=False):
            return self._load()

    @contextmanager
    def update(self) -> Iterator[ImageTable]:
        """Yields the table under an exclusive lock and saves it if the block succeeds."""
        with file_lock(self.lock_path, exclusive=True):
            table = self._load()
            yield table
            document = {"version": 1, "images": {k: asdict(v) for k, v in table.images.items()}}
            write_file_atomically(self.path, orjson.dumps(document, option=orjson.OPT_INDENT_2))

    def _load(self) -> ImageTable:
        try:
            document = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return ImageTable({})
        images = {k: ImageRecord.from_dict(v) for k, v in document.get("images", {}).items()}
        return ImageTable(images)


def _merged(first: list[str], second: list[str]) -> list[str]:
    return first + [item for item in second if item not in first]
