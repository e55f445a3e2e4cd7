"""Resource usage of containers and pods, read from their cgroups.

CPU is cumulative nanoseconds; ``usage_nano_cores`` is the rate since the previous sample of
the same cgroup taken by this object (None on the first). Memory working set is usage minus
inactive file pages, as cAdvisor and the kubelet compute it. The writable layer's usage is
the snapshot's own bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from ..interface import (
    ContainerAttributes,
    ContainerStats,
    CpuUsage,
    FilesystemUsage,
    MemoryUsage,
    PodSandboxStats,
    ProcessUsage,
)
from .cgroups import Cgroups, CgroupStats
from .context import now_ns
from .state import ContainerRecord, SandboxRecord


class StatsCollector:
    def __init__(self, cgroups: Cgroups, *, layer_usage: Callable[[str], int], layer_mountpoint: Callable[[str], str]):
        self.cgroups = cgroups
        self.layer_usage = layer_usage
        self.layer_mountpoint = layer_mountpoint
        self._samples: dict[str, tuple[int, int]] = {}  # cgroup -> (timestamp, cpu ns)

    def container(self, record: ContainerRecord) -> ContainerStats:
        timestamp = now_ns()
        usage = self.cgroups.stats(record.cgroup_path)
        return ContainerStats(
            attributes=ContainerAttributes(
                id=record.id,
                metadata=record.config.metadata,
                labels=record.config.labels,
                annotations=record.config.annotations,
            ),
            cpu=self._cpu(record.cgroup_path, timestamp, usage),
            memory=_memory(timestamp, usage),
            process=ProcessUsage(timestamp=timestamp, process_count=usage.pids),
            writable_layer=FilesystemUsage(
                timestamp=timestamp,
                mountpoint=self.layer_mountpoint(record.snapshot_key),
                used_bytes=self.layer_usage(record.snapshot_key),
            ),
        )

    def sandbox(self, record: SandboxRecord, containers: list[ContainerStats]) -> PodSandboxStats:
        timestamp = now_ns()
        usage = self.cgroups.stats(record.cgroup_path)
        return PodSandboxStats(
            id=record.id,
            metadata=record.config.metadata,
            cpu=self._cpu(record.cgroup_path, timestamp, usage),
            memory=_memory(timestamp, usage),
            process=ProcessUsage(timestamp=timestamp, process_count=usage.pids),
            containers=containers,
            labels=record.config.labels,
            annotations=record.config.annotations,
        )

    def forget(self, cgroup_path: str) -> None:
        self._samples.pop(cgroup_path, None)

    def _cpu(self, cgroup_path: str, timestamp: int, usage: CgroupStats) -> CpuUsage:
        previous = self._samples.get(cgroup_path)
        self._samples[cgroup_path] = (timestamp, usage.cpu_usage_ns)
        nano_cores = None
        if previous is not None and timestamp > previous[0]:
            elapsed = timestamp - previous[0]
            nano_cores = max(usage.cpu_usage_ns - previous[1], 0) * 1_000_000_000 // elapsed
        return CpuUsage(timestamp=timestamp, usage_core_nano_seconds=usage.cpu_usage_ns, usage_nano_cores=nano_cores)


def _memory(timestamp: int, usage: CgroupStats) -> MemoryUsage:
    available = None
    if usage.memory_limit is not None:
        available = max(usage.memory_limit - usage.memory_working_set, 0)
    return MemoryUsage(
        timestamp=timestamp,
        working_set_bytes=usage.memory_working_set,
        usage_bytes=usage.memory_usage,
        rss_bytes=usage.memory_rss,
        page_faults=usage.page_faults,
        major_page_faults=usage.major_page_faults,
        available_bytes=available,
    )
