"""Identity of network namespaces, to make sure a plugin is never pointed at the wrong one.

A sandbox's namespace is named by a path (``/proc/<pid>/ns/net`` of its infra process or a
bind mount under ``/run/netns``). Paths are not identities: after the infra process dies its
pid can be reused by any process, and ``/proc/<pid>/ns/net`` then names that process's
namespace, possibly the node's own, where a bridge-plugin DEL would delete the node's
``eth0`` and a loopback DEL would take down its ``lo``. The (device, inode) pair of the
namespace file is its identity; it is recorded at ADD and compared before DEL and CHECK.
"""

from __future__ import annotations

import os

NetnsIdentity = tuple[int, int]

OWN_NETNS = "/proc/self/ns/net"


def netns_identity(path: str) -> NetnsIdentity | None:
    """The identity of the namespace ``path`` names now, or None if it names nothing."""
    if not path:
        return None
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError, ProcessLookupError, PermissionError):
        return None
    return (info.st_dev, info.st_ino)


def own_netns_identity() -> NetnsIdentity:
    """The namespace this process (and every plugin it runs) operates in: the node's."""
    identity = netns_identity(OWN_NETNS)
    assert identity is not None, "/proc is not mounted"
    return identity


def is_foreign_netns(path: str) -> bool:
    """True if ``path`` names an existing namespace other than the node's own."""
    identity = netns_identity(path)
    return identity is not None and identity != own_netns_identity()
