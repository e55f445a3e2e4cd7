"""Users and groups by name or number, looked up in a build step's root filesystem."""

from __future__ import annotations

from pathlib import Path

from ..errors import BuildError
from .fsops import resolve_in_root


def _entries(root: Path, name: str) -> list[list[str]]:
    path = resolve_in_root(root, f"/etc/{name}")
    try:
        lines = path.read_text(errors="replace").splitlines()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    return [line.split(":") for line in lines if line and not line.startswith("#")]


def _lookup_user(root: Path, user: str) -> tuple[int, int] | None:
    for fields in _entries(root, "passwd"):
        if len(fields) >= 4 and (fields[0] == user or fields[2] == user):
            return int(fields[2]), int(fields[3])
    return None


def _lookup_group(root: Path, group: str) -> int:
    if group.isdigit():
        return int(group)
    for fields in _entries(root, "group"):
        if len(fields) >= 3 and fields[0] == group:
            return int(fields[2])
    raise BuildError(f"unable to find group {group}: no matching entries in group file")


def user_owner(root: Path, spec: str) -> tuple[int, int]:
    """``(uid, gid)`` of ``USER spec``: without a group, the user's primary group (else 0)."""
    user, _, group = spec.partition(":")
    found = _lookup_user(root, user)
    if found is None and not user.isdigit():
        raise BuildError(f"unable to find user {user}: no matching entries in passwd file")
    uid = int(user) if found is None else found[0]
    return uid, _lookup_group(root, group) if group else (found[1] if found else 0)


def chown_owner(root: Path, spec: str) -> tuple[int, int]:
    """``(uid, gid)`` for ``--chown=spec``; without a group the gid is the uid, as Docker does."""
    user, _, group = spec.partition(":")
    found = _lookup_user(root, user)
    if found is None and not user.isdigit():
        raise BuildError(f"unable to find user {user}: no matching entries in passwd file")
    uid = int(user) if found is None else found[0]
    return uid, _lookup_group(root, group) if group else uid
