"""What the runtime keeps on disk, so that any process that opens the root sees the same state.

Layout under the runtime root::

    lock                         flock: creation and removal are serialised across processes
    sandboxes/<id>/sandbox.json  a sandbox's record
                  /netns, ipcns, utsns  its pinned namespaces
                  /hostname, hosts, resolv.conf, shm/
                  /infra/        its infra process's bundle and monitor files (if any)
    containers/<id>/container.json, config.json, monitor files, container.log
    crun/ (or runc/)             the OCI runtime's own state

Records are replaced atomically (write, rename), so readers never see half a record. A
record whose ``creator`` is set is still being made by that process; recovery removes it
only once that process is gone. Exit information is not stored by the monitor here but
read from its ``exit`` file and copied into the record the first time it is seen.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


class StateStore:
    def __init__(self, root: Path):
        self.root = root
        self.sandboxes = root / "sandboxes"
        self.containers = root / "containers"
        for directory in (self.sandboxes, self.containers):
            directory.mkdir(parents=True, exist_ok=True)

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
        _write(self.sandbox_dir(record.id) / "sandbox.json", encode(record))

    def load_sandbox(self, sandbox_id: str) -> SandboxRecord:
        data = _read(self.sandbox_dir(sandbox_id) / "sandbox.json") if _valid_id(sandbox_id) else None
        if data is None:
            raise NotFound(f"pod sandbox {sandbox_id!r} not found")
        return decode(SandboxRecord, data)

    def list_sandboxes(self) -> list[SandboxRecord]:
        return [decode(SandboxRecord, d) for d in _read_all(self.sandboxes, "sandbox.json")]

    def delete_sandbox(self, sandbox_id: str) -> None:
        shutil.rmtree(self.sandbox_dir(sandbox_id), ignore_errors=True)

    # containers

    def container_files(self, container_id: str) -> BundleFiles:
        return BundleFiles(self.containers / container_id)

    def save_container(self, record: ContainerRecord) -> None:
        _write(self.containers / record.id / "container.json", encode(record))

    def load_container(self, container_id: str) -> ContainerRecord:
        data = _read(self.containers / container_id / "container.json") if _valid_id(container_id) else None
        if data is None:
            raise NotFound(f"container {container_id!r} not found")
        return decode(ContainerRecord, data)

    def list_containers(self) -> list[ContainerRecord]:
        return [decode(ContainerRecord, d) for d in _read_all(self.containers, "container.json")]

    def delete_container(self, container_id: str) -> None:
        shutil.rmtree(self.containers / container_id, ignore_errors=True)


def _valid_id(value: str) -> bool:
    return bool(value) and "/" not in value and value not in (".", "..")


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_bytes(orjson.dumps(data))
    temp.rename(path)


def _read(path: Path) -> object | None:
    try:
        return orjson.loads(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_all(directory: Path, name: str) -> Iterator[object]:
    for entry in os.scandir(directory):
        data = _read(Path(entry.path) / name)
        if data is not None:
            yield data
