"""Content digests: ``sha256:<64 hex>``, the only algorithm the store accepts."""

from __future__ import annotations

import hashlib
import re

from .errors import InvalidImage

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """Returns ``digest`` if it is a well-formed sha256 digest, else raises InvalidImage."""
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise InvalidImage(f"invalid or unsupported digest {digest!r} (only sha256 is supported)")
    return digest


def digest_hex(digest: str) -> str:
    """The hex part of a checked digest, used as a file name."""
    return check_digest(digest)[len("sha256:") :]


def short_id(digest: str) -> str:
    """The 12-character id Docker prints."""
    return digest.removeprefix("sha256:")[:12]
