"""Leases: what a snapshot (a container's root filesystem) keeps alive in the image store.

A lease names the image and the layers a snapshot is mounted over. Garbage collection never
deletes a leased layer, and removing a leased image needs ``force``; the layers then stay
until the lease is released. A lease whose snapshot directory has vanished (a crash between
deleting the snapshot and releasing the lease) protects nothing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from .locking import write_file_atomically


@dataclass(frozen=True)
class Lease:
    name: str
    image_id: str
    diff_ids: list[str] = field(default_factory=list)
    holder: str = ""  # the directory whose existence keeps the lease alive

    @property
    def alive(self) -> bool:
        return not self.holder or os.path.isdir(self.holder)


class Leases:
    """Lease files under ``root``, one per lease name."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, lease: Lease) -> None:
        document = {
            "name": lease.name,
            "image_id": lease.image_id,
            "diff_ids": lease.diff_ids,
            "holder": lease.holder,
        }
        write_file_atomically(self._path(lease.name), orjson.dumps(document))

    def remove(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def list(self) -> list[Lease]:
        leases = []
        for entry in os.scandir(self.root):
            if not entry.name.endswith(".json"):
                continue
            try:
                document = orjson.loads(Path(entry.path).read_bytes())
            except (FileNotFoundError, orjson.JSONDecodeError):
                continue
            leases.append(Lease(**document))
        return leases

    def _path(self, name: str) -> Path:
        return self.root / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".json")
