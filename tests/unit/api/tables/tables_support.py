"""What the table tests share: a fixed clock, object builders and a table renderer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pilothouse.api.resources import Registry
from pilothouse.api.tables import to_table

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
REGISTRY = Registry.builtin()


def ago(**delta: float) -> str:
    """An RFC 3339 timestamp ``delta`` before NOW."""
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def obj(name: str = "x", *, age: timedelta | None = timedelta(hours=5), **fields: Any) -> dict:
    """An object named ``name``, created ``age`` ago (printed "5h" by default)."""
    metadata = {"name": name, **fields.pop("metadata", {})}
    if age is not None:
        metadata["creationTimestamp"] = (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"metadata": metadata, **fields}


def cells(group: str, version: str, plural: str, item: dict[str, Any]) -> list[Any]:
    """The cells of the table row of ``item`` (served at group/version/plural) at NOW."""
    resource = REGISTRY.get(group, version, plural)
    assert resource is not None
    return to_table(resource, [item], now=NOW)["rows"][0]["cells"]
