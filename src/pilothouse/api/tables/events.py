"""The event table: LAST SEEN TYPE REASON OBJECT MESSAGE, and wide SUBOBJECT SOURCE FIRST SEEN
COUNT NAME, as kube-apiserver's ``printEvent`` computes them for core/v1 and
events.k8s.io/v1 events alike (both are one stored object in two shapes).

LAST SEEN falls back to FIRST SEEN, which falls back to ``eventTime``; an event series shows
its last observation and count; a singleton event written through the new API counts 1.
"""

from __future__ import annotations

from datetime import datetime

from pilothouse.api.tables.cells import Obj, since
from pilothouse.api.tables.printer import Cells, Column, Printer, column, doc

# events.k8s.io/v1 field -> the core/v1 field it converts to.
_CORE_FIELDS = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}


def _as_core(event: Obj) -> Obj:
    """The core/v1 shape of an event (the printer's input), converting events.k8s.io/v1."""
    if event.get("apiVersion") != "events.k8s.io/v1":
        return event
    return {_CORE_FIELDS.get(key, key): value for key, value in event.items()}


def _source(event: Obj) -> str:
    """``formatEventSource``: component (or reporting controller), then ", host"."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def _event_cells(event: Obj, now: datetime) -> Cells:
    event = _as_core(event)
    meta = event.get("metadata") or {}
    first = event.get("firstTimestamp")
    first_seen = since(first, now) if first else since(event.get("eventTime"), now)
    last = event.get("lastTimestamp")
    last_seen = since(last, now) if last else first_seen
    count = event.get("count") or 0
    series = event.get("series")
    if series is not None:
        last_seen = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1
    involved = event.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        _source(event),
        (event.get("message") or "").strip(),
        first_seen,
        count,
        meta.get("name", ""),
    ]


_EVENT_PRINTER = Printer(
    (
        column("Last Seen", "Event.lastTimestamp"),
        column("Type", "Event.type"),
        column("Reason", "Event.reason"),
        column("Object", "Event.involvedObject"),
        column("Subobject", "ObjectReference.fieldPath", wide=True),
        column("Source", "Event.source", wide=True),
        column("Message", "Event.message"),
        column("First Seen", "Event.firstTimestamp", wide=True),
        column("Count", "Event.count", wide=True),
        Column("Name", "string", doc("ObjectMeta.name"), format="name", priority=1),
    ),
    _event_cells,
)

PRINTERS = {("", "Event"): _EVENT_PRINTER, ("events.k8s.io", "Event"): _EVENT_PRINTER}
