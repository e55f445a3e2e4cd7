"""Which revision a read is served at: the rule every backend applies the same way."""

from __future__ import annotations

from .interface import Expired, FutureRevision


def read_revision(requested: int, *, current: int, compacted: int) -> int:
    """The revision to read at for ``requested`` (0: the latest).

    Raises FutureRevision above ``current`` and Expired below ``compacted`` (the state at
    the compacted revision itself is kept).
    """
    if requested == 0:
        return current
    if requested > current:
        raise FutureRevision(requested, current)
    if requested < compacted:
        raise Expired(requested, compacted)
    return requested
