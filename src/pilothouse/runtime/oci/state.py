"""What the runtime keeps on disk, so that any process that opens the root sees the same state.

Layout under the runtime root::

    lock                         flock: creation and removal are serialised across processes
    sandboxes/<id>/sandbox.json  a sandbox's record
                  /netns, ipcns, utsns  its pinned namespaces
                  /hostname, hosts, resolv.conf, shm/
                  /infra/        its infra process's bundle and monitor files (if any)
    containers/<id>/container.json, config.json, monitor files, container.log
    crun/ (or runc/)             the OCI runtime's own state

Records are replaced atomically (write, rename), so readers never see half a record.

Each store keeps the records it decoded, so that listing a busy node's containers costs a
``stat`` per unchanged record rather than a read and a decode (which made listing the
largest cost of a kubelet starting 20 pods a second). A record is known unchanged when its
file has the inode, modification time and size it had when decoded, and that modification
time was already :data:`SETTLED` in the past then: a file changed within the clock tick of
the last read could otherwise keep all three (the check git makes for its index). Younger
files are compared byte for byte. Another process's write is thus seen at once. Reads return
a copy, so callers may change the fields of what they get.

A record whose ``creator`` is set is still being made by that process; recovery removes it
only once that process is gone. Exit information is not stored by the monitor here but
read from its ``exit`` file and copied into the record the first time it is seen.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ..codec import decode, encode
from ..errors import NotFound
from ..images.locking import file_lock
from ..interface import (
    ContainerConfig,
    LinuxContainerResources,
    PodSandboxConfig,
    PodSandboxNetworkStatus,
)
from .conmon import BundleFiles
from .processes import ProcessRef


@dataclass
class SandboxRecord:
    id: str
    config: PodSandboxConfig
    created_at: int
    cgroup_path: str  # the pod's cgroup
    runtime_handler: str = ""
    pinned: dict[str, str] = field(default_factory=dict)  # "net", "ipc", "uts" -> pinned file
    network: PodSandboxNetworkStatus = field(default_factory=PodSandboxNetworkStatus)
    infra: ProcessRef | None = None  # only when the pod shares a PID namespace
    monitor: ProcessRef | None = None
    stopped: bool = False
    creator: ProcessRef | None = None

    @property
    def netns_path(self) -> str:
        """The pod's network namespace; "" for the host's."""
        return self.pinned.get("net", "")


@dataclass
class ContainerRecord:
    id: str
    sandbox_id: str
    config: ContainerConfig
    image_ref: str  # the image as asked for
    image_id: str
    repo_digest: str
    log_path: str
    cgroup_path: str
    snapshot_key: str
    stop_signal: int
    created_at: int
    resources: LinuxContainerResources = field(default_factory=LinuxContainerResources)
    argv: list[str] = field(default_factory=list)  # the process's command line
    process: ProcessRef | None = None
    monitor: ProcessRef | None = None
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    creator: ProcessRef | None = None


Record = TypeVar("Record", SandboxRecord, ContainerRecord)
Stamp = tuple[int, int, int]  # a record file's inode, modification time (ns) and size
SETTLED = 2_000_000_000  # ns: beyond any file system's timestamp granularity


@dataclass
class _Decoded:
    data: bytes
    record: Any
    stamp: Stamp | None  # None: the file was too young to be known by its stamp


class StateStore:
    def __init__(self, root: Path):
        self.root = root
        self.sandboxes = root / "sandboxes"
        self.containers = root / "containers"
        for directory in (self.sandboxes, self.containers):
            directory.mkdir(parents=True, exist_ok=True)
        self._decoded: dict[Path, _Decoded] = {}

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with file_lock(self.root / "lock"):
            yield

    # sandboxes

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.sandboxes / sandbox_id

    def infra_files(self, sandbox_id: str) -> BundleFiles:
        return BundleFiles(self.sandbox_dir(sandbox_id) / "infra")

    def save_sandbox(self, record: SandboxRecord) -> None:
        self._save(self.sandbox_dir(record.id) / "sandbox.json", record)

    def load_sandbox(self, sandbox_id: str) -> SandboxRecord:
        path = self.sandbox_dir(sandbox_id) / "sandbox.json"
        record = self._load(SandboxRecord, path) if _valid_id(sandbox_id) else None
        if record is None:
            raise NotFound(f"pod sandbox {sandbox_id!r} not found")
        return record

    def list_sandboxes(self) -> list[SandboxRecord]:
        return self._load_all(SandboxRecord, self.sandboxes, "sandbox.json")

    def delete_sandbox(self, sandbox_id: str) -> None:
        shutil.rmtree(self.sandbox_dir(sandbox_id), ignore_errors=True)
        self._decoded.pop(self.sandbox_dir(sandbox_id) / "sandbox.json", None)

    # containers

    def container_files(self, container_id: str) -> BundleFiles:
        return BundleFiles(self.containers / container_id)

    def save_container(self, record: ContainerRecord) -> None:
        self._save(self.containers / record.id / "container.json", record)

    def load_container(self, container_id: str) -> ContainerRecord:
        path = self.containers / container_id / "container.json"
        record = self._load(ContainerRecord, path) if _valid_id(container_id) else None
        if record is None:
            raise NotFound(f"container {container_id!r} not found")
        return record

    def list_containers(self) -> list[ContainerRecord]:
        return self._load_all(ContainerRecord, self.containers, "container.json")

    def delete_container(self, container_id: str) -> None:
        shutil.rmtree(self.containers / container_id, ignore_errors=True)
        self._decoded.pop(self.containers / container_id / "container.json", None)

    # records, decoded once per version of their file

    def _save(self, path: Path, record: SandboxRecord | ContainerRecord) -> None:
        data = orjson.dumps(encode(record))
        _write(path, data)
        self._decoded[path] = _Decoded(data, copy.copy(record), stamp=None)  # just written: young

    def _load(self, cls: type[Record], path: Path) -> Record | None:
        try:
            status = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self._decoded.pop(path, None)
            return None
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        cached = self._decoded.get(path)
        if cached is None or cached.stamp != stamp:
            data = _read(path)
            if data is None:
                self._decoded.pop(path, None)
                return None
            if cached is None or cached.data != data:
                cached = _Decoded(data, decode(cls, orjson.loads(data)), stamp=None)
                self._decoded[path] = cached
            # Trust the stamp from now on only if the file was settled before it was read.
            settled = time.time_ns() - status.st_mtime_ns > SETTLED
            cached.stamp = stamp if settled and len(data) == status.st_size else None
        record: Record = copy.copy(cached.record)
        return record

    def _load_all(self, cls: type[Record], directory: Path, name: str) -> list[Record]:
        records = []
        listed = set()
        for entry in os.scandir(directory):
            path = Path(entry.path) / name
            listed.add(path)
            record = self._load(cls, path)
            if record is not None:
                records.append(record)
        # Forget what another process deleted.
        for path in [p for p in self._decoded if p.parent.parent == directory and p not in listed]:
            del self._decoded[path]
        return records


def _valid_id(value: str) -> bool:
    return bool(value) and "/" not in value and value not in (".", "..")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_bytes(data)
    temp.rename(path)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
