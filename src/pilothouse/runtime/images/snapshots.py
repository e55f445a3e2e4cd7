"""Snapshots: one writable overlayfs root filesystem per key, over an image's shared layers.

Layout under ``root``: ``<key>/upper`` (the snapshot's own changes), ``<key>/work``
(overlayfs scratch), ``<key>/rootfs`` (the mount point), ``<key>/snapshot.json``.

Guarantees:

- The image layers stay read-only and shared: every snapshot of an image mounts the same
  layer directories, so N containers cost one copy of the layers plus their own changes.
- ``prepare`` is idempotent: preparing a key again returns the same mounted root filesystem,
  and remounts it if it was unmounted (after a reboot). A failed first ``prepare`` leaves no
  directory, mount or lease behind. ``remove`` is idempotent too.
- While a snapshot exists it holds a lease in the image store, so its layers survive image
  removal and garbage collection.
- Operations on the same snapshotter serialise on a ``flock``, so the CLI and the kubelet can
  share it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import orjson

from .errors import SnapshotError
from .image import Image
from .locking import file_lock, write_file_atomically
from .mount import is_mounted, mount_overlay, unmount
from .store import ImageStore

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
META = "snapshot.json"


class Snapshotter:
    """Overlay snapshots under ``root`` whose layers come from ``store``."""

    def __init__(self, root: Path, store: ImageStore):
        self.root = root
        self.store = store
        root.mkdir(parents=True, exist_ok=True)
        self._empty_lower = root / ".empty"
        self._empty_lower.mkdir(exist_ok=True)
        self._lock_path = root / ".lock"

    def prepare(self, key: str, image: Image) -> Path:
        """Mounts (if needed) and returns the root filesystem of snapshot ``key`` of ``image``."""
        directory = self._dir(key)
        with file_lock(self._lock_path):
            meta = self._read_meta(key)
            if meta is not None:
                if meta["image_id"] != image.id:
                    raise SnapshotError(f"snapshot {key} exists for another image ({meta['image_id']})")
                if not is_mounted(directory / "rootfs"):
                    self._mount(key, image)
                return directory / "rootfs"
            if directory.exists():
                self._destroy(key)  # the leftovers of a prepare that crashed half-way
            try:
                for sub in ("upper", "work", "rootfs"):
                    (directory / sub).mkdir(parents=True)
                self.store.acquire_lease(self._lease_name(key), image, holder=directory)
                write_file_atomically(directory / META, orjson.dumps({"key": key, "image_id": image.id}))
                self._mount(key, image)
            except BaseException:
                self._destroy(key)
                raise
        return directory / "rootfs"

    def remove(self, key: str) -> None:
        """Unmounts and deletes snapshot ``key`` (nothing if it does not exist)."""
        with file_lock(self._lock_path):
            self._destroy(key)

    def list(self) -> list[str]:
        return sorted(e.name for e in os.scandir(self.root) if (Path(e.path) / META).exists())

    def rootfs(self, key: str) -> Path:
        return self._dir(key) / "rootfs"

    def upper_dir(self, key: str) -> Path:
        """The snapshot's own changes in overlayfs form (whiteouts as 0/0 devices)."""
        return self._dir(key) / "upper"

    def is_mounted(self, key: str) -> bool:
        return is_mounted(self.rootfs(key))

    def unmount(self, key: str) -> None:
        """Unmounts the root filesystem but keeps the changes (``prepare`` remounts it)."""
        unmount(self.rootfs(key))

    def usage(self, key: str) -> int:
        """Bytes of file content in the snapshot's upper directory (hard links counted once)."""
        seen: set[int] = set()
        total = 0
        for directory, _dirs, files in os.walk(self.upper_dir(key)):
            for name in files:
                st = os.lstat(os.path.join(directory, name))
                if st.st_ino not in seen:
                    seen.add(st.st_ino)
                    total += st.st_size
        return total

    def _mount(self, key: str, image: Image) -> None:
        directory = self._dir(key)
        lower = self.store.layer_dirs(image) or [self._empty_lower]
        mount_overlay(lower, upper=directory / "upper", work=directory / "work", target=directory / "rootfs")

    def _destroy(self, key: str) -> None:
        directory = self._dir(key)
        rootfs = directory / "rootfs"
        if rootfs.exists():
            unmount(rootfs)
            if is_mounted(rootfs):
                # Deleting through a live mount would delete the shared image layers.
                raise SnapshotError(f"snapshot {key} is still mounted at {rootfs}")
        self.store.release_lease(self._lease_name(key))
        if directory.exists():
            shutil.rmtree(directory)

    def _read_meta(self, key: str) -> dict[str, str] | None:
        try:
            return orjson.loads((self._dir(key) / META).read_bytes())
        except FileNotFoundError:
            return None

    def _dir(self, key: str) -> Path:
        if not _KEY_RE.match(key):
            raise SnapshotError(f"invalid snapshot key {key!r}")
        return self.root / key

    def _lease_name(self, key: str) -> str:
        return f"snapshot:{self.root.resolve()}/{key}"
