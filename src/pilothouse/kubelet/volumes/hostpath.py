"""hostPath volumes: a path of the node itself, checked against the volume's ``type``.

The path is handed to containers as is (nothing is mounted or copied). The type check is
upstream's, with its messages:

    ""                   no check
    DirectoryOrCreate    created (mode 0755, like mkdir -p) when missing, else must be a directory
    Directory            must be a directory
    FileOrCreate         created empty (mode 0644) when missing (its parent must exist), else
                         must not be a directory
    File                 must exist and not be a directory
    Socket, CharDevice, BlockDevice   must be one

Symbolic links are followed, and a path with a ``..`` element is refused outright.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, ClassVar

from pilothouse.kubelet.volumes.blocking import blocking
from pilothouse.kubelet.volumes.errors import SourceError, describe, setup_failed
from pilothouse.kubelet.volumes.host import VolumeHost
from pilothouse.kubelet.volumes.layout import HOST_PATH
from pilothouse.kubelet.volumes.podvolumes import PodVolume

Obj = dict[str, Any]

_FILE_TYPES = {
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


class HostPathPlugin:
    source: ClassVar[str] = "hostPath"

    async def set_up(self, host: VolumeHost, pod: Obj, volume: Obj) -> PodVolume:
        source = volume.get(self.source) or {}
        path = source.get("path") or ""
        try:
            await blocking(check_host_path, path, source.get("type") or "")
        except (OSError, SourceError) as error:
            raise setup_failed(volume["name"], describe(error)) from None
        return PodVolume(volume["name"], HOST_PATH, Path(path))


def check_host_path(path: str, path_type: str) -> None:
    if ".." in path.split("/"):
        raise SourceError(f"invalid HostPath `{path}`: must not contain '..'")
    if path_type == "":
        return
    exists = os.path.exists(path)
    if path_type == "DirectoryOrCreate" and not exists:
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif path_type in ("DirectoryOrCreate", "Directory"):
        if not os.path.isdir(path):
            raise SourceError(f"hostPath type check failed: {path} is not a directory")
    elif path_type == "FileOrCreate" and not exists:
        os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o644))
    elif path_type in ("FileOrCreate", "File"):
        if not exists or os.path.isdir(path):
            raise SourceError(f"hostPath type check failed: {path} is not a file")
    elif path_type in _FILE_TYPES:
        is_type, noun = _FILE_TYPES[path_type]
        if not _has_type(path, is_type):
            raise SourceError(f"hostPath type check failed: {path} is not {noun}")
    else:
        raise SourceError(f"{path_type} is an invalid volume type")


def _has_type(path: str, is_type: Any) -> bool:
    try:
        return bool(is_type(os.stat(path).st_mode))
    except OSError:
        return False
