"""Nodes and RuntimeClasses.

A node is created with its status (the kubelet registers itself with capacity and
addresses), so create does not drop status; updates of the main resource keep the old status.
``spec.podCIDR`` and ``spec.podCIDRs`` are kept in step as the v1 conversion keeps them
(podCIDR wins when both are sent and differ), and pod CIDRs and providerID can only be set
once. Allocatable defaults to capacity. Taint errors are reported under ``metadata.taints``,
as upstream reports them.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid
from pilothouse.api.kinds.base import NoGenerationStrategy, NoStatusStrategy, dig, ensure, items
from pilothouse.api.kinds.podspec import validate_taints, validate_tolerations
from pilothouse.api.kinds.resource_names import (
    round_up_resource_list,
    validate_quantity_value,
    validate_requirements,
)
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    name_is_dns_label,
    parse_cidr,
    validate_cidr,
    validate_immutable,
    validate_labels,
)

_POD_CIDR_CHANGE = 'node updates may not change podCIDR except from "" to valid'


class NodeStrategy(NoGenerationStrategy):
    metadata_field_labels = ("metadata.name",)
    field_label_names = ("spec.unschedulable",)

    def prepare_for_create(self, obj: Obj) -> None:
        # Nodes register with their status: keep it.
        status = obj.get("status")
        super().prepare_for_create(obj)
        if status is not None:
            obj["status"] = status
        _sync_pod_cidrs(ensure(obj, "spec"))

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        _sync_pod_cidrs(ensure(new, "spec"))

    def default(self, obj: Obj) -> None:
        status = obj.get("status")
        if not isinstance(status, dict):
            return
        round_up_resource_list(status.get("capacity"))
        round_up_resource_list(status.get("allocatable"))
        if status.get("allocatable") is None and status.get("capacity") is not None:
            status["allocatable"] = dict(status["capacity"])

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = validate_taints(spec.get("taints"), "metadata.taints") if spec.get("taints") else []
        errs += _validate_resources(obj)
        cidrs = spec.get("podCIDRs") or []
        for i, cidr in enumerate(cidrs):
            errs += validate_cidr(cidr, f"spec.podCIDRs[{i}]")
        if len(cidrs) > 1:
            versions = [
                network.version for network in map(parse_cidr, cidrs) if network is not None
            ]
            if len(versions) == len(cidrs) and (len(set(versions)) != 2 or len(cidrs) > 2):
                errs.append(
                    invalid(
                        "spec.podCIDRs",
                        cidrs,
                        "may specify no more than one CIDR for each IP family",
                    )
                )
            seen: set[str] = set()
            for i, cidr in enumerate(cidrs):
                if cidr in seen:
                    errs.append(duplicate(f"spec.podCIDRs[{i}]", cidr))
                seen.add(cidr)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return _validate_node_update(new, old)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return _validate_node_update(new, old)

    def field_labels(self, obj: Obj) -> dict[str, str]:
        return {"spec.unschedulable": "true" if dig(obj, "spec", "unschedulable") else "false"}


def _sync_pod_cidrs(spec: dict[str, Any]) -> None:
    single, many = spec.get("podCIDR") or "", spec.get("podCIDRs") or []
    if single and (not many or many[0] != single):
        spec["podCIDRs"] = [single]
    elif many:
        spec["podCIDR"] = many[0]


def _validate_resources(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("capacity", "allocatable"):
        for name, value in (dig(obj, "status", key, default={}) or {}).items():
            errs += validate_quantity_value(name, value, f"status.{key}.{name}")
    return errs


def _validate_node_update(new: Obj, old: Obj) -> list[FieldError]:
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    errs = _validate_resources(new)
    seen: list[Any] = []
    for i, address in items(new, "status", "addresses"):
        if address in seen:
            errs.append(duplicate(f"status.addresses[{i}]", address))
        seen.append(address)
    old_cidrs, cidrs = old_spec.get("podCIDRs") or [], spec.get("podCIDRs") or []
    if old_cidrs:
        if len(old_cidrs) != len(cidrs):
            errs.append(forbidden("spec.podCIDRs", _POD_CIDR_CHANGE))
        else:
            errs += [
                forbidden("spec.podCIDRs", _POD_CIDR_CHANGE)
                for old_cidr, cidr in zip(old_cidrs, cidrs, strict=True)
                if old_cidr != cidr
            ]
    old_provider = old_spec.get("providerID") or ""
    if old_provider and old_provider != (spec.get("providerID") or ""):
        errs.append(
            forbidden(
                "spec.providerID", 'node updates may not change providerID except from "" to valid'
            )
        )
    if spec.get("taints"):
        errs += validate_taints(spec["taints"], "metadata.taints")
    if (spec.get("externalID") or "") != (old_spec.get("externalID") or ""):
        errs.append(forbidden("spec.externalID", "may not be updated"))
    return errs


class RuntimeClassStrategy(NoStatusStrategy):
    """node.k8s.io RuntimeClass: a handler name (immutable), overhead and scheduling."""

    def default(self, obj: Obj) -> None:
        round_up_resource_list(dig(obj, "overhead", "podFixed"))

    def validate(self, obj: Obj) -> list[FieldError]:
        handler = obj.get("handler") or ""
        errs = [invalid("handler", handler, msg) for msg in name_is_dns_label(handler)]
        pod_fixed = dig(obj, "overhead", "podFixed")
        if obj.get("overhead") is not None:
            errs += validate_requirements({"limits": pod_fixed or {}}, "overhead")
        scheduling = obj.get("scheduling")
        if isinstance(scheduling, dict):
            if scheduling.get("nodeSelector") is not None:
                errs += validate_labels(scheduling["nodeSelector"], "scheduling.nodeSelector")
            errs += validate_tolerations(scheduling.get("tolerations"), "scheduling.tolerations")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_immutable(new.get("handler"), old.get("handler"), "handler")
