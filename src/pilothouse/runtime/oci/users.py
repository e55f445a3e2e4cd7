"""Who a container's process runs as: users and groups resolved in the image's own files.

Names are looked up in the root filesystem's ``/etc/passwd`` and ``/etc/group`` (read through
:func:`rootfs_path`, so that symbolic links cannot lead outside the root filesystem), with
containerd's rules:

- ``run_as_user`` / ``run_as_username`` from the container's security context win over the
  image's ``USER``; ``run_as_group`` needs one of them;
- a name must exist, a numeric uid need not (its group is then 0 unless the passwd file
  knows it);
- the additional groups are the primary group, the groups that list the user as a member,
  then the security context's supplemental groups (the CVE-2023-25173 fix).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidArgument
from ..interface import LinuxContainerSecurityContext

MAX_SYMLINKS = 40


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class ProcessUser:
    uid: int
    gid: int
    additional_gids: list[int] = field(default_factory=list)
    home: str = ""


def resolve_user(
    rootfs: Path, image_user: str, security: LinuxContainerSecurityContext
) -> ProcessUser:
    """The uid, gid and groups of a container's first process."""
    passwd = read_passwd(rootfs)
    if security.run_as_group is not None and security.run_as_user is None and not security.run_as_username:
        raise InvalidArgument("run_as_group is set without run_as_user or run_as_username")
    if security.run_as_username:
        entry = _by_name(passwd, security.run_as_username)
        user, gid = entry, entry.gid
    elif security.run_as_user is not None:
        user = _by_uid(passwd, security.run_as_user)
        gid = user.gid if user.name else 0
    else:
        return _with_groups(rootfs, *_parse_user_string(rootfs, passwd, image_user), security)
    if security.run_as_group is not None:
        gid = security.run_as_group
    return _with_groups(rootfs, user, gid, security)


def parse_user_string(rootfs: Path, spec: str) -> ProcessUser:
    """Resolves a Docker ``USER`` string (``name``, ``uid``, ``name:group``, ``uid:gid``)."""
    user, gid = _parse_user_string(rootfs, read_passwd(rootfs), spec)
    return _with_groups(rootfs, user, gid, LinuxContainerSecurityContext())


def _parse_user_string(
    rootfs: Path, passwd: list[PasswdEntry], spec: str
) -> tuple[PasswdEntry, int]:
    user_part, _, group_part = (spec or "0").partition(":")
    if user_part.isdigit():
        user = _by_uid(passwd, int(user_part))
        gid = user.gid if user.name else 0
    else:
        user = _by_name(passwd, user_part)
        gid = user.gid
    if group_part:
        gid = int(group_part) if group_part.isdigit() else _group_by_name(rootfs, group_part).gid
    return user, gid


def _with_groups(
    rootfs: Path, user: PasswdEntry, gid: int, security: LinuxContainerSecurityContext
) -> ProcessUser:
    gids = [gid]
    if user.name:
        gids += [g.gid for g in read_groups(rootfs) if user.name in g.members]
    gids += security.supplemental_groups
    return ProcessUser(uid=user.uid, gid=gid, additional_gids=list(dict.fromkeys(gids)), home=user.home)


def _by_name(passwd: list[PasswdEntry], name: str) -> PasswdEntry:
    for entry in passwd:
        if entry.name == name:
            return entry
    raise InvalidArgument(f"unable to find user {name}: no matching entries in passwd file")


def _by_uid(passwd: list[PasswdEntry], uid: int) -> PasswdEntry:
    for entry in passwd:
        if entry.uid == uid:
            return entry
    return PasswdEntry(name="", uid=uid, gid=0, home="/")


def _group_by_name(rootfs: Path, name: str) -> GroupEntry:
    for entry in read_groups(rootfs):
        if entry.name == name:
            return entry
    raise InvalidArgument(f"unable to find group {name}: no matching entries in group file")


def read_passwd(rootfs: Path) -> list[PasswdEntry]:
    entries = []
    for fields in _colon_file(rootfs, "/etc/passwd", 7):
        if fields[2].isdigit() and fields[3].isdigit():
            entries.append(PasswdEntry(fields[0], int(fields[2]), int(fields[3]), fields[5]))
    return entries


def read_groups(rootfs: Path) -> list[GroupEntry]:
    entries = []
    for fields in _colon_file(rootfs, "/etc/group", 4):
        if fields[2].isdigit():
            members = tuple(m for m in fields[3].split(",") if m)
            entries.append(GroupEntry(fields[0], int(fields[2]), members))
    return entries


def _colon_file(rootfs: Path, path: str, width: int) -> list[list[str]]:
    try:
        text = rootfs_path(rootfs, path).read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return []
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split(":")
            if len(fields) >= width:
                rows.append(fields)
    return rows


def rootfs_path(rootfs: Path, path: str) -> Path:
    """``path`` inside ``rootfs`` with symbolic links resolved as if ``rootfs`` were ``/``."""
    resolved = rootfs
    pending = [part for part in path.split("/") if part]
    followed = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            resolved = resolved.parent if resolved != rootfs else rootfs
            continue
        candidate = resolved / part
        if candidate.is_symlink():
            followed += 1
            if followed > MAX_SYMLINKS:
                raise InvalidArgument(f"too many levels of symbolic links in {path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = rootfs
            pending = [p for p in target.split("/") if p] + pending
            continue
        resolved = candidate
    return resolved
