"""Server-side printing of objects as ``Table`` and ``PartialObjectMetadata``.

``to_table`` is what kube-apiserver answers ``kubectl get`` with; the columns and cells of
every built-in kind follow kubernetes/kubernetes ``pkg/printers/internalversion``. See
``table`` for the guarantees and one module per family of kinds for the printers.
"""

from pilothouse.api.tables.cells import human_duration
from pilothouse.api.tables.table import (
    INCLUDE_OBJECT_VALUES,
    META_V1,
    partial_object_metadata,
    partial_object_metadata_list,
    to_table,
)

__all__ = [
    "INCLUDE_OBJECT_VALUES",
    "META_V1",
    "human_duration",
    "partial_object_metadata",
    "partial_object_metadata_list",
    "to_table",
]
