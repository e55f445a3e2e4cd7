"""cgroups v1 and v2: detection, pod cgroups, limits, statistics, OOM counts, teardown.

The layout is detected once from ``/proc/self/mountinfo``: pure v2 (cgroup2 on
``/sys/fs/cgroup``), or v1 with one directory tree per hierarchy (``/sys/fs/cgroup/memory``,
...), possibly "hybrid" with a cgroup2 tree beside them, which pilothouse leaves alone.

Paths are absolute cgroup paths (``/pilothouse/pod-<id>/<container id>``), the same in every
hierarchy, as in an OCI ``linux.cgroupsPath``. The OCI runtime creates and limits container
cgroups; this module creates the pilothouse parent and pod cgroups (with pod-level limits),
reads statistics and OOM kill counts, moves monitor processes, and removes trees bottom-up,
killing whatever still runs in them.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from ..interface import LinuxContainerResources

MOUNTINFO = Path("/proc/self/mountinfo")
PROC_CGROUPS = Path("/proc/cgroups")
V2_CONTROLLERS = ("cpuset", "cpu", "io", "memory", "pids")
UNLIMITED = 1 << 62  # v1 reports "no limit" as a page-rounded LONG_MAX
REMOVE_TIMEOUT = 5.0


@dataclass(frozen=True)
class CgroupStats:
    cpu_usage_ns: int
    memory_usage: int
    memory_working_set: int
    memory_rss: int
    memory_limit: int | None
    page_faults: int
    major_page_faults: int
    pids: int


@dataclass(frozen=True)
class CgroupLayout:
    """Where the cgroup trees are mounted: v2 has one, v1 one per hierarchy."""

    version: int
    trees: dict[str, Path]  # v1: controller (or "name=systemd") -> mount point; v2: {"": root}
    hybrid_v2: Path | None = None  # a cgroup2 tree mounted beside the v1 ones

    @property
    def is_v2(self) -> bool:
        return self.version == 2

    def dirs(self, path: str) -> list[Path]:
        """The directory of cgroup ``path`` in every tree (once per mount point)."""
        mounts = dict.fromkeys(self.trees.values())
        return [mount / path.lstrip("/") for mount in mounts]

    def dir(self, controller: str, path: str) -> Path:
        return self.trees["" if self.is_v2 else controller] / path.lstrip("/")

    def all_dirs(self, path: str) -> list[Path]:
        """``dirs`` plus the path in a hybrid layout's cgroup2 tree: we create nothing there,
        but OCI runtime verbs that run unwrapped (exec, delete) may, and it must go too."""
        extra = [self.hybrid_v2 / path.lstrip("/")] if self.hybrid_v2 is not None else []
        return self.dirs(path) + extra


def detect(mountinfo: Path = MOUNTINFO, proc_cgroups: Path = PROC_CGROUPS) -> CgroupLayout:
    controllers = {line.split()[0] for line in proc_cgroups.read_text().splitlines()[1:] if line}
    v1: dict[str, Path] = {}
    v2: dict[Path, Path] = {}
    for line in mountinfo.read_text().splitlines():
        before, _, after = line.partition(" - ")
        fstype, _source, options = after.split(maxsplit=3)[:3]
        if fstype not in ("cgroup", "cgroup2"):
            continue  # most lines, where pods run: their overlays, /dev/shm and namespace pins
        mount_point = Path(before.split(maxsplit=5)[4].replace("\\040", " "))
        if fstype == "cgroup2":
            v2[mount_point] = mount_point
        else:
            for option in options.split(","):
                if option in controllers or option.startswith("name="):
                    v1[option] = mount_point
    if not v1:
        (root,) = [p for p in v2 if p == Path("/sys/fs/cgroup")] or list(v2)[:1]
        return CgroupLayout(version=2, trees={"": root})
    return CgroupLayout(version=1, trees=v1, hybrid_v2=next(iter(v2), None))


class Cgroups:
    """Operations on cgroup paths in a detected layout."""

    def __init__(self, layout: CgroupLayout):
        self.layout = layout

    def create(self, path: str, resources: LinuxContainerResources | None = None) -> None:
        """Makes ``path`` (and missing parents) in every tree, then applies ``resources``."""
        if self.layout.is_v2:
            self._create_v2(path)
        else:
            for directory in self.layout.dirs(path):
                self._mkdirs_v1(directory)
        if resources is not None:
            self.apply(path, resources)

    def exists(self, path: str) -> bool:
        return any(d.is_dir() for d in self.layout.all_dirs(path))

    def add_process(self, path: str, pid: int) -> None:
        for directory in self.layout.dirs(path):
            (directory / "cgroup.procs").write_text(str(pid))

    def apply(self, path: str, resources: LinuxContainerResources) -> None:
        if self.layout.is_v2:
            self._apply_v2(self.layout.dir("", path), resources)
        else:
            self._apply_v1(path, resources)

    def remove(self, path: str) -> None:
        """Removes ``path`` and everything below it, deepest first, killing what still runs."""
        for directory in self.layout.all_dirs(path):
            _remove_tree(directory)

    def remove_empty_parents(self, path: str) -> None:
        """Removes the ancestors of ``path`` that hold no other cgroup (shared parents such
        as ``/pilothouse-oneshot``), leaving any still in use by someone else alone."""
        parts = [p for p in path.split("/") if p][:-1]
        while parts:
            for directory in self.layout.all_dirs("/".join(parts)):
                try:
                    directory.rmdir()
                except OSError:
                    pass  # gone already, or not empty: in use by another cgroup
            parts.pop()

    def children(self, path: str) -> list[str]:
        names: set[str] = set()
        for directory in self.layout.dirs(path):
            if directory.is_dir():
                names.update(e.name for e in os.scandir(directory) if e.is_dir())
        return sorted(names)

    def oom_kills(self, path: str) -> int:
        """How many processes the OOM killer killed in ``path`` (0 if it does not exist)."""
        if self.layout.is_v2:
            return _keyed(self.layout.dir("", path) / "memory.events").get("oom_kill", 0)
        return _keyed(self.layout.dir("memory", path) / "memory.oom_control").get("oom_kill", 0)

    def stats(self, path: str) -> CgroupStats:
        return self._stats_v2(path) if self.layout.is_v2 else self._stats_v1(path)

    # -- v1 ---------------------------------------------------------------------------------

    def _mkdirs_v1(self, directory: Path) -> None:
        missing = []
        while not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for new in reversed(missing):
            new.mkdir()
            if (new / "cpuset.cpus").exists():
                # cpuset cgroups start empty, and a process cannot join an empty cpuset.
                for name in ("cpuset.cpus", "cpuset.mems"):
                    (new / name).write_text((new.parent / name).read_text())

    def _apply_v1(self, path: str, r: LinuxContainerResources) -> None:
        writes: list[tuple[str, str, str]] = []
        if r.cpu_shares:
            writes.append(("cpu", "cpu.shares", str(r.cpu_shares)))
        if r.cpu_period:
            writes.append(("cpu", "cpu.cfs_period_us", str(r.cpu_period)))
        if r.cpu_quota:
            writes.append(("cpu", "cpu.cfs_quota_us", str(r.cpu_quota)))
        if r.cpuset_cpus:
            writes.append(("cpuset", "cpuset.cpus", r.cpuset_cpus))
        if r.cpuset_mems:
            writes.append(("cpuset", "cpuset.mems", r.cpuset_mems))
        if r.memory_limit_in_bytes:
            writes.append(("memory", "memory.limit_in_bytes", str(r.memory_limit_in_bytes)))
        if r.memory_swap_limit_in_bytes:
            writes.append(("memory", "memory.memsw.limit_in_bytes", str(r.memory_swap_limit_in_bytes)))
        if r.pids_limit:
            writes.append(("pids", "pids.max", str(r.pids_limit)))
        for controller, name, value in writes:
            (self.layout.dir(controller, path) / name).write_text(value)

    def _stats_v1(self, path: str) -> CgroupStats:
        memory = self.layout.dir("memory", path)
        stat = _keyed(memory / "memory.stat")
        usage = _read_int(memory / "memory.usage_in_bytes")
        limit = _read_int(memory / "memory.limit_in_bytes")
        return CgroupStats(
            cpu_usage_ns=_read_int(self.layout.dir("cpuacct", path) / "cpuacct.usage"),
            memory_usage=usage,
            memory_working_set=max(usage - stat.get("total_inactive_file", 0), 0),
            memory_rss=stat.get("total_rss", 0),
            memory_limit=limit if 0 < limit < UNLIMITED else None,
            page_faults=stat.get("total_pgfault", 0),
            major_page_faults=stat.get("total_pgmajfault", 0),
            pids=_read_int(self.layout.dir("pids", path) / "pids.current"),
        )

    # -- v2 ---------------------------------------------------------------------------------

    def _create_v2(self, path: str) -> None:
        root = self.layout.trees[""]
        directory = root
        for part in [p for p in path.split("/") if p]:
            available = set(_read_words(directory / "cgroup.controllers"))
            wanted = [c for c in V2_CONTROLLERS if c in available]
            enabled = set(_read_words(directory / "cgroup.subtree_control"))
            missing = [c for c in wanted if c not in enabled]
            if missing:
                (directory / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))
            directory = directory / part
            directory.mkdir(exist_ok=True)

    def _apply_v2(self, directory: Path, r: LinuxContainerResources) -> None:
        writes: dict[str, str] = {}
        if r.cpu_shares:
            writes["cpu.weight"] = str(shares_to_weight(r.cpu_shares))
        if r.cpu_quota or r.cpu_period:
            quota = str(r.cpu_quota) if r.cpu_quota > 0 else "max"
            writes["cpu.max"] = f"{quota} {r.cpu_period or 100000}"
        if r.cpuset_cpus:
            writes["cpuset.cpus"] = r.cpuset_cpus
        if r.cpuset_mems:
            writes["cpuset.mems"] = r.cpuset_mems
        if r.memory_limit_in_bytes:
            writes["memory.max"] = str(r.memory_limit_in_bytes)
        if r.memory_swap_limit_in_bytes and r.memory_limit_in_bytes:
            swap = r.memory_swap_limit_in_bytes - r.memory_limit_in_bytes
            writes["memory.swap.max"] = str(max(swap, 0))
        if r.pids_limit:
            writes["pids.max"] = str(r.pids_limit)
        writes.update(r.unified)
        for name, value in writes.items():
            (directory / name).write_text(value)

    def _stats_v2(self, path: str) -> CgroupStats:
        directory = self.layout.dir("", path)
        stat = _keyed(directory / "memory.stat")
        usage = _read_int(directory / "memory.current")
        limit_text = _read_text(directory / "memory.max")
        return CgroupStats(
            cpu_usage_ns=_keyed(directory / "cpu.stat").get("usage_usec", 0) * 1000,
            memory_usage=usage,
            memory_working_set=max(usage - stat.get("inactive_file", 0), 0),
            memory_rss=stat.get("anon", 0),
            memory_limit=int(limit_text) if limit_text.isdigit() else None,
            page_faults=stat.get("pgfault", 0),
            major_page_faults=stat.get("pgmajfault", 0),
            pids=_read_int(directory / "pids.current"),
        )


def shares_to_weight(shares: int) -> int:
    """cgroup v1 CPU shares (2..262144) to v2 weight (1..10000), as runc and crun convert."""
    return 1 + ((max(shares, 2) - 2) * 9999) // 262142


def _remove_tree(directory: Path) -> None:
    if not directory.is_dir():
        return
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            _remove_tree(Path(entry.path))
    deadline = time.monotonic() + REMOVE_TIMEOUT
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
        for pid in _read_pids(directory):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


def _read_pids(directory: Path) -> list[int]:
    return [int(word) for word in _read_words(directory / "cgroup.procs")]


def _read_words(path: Path) -> list[str]:
    return _read_text(path).split()


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _read_int(path: Path) -> int:
    text = _read_text(path)
    return int(text) if text.lstrip("-").isdigit() else 0


def _keyed(path: Path) -> dict[str, int]:
    values = {}
    for line in _read_text(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values
