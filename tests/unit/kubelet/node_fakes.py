"""An in-memory API for the node agent's unit tests: objects by resource, namespace and
name, with resourceVersion preconditions, uids, and a record of every write."""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any

from pilothouse.api import errors

Obj = dict[str, Any]


class FakeResource:
    def __init__(self, api: FakeAPI, plural: str):
        self.api = api
        self.plural = plural

    def _key(self, namespace: str, name: str) -> tuple[str, str, str]:
        return (self.plural, namespace, name)

    async def get(self, name: str, *, namespace: str = "") -> Obj:
        self.api.calls.append(("get", self.plural, name))
        found = self.api.objects.get(self._key(namespace, name))
        if found is None:
            raise errors.NotFound(f'{self.plural} "{name}" not found')
        return copy.deepcopy(found)

    async def create(self, obj: Obj, *, namespace: str = "") -> Obj:
        self.api.fail_if_asked("create", self.plural)
        meta = obj["metadata"]
        key = self._key(namespace or meta.get("namespace", ""), meta["name"])
        self.api.calls.append(("create", self.plural, meta["name"]))
        if key in self.api.objects:
            raise errors.AlreadyExists(f'{self.plural} "{meta["name"]}" already exists')
        stored = copy.deepcopy(obj)
        stored["metadata"]["uid"] = str(uuid.uuid4())
        stored["metadata"]["resourceVersion"] = self.api.next_version()
        self.api.objects[key] = stored
        return copy.deepcopy(stored)

    async def update(self, obj: Obj, *, namespace: str = "", subresource: str = "") -> Obj:
        self.api.fail_if_asked("update", self.plural)
        meta = obj["metadata"]
        key = self._key(namespace or meta.get("namespace", ""), meta["name"])
        self.api.calls.append(("update" + (f"/{subresource}" if subresource else ""),
                               self.plural, meta["name"]))
        current = self.api.objects.get(key)
        if current is None:
            raise errors.NotFound(f'{self.plural} "{meta["name"]}" not found')
        if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise errors.Conflict("the object has been modified")
        stored = copy.deepcopy(obj)
        if subresource == "status":
            stored = dict(copy.deepcopy(current), status=stored.get("status"))
        elif "status" in current:
            stored["status"] = copy.deepcopy(current["status"])
        stored["metadata"]["uid"] = current["metadata"]["uid"]
        stored["metadata"]["resourceVersion"] = self.api.next_version()
        self.api.objects[key] = stored
        return copy.deepcopy(stored)

    async def update_status(self, obj: Obj) -> Obj:
        return await self.update(obj, subresource="status")

    async def patch(self, name: str, patch: Obj, *, namespace: str = "",
                    patch_type: str = "merge") -> Obj:
        self.api.fail_if_asked("patch", self.plural)
        self.api.calls.append(("patch", self.plural, name))
        key = self._key(namespace, name)
        current = self.api.objects.get(key)
        if current is None:
            raise errors.NotFound(f'{self.plural} "{name}" not found')
        for field, values in patch.items():
            current.setdefault(field, {}).update(values)
        current["metadata"]["resourceVersion"] = self.api.next_version()
        return copy.deepcopy(current)


class FakeAPI:
    """Stands in for APIClient: ``api.resource(group, version, plural)`` and ``api[plural]``."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.failures: dict[tuple[str, str], list[Exception]] = {}
        self._versions = itertools.count(1)

    def next_version(self) -> str:
        return str(next(self._versions))

    def resource(self, group: str, version: str, plural: str) -> FakeResource:
        return FakeResource(self, plural)

    def __getitem__(self, plural: str) -> FakeResource:
        return FakeResource(self, plural)

    def fail_next(self, verb: str, plural: str, error: Exception) -> None:
        self.failures.setdefault((verb, plural), []).append(error)

    def fail_if_asked(self, verb: str, plural: str) -> None:
        queued = self.failures.get((verb, plural))
        if queued:
            raise queued.pop(0)

    def stored(self, plural: str, name: str, namespace: str = "") -> Obj:
        return self.objects[(plural, namespace, name)]

    def writes(self) -> list[tuple[str, str, str]]:
        return [call for call in self.calls if call[0] != "get"]
