"""What a printer is: the columns of one kind and the function that fills a row.

A ``Printer`` corresponds to one ``h.TableHandler(columnDefinitions, printFunc)`` call of
kubernetes/kubernetes ``pkg/printers/internalversion/printers.go``. kube-apiserver always
prints wide (``GenerateOptions{Wide: true}``) and lets the client hide the columns with a
non-zero priority, so a row function returns every cell, wide ones included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pilothouse.api.tables.cells import Obj
from pilothouse.api.tables.docs import FIELD_DOCS

Cells = list[Any]
RowFunction = Callable[[Obj, datetime], Cells]
ConditionsFunction = Callable[[Obj], list[dict[str, str]]]


@dataclass(frozen=True)
class Column:
    """A ``metav1.TableColumnDefinition``."""

    name: str
    type: str = "string"
    description: str = ""
    format: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class Printer:
    """The columns of a kind and how to compute a row's cells (and row conditions)."""

    columns: tuple[Column, ...]
    row: RowFunction
    conditions: ConditionsFunction | None = None


def doc(field: str) -> str:
    """Upstream's documentation of ``Type.field`` (see ``docs``)."""
    return FIELD_DOCS[field]


def column(
    name: str,
    field: str = "",
    *,
    type: str = "string",
    wide: bool = False,
    description: str | None = None,
) -> Column:
    """A column described by ``description``, or else by the documentation of ``field``."""
    text = doc(field) if description is None else description
    return Column(name, type, text, priority=1 if wide else 0)


NAME = Column("Name", "string", doc("ObjectMeta.name"), format="name")
AGE = Column("Age", "string", doc("ObjectMeta.creationTimestamp"))
CONTAINERS = column("Containers", description="Names of each container in the template.", wide=True)
IMAGES = column(
    "Images", description="Images referenced by each container in the template.", wide=True
)
