"""Server-side printing: ``Table`` and ``PartialObjectMetadata`` responses.

kube-apiserver answers ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` (what
``kubectl get`` sends) with a ``meta.k8s.io/v1 Table``: the columns of the kind, one row of
cells per object, each row carrying the object as ``PartialObjectMetadata`` (the default,
``?includeObject=Metadata``), whole (``Object``) or not at all (``None``, serialized as
``"object": null`` as upstream's RawExtension does). ``as=PartialObjectMetadataList`` asks
for the metadata of every item of a list instead.

Pass objects in the version the client asked for: with ``includeObject=Object`` the rows
carry them as given, and the printers read every served version of a kind (autoscaling/v1
and v2 HorizontalPodAutoscalers, core/v1 and events.k8s.io/v1 Events) the way upstream's
read the internal object those convert to. Kinds without a printer (Roles, LimitRanges,
custom resources) get upstream's default table: NAME and CREATED AT. Every printer is a pure
function of the object and ``now``; rows keep the order of ``objects``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pilothouse.api import errors
from pilothouse.api.resources import ResourceType
from pilothouse.api.tables import cluster, config, events, networking, pods, storage, workloads
from pilothouse.api.tables.cells import Obj, parse_time
from pilothouse.api.tables.printer import NAME, Column, Printer, doc

META_V1 = "meta.k8s.io/v1"
INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")

_PRINTERS: dict[tuple[str, str], Printer] = {
    **pods.PRINTERS,
    **workloads.PRINTERS,
    **networking.PRINTERS,
    **storage.PRINTERS,
    **config.PRINTERS,
    **cluster.PRINTERS,
    **events.PRINTERS,
}

# rest.defaultTableConvertor's columns.
_DEFAULT_COLUMNS = (NAME, Column("Created At", "date", doc("ObjectMeta.creationTimestamp")))
_ZERO_TIME = "0001-01-01T00:00:00Z"


def to_table(
    resource: ResourceType,
    objects: Sequence[Obj],
    *,
    include_object: str = "Metadata",
    now: datetime | None = None,
    list_meta: Mapping[str, Any] | None = None,
    no_headers: bool = False,
    api_version: str = META_V1,
) -> dict[str, Any]:
    """The Table kube-apiserver renders for ``objects`` of ``resource``.

    ``list_meta`` is the metadata of the list the objects come from (its resourceVersion,
    continue token and remainingItemCount carry over); pass None for a single object (GET),
    whose resourceVersion the table then carries. ``no_headers`` is ``?noHeaders=true``
    (TableOptions). An unknown ``include_object`` raises ``errors.BadRequest``.
    """
    include = _include_policy(include_object)
    now = now or datetime.now(UTC)
    printer = _PRINTERS.get((resource.group, resource.kind))
    if printer is not None:
        columns = printer.columns
        rows: list[dict[str, Any]] | None = [
            _printed_row(printer, obj, now, include, api_version) for obj in objects
        ]
    else:
        columns = _DEFAULT_COLUMNS
        # The default convertor appends to a nil slice: no objects serialize as null.
        rows = [
            {"cells": _default_cells(obj), "object": _row_object(obj, include, api_version)}
            for obj in objects
        ] or None
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": _table_meta(list_meta, objects),
        "columnDefinitions": None if no_headers else [c.definition() for c in columns],
        "rows": rows,
    }


def partial_object_metadata(obj: Obj, *, api_version: str = META_V1) -> dict[str, Any]:
    """``meta.AsPartialObjectMetadata``: the object's whole metadata, nothing else."""
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": api_version,
        "metadata": dict(obj.get("metadata") or {}),
    }


def partial_object_metadata_list(
    objects: Iterable[Obj],
    list_meta: Mapping[str, Any] | None = None,
    *,
    api_version: str = META_V1,
) -> dict[str, Any]:
    """The ``PartialObjectMetadataList`` answering ``as=PartialObjectMetadataList``."""
    items = [partial_object_metadata(obj, api_version=api_version) for obj in objects]
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": api_version,
        "metadata": _list_meta(list_meta or {}),
        # Upstream fills a nil slice: an empty list serializes its items as null.
        "items": items or None,
    }


def _include_policy(value: str) -> str:
    if value == "":
        return "Metadata"
    if value not in INCLUDE_OBJECT_VALUES:
        raise errors.BadRequest(f'unrecognized includeObject value: "{value}"')
    return value


def _printed_row(
    printer: Printer, obj: Obj, now: datetime, include: str, api_version: str
) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": printer.row(obj, now)}
    if printer.conditions is not None:
        conditions = printer.conditions(obj)
        if conditions:
            row["conditions"] = conditions
    row["object"] = _row_object(obj, include, api_version)
    return row


def _row_object(obj: Obj, include: str, api_version: str) -> Obj | None:
    if include == "Metadata":
        return partial_object_metadata(obj, api_version=api_version)
    if include == "Object":
        return obj
    return None


def _default_cells(obj: Obj) -> list[Any]:
    meta = obj.get("metadata") or {}
    created = parse_time(meta.get("creationTimestamp"))
    # time.RFC3339 in UTC, whole seconds.
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else _ZERO_TIME
    return [meta.get("name", ""), stamp]


def _table_meta(list_meta: Mapping[str, Any] | None, objects: Sequence[Obj]) -> dict[str, Any]:
    if list_meta is not None:
        return _list_meta(list_meta)
    if len(objects) == 1:
        version = (objects[0].get("metadata") or {}).get("resourceVersion")
        return {"resourceVersion": version} if version else {}
    return {}


def _list_meta(list_meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ListMeta fields a table or metadata list carries over (empty ones are omitted)."""
    out: dict[str, Any] = {}
    if list_meta.get("resourceVersion"):
        out["resourceVersion"] = list_meta["resourceVersion"]
    if list_meta.get("continue"):
        out["continue"] = list_meta["continue"]
    if list_meta.get("remainingItemCount") is not None:
        out["remainingItemCount"] = list_meta["remainingItemCount"]
    return out
