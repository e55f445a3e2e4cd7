"""fsGroup: hand a volume's files to the pod's group, as the kubelet's SetVolumeOwnership does.

Every entry of the volume (the root included, symbolic links not followed) gets the group
``fsGroup`` and the group bits rw (r for read-only volumes); directories also get x and the
setgid bit so new files inherit the group. Symbolic links keep their mode (chmod would follow
them). With ``fsGroupChangePolicy: OnRootMismatch`` nothing is walked when the root already
has the group, the bits and setgid. Failures on single entries are ignored, as upstream logs
and skips them: a volume that is partly owned is still usable by root containers.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

_RW_MASK = 0o660
_RO_MASK = 0o440
_EXEC_MASK = 0o110
ON_ROOT_MISMATCH = "OnRootMismatch"


def set_volume_ownership(directory: Path, fs_group: int | None, *, read_only: bool,
                         change_policy: str = "") -> None:
    if fs_group is None:
        return
    if change_policy == ON_ROOT_MISMATCH and not _root_mismatch(directory, fs_group, read_only):
        return
    mask = _RO_MASK if read_only else _RW_MASK
    _change(directory, fs_group, mask)
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            _change(Path(root, name), fs_group, mask)


def fs_group_of(pod: dict[str, Any]) -> int | None:
    return ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")


def fs_group_change_policy_of(pod: dict[str, Any]) -> str:
    return ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroupChangePolicy") or ""


def _change(path: Path, fs_group: int, mask: int) -> None:
    try:
        os.lchown(path, -1, fs_group)
    except OSError:
        pass
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return
        if stat.S_ISDIR(info.st_mode):
            mask |= stat.S_ISGID | _EXEC_MASK
        os.chmod(path, stat.S_IMODE(info.st_mode) | mask)
    except OSError:
        pass


def _root_mismatch(directory: Path, fs_group: int, read_only: bool) -> bool:
    try:
        info = os.stat(directory)
    except OSError:
        return True
    if info.st_gid != fs_group or not stat.S_ISDIR(info.st_mode):
        return True
    wanted = (_RO_MASK if read_only else _RW_MASK) | _EXEC_MASK
    return (info.st_mode & wanted) != wanted or not info.st_mode & stat.S_ISGID


def fs_user_of(pod: dict[str, Any]) -> int | None:
    """The user every init and app container runs as, when they all run as the same one."""
    spec = pod.get("spec") or {}
    pod_user = (spec.get("securityContext") or {}).get("runAsUser")
    users = set()
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        user = (container.get("securityContext") or {}).get("runAsUser", pod_user)
        if user is None:
            return None
        users.add(user)
    return users.pop() if len(users) == 1 else None
