"""The build cache: a build step's key -> the manifest of the image state after that step.

A key is a digest of the parent state, the instruction and, for COPY and ADD, the content of
what was copied, so a rebuild with unchanged inputs reuses each step's result. The manifests
(and through them configs and layers) are garbage-collection roots until the cache is pruned.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .locking import file_lock, write_file_atomically


class BuildCache:
    def __init__(self, path: Path):
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    def get(self, key: str) -> str | None:
        with file_lock(self.lock_path, exclusive=False):
            return self._load().get(key)

    def put(self, key: str, manifest_digest: str) -> None:
        with file_lock(self.lock_path, exclusive=True):
            entries = self._load()
            entries[key] = manifest_digest
            write_file_atomically(self.path, orjson.dumps(entries))

    def forget(self, key: str) -> None:
        with file_lock(self.lock_path, exclusive=True):
            entries = self._load()
            if entries.pop(key, None) is not None:
                write_file_atomically(self.path, orjson.dumps(entries))

    def manifests(self) -> set[str]:
        with file_lock(self.lock_path, exclusive=False):
            return set(self._load().values())

    def clear(self) -> int:
        with file_lock(self.lock_path, exclusive=True):
            count = len(self._load())
            write_file_atomically(self.path, b"{}")
            return count

    def _load(self) -> dict[str, str]:
        try:
            return orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
