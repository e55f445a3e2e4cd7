"""Events: one stored object (core/v1 shape), served as core/v1 and events.k8s.io/v1.

* core/v1 writes get the legacy checks only (and no metadata validation, for compatibility
  with old clients); events.k8s.io/v1 writes get the strict ones (ValidateEventCreate/Update
  for the v1 API), with errors reported under the stored field names, as upstream does.
* ``to_events_v1`` and ``to_core_v1`` convert between the two shapes as the events.k8s.io/v1
  conversion does (note <-> message, regarding <-> involvedObject, reportingController <->
  reportingComponent, deprecatedSource/FirstTimestamp/LastTimestamp/Count <-> source/...),
  including the fields each shape always serializes (null timestamps, empty strings).
"""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from pilothouse.api.errors import FieldError, invalid, required
from pilothouse.api.kinds.base import NoStatusStrategy, dig
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    is_dns1123_subdomain,
    name_is_dns_subdomain,
    validate_immutable,
    validate_object_meta,
    validate_object_meta_update,
    validate_qualified_name,
)

REPORTING_INSTANCE_LIMIT = 128
ACTION_LIMIT = 128
REASON_LIMIT = 128
NOTE_LIMIT = 1024

# events.k8s.io/v1 field -> core/v1 field, for fields that only change name.
_RENAMED = {
    "note": "message",
    "regarding": "involvedObject",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
_SAME = (
    "metadata",
    "eventTime",
    "series",
    "reportingInstance",
    "action",
    "reason",
    "related",
    "type",
)


def to_core_v1(event: Obj) -> Obj:
    """An events.k8s.io/v1 Event in the core/v1 shape (the stored one)."""
    out: Obj = {"kind": "Event", "apiVersion": "v1"}
    for key in _SAME:
        if key in event:
            out[key] = copy.deepcopy(event[key])
    for new_name, core_name in _RENAMED.items():
        if event.get(new_name) not in (None, {}):
            out[core_name] = copy.deepcopy(event[new_name])
    normalize_core_shape(out)
    return out


def to_events_v1(event: Obj) -> Obj:
    """A core/v1 Event in the events.k8s.io/v1 shape."""
    out: Obj = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for key in _SAME:
        if key in event:
            out[key] = copy.deepcopy(event[key])
    for new_name, core_name in _RENAMED.items():
        if event.get(core_name) not in (None, "", 0):
            out[new_name] = copy.deepcopy(event[core_name])
    out.setdefault("eventTime", None)
    out.setdefault("regarding", {})
    out.setdefault("deprecatedSource", {})
    out.setdefault("deprecatedFirstTimestamp", None)
    out.setdefault("deprecatedLastTimestamp", None)
    for key in ("reportingController", "reportingInstance", "action", "reason", "note", "type"):
        if out.get(key) == "":
            del out[key]
    return out


def normalize_core_shape(event: Obj) -> None:
    """Fields the core/v1 Event always serializes, even when empty."""
    event.setdefault("involvedObject", {})
    event.setdefault("source", {})
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        event.setdefault(key, None)
    event.setdefault("reportingComponent", "")
    event.setdefault("reportingInstance", "")


class EventStrategy(NoStatusStrategy):
    """Writes through core/v1: legacy validation, no metadata validation."""

    name_validator = None
    field_label_names: tuple[str, ...] = (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    )
    # The field name legacy validation reports for the reporting controller.
    reporting_field = "reportingComponent"

    def default(self, obj: Obj) -> None:
        normalize_core_shape(obj)

    def validate_metadata_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return []

    def validate(self, obj: Obj) -> list[FieldError]:
        return _legacy_validate(obj, self.reporting_field)

    def field_labels(self, obj: Obj) -> dict[str, str]:
        involved = obj.get("involvedObject") or {}
        source = dig(obj, "source", "component", default="") or obj.get("reportingComponent") or ""
        labels = {
            f"involvedObject.{key}": involved.get(key) or ""
            for key in (
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            )
        }
        labels.update(
            {
                "reason": obj.get("reason") or "",
                "reportingComponent": obj.get("reportingComponent") or "",
                "source": source,
                "type": obj.get("type") or "",
            }
        )
        return labels


class EventsV1Strategy(EventStrategy):
    """Writes through events.k8s.io/v1 (objects already converted to the stored shape)."""

    # events.k8s.io/v1 names for the stored object's selectable fields.
    field_label_names = ("reason", "type")
    field_label_aliases = MappingProxyType(
        {
            **{
                f"regarding.{key}": f"involvedObject.{key}"
                for key in (
                    "kind",
                    "namespace",
                    "name",
                    "uid",
                    "apiVersion",
                    "resourceVersion",
                    "fieldPath",
                )
            },
            "reportingController": "reportingComponent",
        }
    )
    reporting_field = "reportingController"

    def validate_metadata(self, obj: Obj, *, namespaced: bool) -> list[FieldError]:
        # Strict metadata checks run inside validate_create, after the legacy ones.
        return []

    def validate_create(self, obj: Obj) -> list[FieldError]:
        errs = _legacy_validate(obj, self.reporting_field)
        errs += validate_object_meta(
            obj.get("metadata"), namespaced=True, name_validator=name_is_dns_subdomain
        )
        errs += _validate_series(obj)
        if not obj.get("eventTime"):
            errs.append(required("eventTime"))
        kind = obj.get("type") or ""
        if kind not in ("Normal", "Warning"):
            errs.append(invalid("type", "", f"has invalid value: {kind}"))
        for key in ("firstTimestamp", "lastTimestamp", "count"):
            if obj.get(key):
                errs.append(invalid(key, "", "needs to be unset"))
        if dig(obj, "source", "component") or dig(obj, "source", "host"):
            errs.append(invalid("source", "", "needs to be unset"))
        return errs

    def validate_metadata_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_object_meta_update(new.get("metadata"), old.get("metadata"))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = _validate_series(new) if new.get("series") != old.get("series") else []
        for key in (
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "reason",
            "type",
        ):
            errs += validate_immutable(new.get(key), old.get(key), key)
        return errs


def _legacy_validate(event: Obj, reporting_field: str) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = dig(event, "metadata", "namespace", default="")
    involved_namespace = dig(event, "involvedObject", "namespace", default="")
    mismatch = invalid(
        "involvedObject.namespace", involved_namespace, "does not match event.namespace"
    )
    if not event.get("eventTime"):
        if not involved_namespace:
            if namespace not in ("", "default"):
                errs.append(mismatch)
        elif namespace != involved_namespace:
            errs.append(mismatch)
    else:
        if not involved_namespace and namespace not in ("default", "kube-system"):
            errs.append(mismatch)
        errs += _validate_reporting(event, reporting_field)
    errs += [invalid("namespace", namespace, msg) for msg in is_dns1123_subdomain(namespace)]
    return errs


def _validate_reporting(event: Obj, reporting_field: str) -> list[FieldError]:
    errs: list[FieldError] = []
    controller = event.get("reportingComponent") or ""
    if not controller:
        errs.append(required(reporting_field))
    errs += validate_qualified_name(controller, reporting_field)
    for key, limit in (
        ("reportingInstance", REPORTING_INSTANCE_LIMIT),
        ("action", ACTION_LIMIT),
        ("reason", REASON_LIMIT),
    ):
        value = event.get(key) or ""
        if not value:
            errs.append(required(key))
        if len(value) > limit:
            errs.append(invalid(key, "", f"can have at most {limit} characters"))
    if len(event.get("message") or "") > NOTE_LIMIT:
        errs.append(invalid("message", "", f"can have at most {NOTE_LIMIT} characters"))
    return errs


def _validate_series(event: Obj) -> list[FieldError]:
    series: Any = event.get("series")
    if not isinstance(series, dict):
        return []
    errs: list[FieldError] = []
    if (series.get("count") or 0) < 2:
        errs.append(invalid("series.count", "", "should be at least 2"))
    if not series.get("lastObservedTime"):
        errs.append(required("series.lastObservedTime"))
    return errs
