"""System-owned object metadata on create and update, as kube-apiserver's BeforeCreate and
BeforeUpdate set it: uid, creationTimestamp, generated names, and the fields a client may not
change."""

from __future__ import annotations

import datetime
import random
import secrets
import time
import uuid
from typing import Any

from pilothouse.api import errors

Obj = dict[str, Any]

# Letters kube-apiserver uses for generated name suffixes (no vowels: no accidental words).
_random = random.Random()  # seeded from os.urandom

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SUFFIX_LENGTH = 5
_MAX_GENERATE_NAME_BASE = 63 - _SUFFIX_LENGTH

# Fields of metadata the server owns: whatever the client sends for them is replaced.
_SERVER_OWNED = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "selfLink", "generation")


_last_second = 0
_last_text = ""


def now() -> str:
    """The current time as Kubernetes writes metav1.Time (RFC 3339, seconds, UTC).

    Formatted once per second: every write asks for it, often several times."""
    global _last_second, _last_text
    second = int(time.time())
    if second != _last_second:
        _last_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        _last_second = second
    return _last_text


def new_uid() -> str:
    """A random (version 4) UUID. Object uids need uniqueness, not secrecy, so a fast
    generator seeded from the OS at start serves (uuid.uuid4 reads the OS each time)."""
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))


def timestamp(seconds_from_now: int = 0) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(base: str) -> str:
    base = base[:_MAX_GENERATE_NAME_BASE]
    return base + "".join(secrets.choice(_ALPHABET) for _ in range(_SUFFIX_LENGTH))


def before_create(obj: Obj, *, namespace: str, namespaced: bool) -> None:
    """Fill the server-owned metadata of a new object (in place)."""
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.BadRequest("metadata must be an object")
    _check_namespace(meta, namespace, namespaced)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(meta["generateName"])
    for field in _SERVER_OWNED:
        meta.pop(field, None)
    meta.pop("resourceVersion", None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now()


def before_update(new: Obj, old: Obj, *, namespace: str, name: str, namespaced: bool) -> None:
    """Keep what a client may not change on update, and check what it may not contradict."""
    meta = new.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.BadRequest("metadata must be an object")
    _check_namespace(meta, namespace, namespaced)
    if meta.get("name", name) != name:
        raise errors.BadRequest(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL "
            f"({name})"
        )
    meta["name"] = name
    old_meta = old["metadata"]
    if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
        raise errors.Conflict(
            f"Precondition failed: UID in precondition: {meta['uid']}, "
            f"UID in object meta: {old_meta.get('uid')}"
        )
    for field in _SERVER_OWNED:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    if not meta.get("resourceVersion"):
        # An unconditional update (no resourceVersion sent) applies to the latest version.
        meta["resourceVersion"] = old_meta.get("resourceVersion", "")


def _check_namespace(meta: Obj, namespace: str, namespaced: bool) -> None:
    given = meta.get("namespace")
    if namespaced:
        if given and given != namespace:
            raise errors.BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
