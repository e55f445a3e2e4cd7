"""Host device nodes given to containers: the ones a config names, or all of them (privileged)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from ..interface import Device

# Not devices of their own: the container gets fresh ones of these.
SKIPPED_DIRECTORIES = {"pts", "shm", "mqueue", "fd"}


@dataclass(frozen=True)
class DeviceNode:
    path: str  # inside the container
    type: str  # "c" or "b"
    major: int
    minor: int
    file_mode: int
    uid: int
    gid: int
    permissions: str = "rwm"

    def spec(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "major": self.major,
            "minor": self.minor,
            "fileMode": self.file_mode,
            "uid": self.uid,
            "gid": self.gid,
        }

    def cgroup_rule(self) -> dict[str, Any]:
        return {
            "allow": True,
            "type": self.type,
            "major": self.major,
            "minor": self.minor,
            "access": self.permissions,
        }


def device_node(host_path: str, container_path: str = "", permissions: str = "rwm") -> DeviceNode:
    """The node at ``host_path`` (symbolic links followed), to appear at ``container_path``."""
    try:
        st = os.stat(host_path)
    except OSError as error:
        raise InvalidArgument(f"device {host_path}: {error.strerror}") from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise InvalidArgument(f"{host_path} is not a device")
    return DeviceNode(
        path=container_path or host_path,
        type=kind,
        major=os.major(st.st_rdev),
        minor=os.minor(st.st_rdev),
        file_mode=stat.S_IMODE(st.st_mode),
        uid=st.st_uid,
        gid=st.st_gid,
        permissions=permissions or "rwm",
    )


def config_devices(devices: list[Device]) -> list[DeviceNode]:
    return [device_node(d.host_path, d.container_path, d.permissions) for d in devices]


def host_devices(root: Path = Path("/dev")) -> list[DeviceNode]:
    """Every character and block device under ``root``, for privileged containers."""
    nodes = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRECTORIES]
        for name in files:
            path = os.path.join(directory, name)
            if name == "console" or os.path.islink(path):
                continue
            mode = os.lstat(path).st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                nodes.append(device_node(path))
    return nodes
