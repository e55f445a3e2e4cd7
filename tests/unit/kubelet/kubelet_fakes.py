"""Stand-ins for the kubelet's unit tests: an in-memory API (just the verbs the kubelet
uses, recording every call) and an event sink that keeps what it is told."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from pilothouse.api import errors
from pilothouse.client import ObjectList

Obj = dict[str, Any]


class FakeResource:
    def __init__(self, api: FakeAPI, plural: str):
        self.api = api
        self.plural = plural

    def _key(self, namespace: str, name: str) -> tuple[str, str, str]:
        return (self.plural, namespace, name)

    async def get(self, name: str, *, namespace: str = "", subresource: str = "") -> Obj:
        self.api.calls.append(("get", self.plural, namespace, name))
        found = self.api.objects.get(self._key(namespace, name))
        if found is None:
            raise errors.NotFound(f'{self.plural} "{name}" not found')
        return copy.deepcopy(found)

    async def list(self, *, namespace: str = "", **_: Any) -> ObjectList:
        items = [copy.deepcopy(o) for (p, ns, _), o in self.api.objects.items() if p == self.plural and ns == namespace]
        return ObjectList(items, "1")

    async def create(self, obj: Obj, *, namespace: str = "", **_: Any) -> Obj:
        namespace = namespace or obj.get("metadata", {}).get("namespace", "")
        name = obj["metadata"]["name"]
        self.api.calls.append(("create", self.plural, namespace, name))
        if self._key(namespace, name) in self.api.objects:
            raise errors.AlreadyExists(f'{self.plural} "{name}" already exists')
        stored = copy.deepcopy(obj)
        stored["metadata"].setdefault("uid", str(uuid.uuid4()))
        self.api.objects[self._key(namespace, name)] = stored
        return copy.deepcopy(stored)

    async def patch(self, name: str, patch: Any, *, namespace: str = "", subresource: str = "", **_: Any) -> Obj:
        self.api.calls.append(("patch", self.plural, namespace, name, subresource, copy.deepcopy(patch)))
        current = self.api.objects.get(self._key(namespace, name))
        if current is None:
            raise errors.NotFound(f'{self.plural} "{name}" not found')
        _merge(current, copy.deepcopy(patch))
        return copy.deepcopy(current)

    async def delete(self, name: str, *, namespace: str = "", grace_period_seconds: int | None = None,
                     preconditions: Obj | None = None, **_: Any) -> Obj:
        self.api.calls.append(("delete", self.plural, namespace, name, grace_period_seconds, preconditions))
        current = self.api.objects.get(self._key(namespace, name))
        if current is None:
            raise errors.NotFound(f'{self.plural} "{name}" not found')
        if preconditions and preconditions.get("uid") not in (None, current["metadata"].get("uid")):
            raise errors.Conflict("Precondition failed: UID")
        return self.api.objects.pop(self._key(namespace, name))


class FakeAPI:
    """``client["pods"]`` and friends, over a dict of objects."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.calls: list[tuple[Any, ...]] = []

    def __getitem__(self, name: str) -> FakeResource:
        return FakeResource(self, name.split(".")[0])

    def add(self, plural: str, obj: Obj) -> Obj:
        meta = obj["metadata"]
        self.objects[(plural, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def calls_of(self, verb: str, plural: str = "") -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == verb and (not plural or c[1] == plural)]


def _merge(target: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


class RecordedEvents:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []  # (type, reason, message, container)

    def record(self, pod: Obj, type: str, reason: str, message: str, *, container: str = "") -> None:
        self.events.append((type, reason, message, container))

    def reasons(self) -> list[str]:
        return [e[1] for e in self.events]

    def messages(self, reason: str) -> list[str]:
        return [e[2] for e in self.events if e[1] == reason]
