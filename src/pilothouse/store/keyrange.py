"""Key ranges: turning a prefix into a half-open interval of keys.

Every backend orders keys the same way: by code point, which is also the byte order of their
UTF-8 encoding (what SQLite's BINARY collation and etcd compare). A prefix ``p`` selects the
keys ``k`` with ``p <= k < prefix_end(p)``, which an ordered index answers with one seek.
"""

from __future__ import annotations

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)  # not encodable in UTF-8, so never part of a key


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``.

    None when there is no such bound (the empty prefix, or one made only of U+10FFFF).
    """
    stem = prefix.rstrip(chr(_MAX_CODE_POINT))
    if not stem:
        return None
    successor = ord(stem[-1]) + 1
    if successor in _SURROGATES:
        successor = _SURROGATES.stop
    return stem[:-1] + chr(successor)


def range_start(prefix: str, start_after: str | None) -> tuple[str, bool]:
    """Where a scan of ``prefix`` resumes: (bound, inclusive).

    The scan starts at ``prefix`` itself (inclusive) unless ``start_after`` lies at or
    beyond it, in which case it starts just after ``start_after``.
    """
    if start_after is not None and start_after >= prefix:
        return start_after, False
    return prefix, True
