"""What the node reports about its machine, read from /proc, /sys and /etc.

``read_machine_info`` reads what does not change while the agent runs (CPUs, memory,
hugepages, identity, kernel and OS); ``read_usage`` what pressure is judged from (available
memory, the data directory's filesystem, process count). Both read from a ``HostPaths``, so
tests hand them a fake tree; a file that is missing or unreadable (e.g. the DMI product UUID
without privileges) leaves its field empty instead of failing the agent.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

# Go's GOARCH names, which Kubernetes uses for kubernetes.io/arch and nodeInfo.architecture.
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True)
class HostPaths:
    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    etc: Path = Path("/etc")


@dataclass(frozen=True)
class MachineInfo:
    cpus: int
    memory_bytes: int
    # Resource name ("hugepages-2Mi") -> bytes of pre-allocated huge pages of that size.
    hugepages: dict[str, int] = field(default_factory=dict)
    machine_id: str = ""
    system_uuid: str = ""
    boot_id: str = ""
    kernel_version: str = ""
    os_image: str = ""
    architecture: str = ""


@dataclass(frozen=True)
class ResourceUsage:
    memory_available_bytes: int
    fs_capacity_bytes: int
    fs_available_bytes: int
    fs_inodes: int
    fs_inodes_free: int
    pid_max: int
    processes: int


def read_machine_info(paths: HostPaths = HostPaths()) -> MachineInfo:
    meminfo = _meminfo(paths)
    return MachineInfo(
        cpus=_online_cpus(paths),
        memory_bytes=meminfo.get("MemTotal", 0),
        hugepages=_hugepages(paths),
        machine_id=_first_line(paths.etc / "machine-id")
        or _first_line(paths.etc.parent / "var/lib/dbus/machine-id"),
        system_uuid=_first_line(paths.sys / "class/dmi/id/product_uuid"),
        boot_id=_first_line(paths.proc / "sys/kernel/random/boot_id"),
        kernel_version=_first_line(paths.proc / "sys/kernel/osrelease"),
        os_image=_os_image(paths),
        architecture=go_architecture(),
    )


def read_usage(data_dir: Path, paths: HostPaths = HostPaths()) -> ResourceUsage:
    """Current usage; ``data_dir`` names the filesystem of the node's data (nodefs)."""
    meminfo = _meminfo(paths)
    fs = os.statvfs(data_dir)
    return ResourceUsage(
        memory_available_bytes=meminfo.get("MemAvailable", meminfo.get("MemFree", 0)),
        fs_capacity_bytes=fs.f_blocks * fs.f_frsize,
        fs_available_bytes=fs.f_bavail * fs.f_frsize,
        fs_inodes=fs.f_files,
        fs_inodes_free=fs.f_favail,
        pid_max=_int(_first_line(paths.proc / "sys/kernel/pid_max")),
        processes=_processes(paths),
    )


def go_architecture() -> str:
    machine = platform.machine()
    return _GOARCH.get(machine, machine)


def _meminfo(paths: HostPaths) -> dict[str, int]:
    """/proc/meminfo in bytes (its kB are KiB)."""
    values: dict[str, int] = {}
    for line in _lines(paths.proc / "meminfo"):
        name, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            unit = 1024 if len(words) > 1 and words[1] == "kB" else 1
            values[name] = int(words[0]) * unit
    return values


def _online_cpus(paths: HostPaths) -> int:
    """Logical CPUs online, from ranges such as ``0-3,6``."""
    text = _first_line(paths.sys / "devices/system/cpu/online")
    count = 0
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count or os.cpu_count() or 1


def _hugepages(paths: HostPaths) -> dict[str, int]:
    pages: dict[str, int] = {}
    directory = paths.sys / "kernel/mm/hugepages"
    if not directory.is_dir():
        return pages
    for entry in sorted(directory.iterdir()):
        size_kib = entry.name.removeprefix("hugepages-").removesuffix("kB")
        if not size_kib.isdigit():
            continue
        count = _int(_first_line(entry / "nr_hugepages"))
        pages[f"hugepages-{_binary_size(int(size_kib) * 1024)}"] = count * int(size_kib) * 1024
    return pages


def _binary_size(size: int) -> str:
    """2097152 -> "2Mi", as Kubernetes names huge page resources."""
    for suffix, unit in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def _os_image(paths: HostPaths) -> str:
    for line in _lines(paths.etc / "os-release"):
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip().strip('"')
    return "Linux"


def _processes(paths: HostPaths) -> int:
    # /proc/loadavg: "0.00 0.01 0.05 1/123 4567": the fourth field is running/total tasks.
    words = _first_line(paths.proc / "loadavg").split()
    return _int(words[3].partition("/")[2]) if len(words) > 3 else 0


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def _first_line(path: Path) -> str:
    lines = _lines(path)
    return lines[0].strip() if lines else ""


def _int(text: str) -> int:
    return int(text) if text.strip().isdigit() else 0
