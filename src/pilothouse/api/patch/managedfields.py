"""``metadata.managedFields`` entries, as apimachinery's managedfields package reads and writes
them.

An entry is identified by its manager, operation, subresource and, for Update entries only,
its apiVersion (an applier keeps one entry whatever version it applies in). ``Managed`` holds
every entry's field set and time; ``decode`` and ``encode`` convert from and to the JSON list,
encoding in upstream's order: operation, time (to the second), manager, apiVersion,
subresource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pilothouse.api.patch import gojson
from pilothouse.api.patch.fieldpath import (
    FieldSet,
    FieldsV1Error,
    from_fields_v1,
    to_fields_v1,
)

APPLY = "Apply"
UPDATE = "Update"


class ManagedFieldsError(ValueError):
    """managedFields that cannot be decoded."""


@dataclass(frozen=True, slots=True)
class ManagerKey:
    """BuildManagerIdentifier: what makes two entries the same entry."""

    manager: str
    operation: str
    api_version: str = ""  # empty for Apply
    subresource: str = ""

    @classmethod
    def of(cls, manager: str, operation: str, api_version: str, subresource: str) -> ManagerKey:
        return cls(manager, operation, "" if operation == APPLY else api_version, subresource)

    def identifier(self) -> str:
        """The JSON identifier upstream keys entries by (a ManagedFieldsEntry without time,
        fieldsType and fieldsV1, marshalled in the struct's field order)."""
        entry = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "subresource": self.subresource,
        }
        return gojson.dumps_ordered({k: v for k, v in entry.items() if v})

    def describe(self) -> str:
        """printManager: how conflict messages name the manager."""
        text = gojson.quote(self.manager)
        if self.subresource:
            text += f" with subresource {gojson.quote(self.subresource)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


@dataclass(frozen=True, slots=True)
class VersionedSet:
    paths: FieldSet
    api_version: str
    applied: bool


@dataclass
class Managed:
    """Every manager's fields and the time of its last change."""

    fields: dict[ManagerKey, VersionedSet] = field(default_factory=dict)
    times: dict[ManagerKey, str | None] = field(default_factory=dict)

    def copy(self) -> Managed:
        return Managed(dict(self.fields), dict(self.times))


def is_reset(entries: Any) -> bool:
    """isResetManagedFields: ``[]`` or ``[{}]`` asks to drop every entry."""
    return isinstance(entries, list) and (entries == [] or entries == [{}])


def decode(entries: Any) -> Managed:
    """DecodeManagedFields."""
    managed = Managed()
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise ManagedFieldsError("managedFields must be a list")
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ManagedFieldsError(f"managed fields entry {position} is not an object")
        operation = entry.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        api_version = entry.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise ManagedFieldsError("apiVersion must not be empty")
        fields_type = entry.get("fieldsType") or ""
        if fields_type == "":
            raise ManagedFieldsError(f"missing fieldsType in managed fields entry {position}")
        if fields_type != "FieldsV1":
            raise ManagedFieldsError(
                f"invalid fieldsType {gojson.quote(str(fields_type))} in managed fields entry "
                f"{position}"
            )
        key = ManagerKey.of(
            str(entry.get("manager") or ""),
            operation,
            api_version,
            str(entry.get("subresource") or ""),
        )
        try:
            paths = from_fields_v1(entry.get("fieldsV1") or {})
        except FieldsV1Error as error:
            raise ManagedFieldsError(f"error decoding versioned set: {error}") from error
        managed.fields[key] = VersionedSet(paths, api_version, operation == APPLY)
        managed.times[key] = entry.get("time")
    return managed


def encode(managed: Managed) -> list[dict[str, Any]]:
    """The managedFields list of ``managed`` (empty when nobody manages anything)."""
    entries = []
    for key, versioned in managed.fields.items():
        entry: dict[str, Any] = {}
        if key.manager:
            entry["manager"] = key.manager
        entry["operation"] = APPLY if versioned.applied else key.operation
        entry["apiVersion"] = versioned.api_version
        time = managed.times.get(key)
        if time is not None:
            entry["time"] = time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = to_fields_v1(versioned.paths)
        if key.subresource:
            entry["subresource"] = key.subresource
        entries.append(entry)
    entries.sort(
        key=lambda e: (
            e["operation"],
            seconds(e.get("time")),
            e.get("manager", ""),
            e["apiVersion"],
            e.get("subresource", ""),
        )
    )
    return entries


def seconds(time: Any) -> int:
    """A managedFields time as Unix seconds (0 when absent or unreadable)."""
    if not isinstance(time, str):
        return 0
    try:
        return int(datetime.fromisoformat(time).timestamp())
    except ValueError:
        return 0
