"""ResourceQuotas and LimitRanges.

Quantities are rounded up to milli units and canonicalized, as every v1 ResourceList is.
A LimitRange item of type Container gets its ``default`` from ``max`` and its
``defaultRequest`` from ``default`` then ``min`` (SetDefaults_LimitRangeItem). Quota scopes
are immutable.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid, required
from pilothouse.api.kinds.base import NoGenerationStrategy, NoStatusStrategy, dig, items
from pilothouse.api.kinds.resource_names import (
    is_overcommit_allowed,
    parse,
    round_up_resource_list,
    validate_container_resource_name,
    validate_quantity_value,
    validate_quota_resource_name,
    validate_resource_name,
)
from pilothouse.api.quantity import Quantity
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import is_qualified_name

SCOPES = (
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
)
_POD_COMPUTE = frozenset(
    {"pods", "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
)
_SCOPE_RESOURCES = {
    "Terminating": _POD_COMPUTE,
    "NotTerminating": _POD_COMPUTE,
    "NotBestEffort": _POD_COMPUTE,
    "PriorityClass": _POD_COMPUTE,
    "BestEffort": frozenset({"pods"}),
    "CrossNamespacePodAffinity": frozenset({"pods"}),
}
_CONFLICTING = (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating"))
_EXISTS_ONLY = frozenset(
    {"BestEffort", "NotBestEffort", "Terminating", "NotTerminating", "CrossNamespacePodAffinity"}
)
_LIMIT_TYPES = frozenset({"Pod", "Container", "PersistentVolumeClaim"})


class ResourceQuotaStrategy(NoGenerationStrategy):
    def default(self, obj: Obj) -> None:
        round_up_resource_list(dig(obj, "spec", "hard"))
        round_up_resource_list(dig(obj, "status", "hard"))
        round_up_resource_list(dig(obj, "status", "used"))

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = _validate_quota_list(spec.get("hard"), "spec.hard")
        errs += _validate_scopes(spec)
        errs += _validate_scope_selector(spec)
        errs += _validate_quota_list(dig(obj, "status", "hard"), "status.hard")
        errs += _validate_quota_list(dig(obj, "status", "used"), "status.used")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        scopes = dig(new, "spec", "scopes", default=[])
        if set(scopes) != set(dig(old, "spec", "scopes", default=[])):
            return [invalid("spec.scopes", scopes, "field is immutable")]
        return []

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = _validate_quota_list(dig(new, "status", "hard"), "status.hard")
        return errs + _validate_quota_list(dig(new, "status", "used"), "status.used")


def _validate_quota_list(resources: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for name, value in (resources or {}).items():
        errs += validate_quota_resource_name(name, f"{path}[{name}]")
        errs += validate_quantity_value(name, value, f"{path}[{name}]")
    return errs


def _validate_scopes(spec: dict[str, Any]) -> list[FieldError]:
    scopes = spec.get("scopes") or []
    if not scopes:
        return []
    errs: list[FieldError] = []
    hard = sorted(spec.get("hard") or {})
    for scope in scopes:
        if scope not in SCOPES:
            errs.append(invalid("spec.scopes", scopes, "unsupported scope"))
        for name in hard:
            if _is_standard_quota_name(name) and name not in _SCOPE_RESOURCES.get(
                scope, frozenset()
            ):
                errs.append(invalid("spec.scopes", scopes, "unsupported scope applied to resource"))
    errs += [
        invalid("spec.scopes", scopes, "conflicting scopes")
        for pair in _CONFLICTING
        if set(pair) <= set(scopes)
    ]
    return errs


def _validate_scope_selector(spec: dict[str, Any]) -> list[FieldError]:
    selector = spec.get("scopeSelector")
    if selector is None:
        return []
    path = "spec.scopeSelector.matchExpressions"
    hard = sorted(spec.get("hard") or {})
    errs: list[FieldError] = []
    names: set[str] = set()
    for _, req in items(selector, "matchExpressions"):
        scope, operator = req.get("scopeName") or "", req.get("operator") or ""
        if scope not in SCOPES:
            errs.append(invalid(f"{path}.scopeName", scope, "unsupported scope"))
        for name in hard:
            if _is_standard_quota_name(name) and name not in _SCOPE_RESOURCES.get(
                scope, frozenset()
            ):
                errs.append(invalid(path, selector, "unsupported scope applied to resource"))
        if scope in _EXISTS_ONLY and operator != "Exists":
            errs.append(
                invalid(
                    f"{path}.operator",
                    operator,
                    "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, "
                    "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, "
                    "ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
                )
            )
        values = req.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                errs.append(
                    required(
                        f"{path}.values",
                        "must be at least one value when `operator` is "
                        "'In' or 'NotIn' for scope selector",
                    )
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    invalid(
                        f"{path}.values",
                        values,
                        "must be no value when `operator` is "
                        "'Exist' or 'DoesNotExist' for scope selector",
                    )
                )
        else:
            errs.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
        names.add(scope)
    errs += [
        invalid(path, spec.get("scopes"), "conflicting scopes")
        for pair in _CONFLICTING
        if set(pair) <= names
    ]
    return errs


def _is_standard_quota_name(name: str) -> bool:
    return not validate_quota_resource_name(name, "")


class LimitRangeStrategy(NoStatusStrategy):
    def default(self, obj: Obj) -> None:
        for _, item in items(obj, "spec", "limits"):
            if item.get("type") == "Container":
                defaults = item.setdefault("default", {})
                default_requests = item.setdefault("defaultRequest", {})
                for name, value in (item.get("max") or {}).items():
                    defaults.setdefault(name, value)
                for name, value in defaults.items():
                    default_requests.setdefault(name, value)
                for name, value in (item.get("min") or {}).items():
                    default_requests.setdefault(name, value)
            for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
                round_up_resource_list(item.get(key))

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        seen: set[str] = set()
        for i, item in items(obj, "spec", "limits"):
            path = f"spec.limits[{i}]"
            kind = item.get("type") or ""
            errs += _validate_limit_type(kind, f"{path}.type")
            if kind in seen:
                errs.append(duplicate(f"{path}.type", kind))
            seen.add(kind)
            errs += _validate_limit_item(item, kind, path)
        return errs


def _validate_limit_type(kind: str, path: str) -> list[FieldError]:
    errs = [invalid(path, kind, msg) for msg in is_qualified_name(kind)]
    if not errs and "/" not in kind and kind not in _LIMIT_TYPES:
        errs.append(invalid(path, kind, "must be a standard limit type or fully qualified"))
    return errs


def _validate_limit_item(item: dict[str, Any], kind: str, path: str) -> list[FieldError]:
    check = (
        validate_container_resource_name if kind in ("Pod", "Container") else validate_resource_name
    )
    errs: list[FieldError] = []
    lists: dict[str, dict[str, Quantity]] = {}
    for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
        values = item.get(key) or {}
        if kind == "Pod" and key in ("default", "defaultRequest"):
            if values:
                errs.append(forbidden(f"{path}.{key}", "may not be specified when `type` is 'Pod'"))
            continue
        lists[key] = {}
        for name, value in values.items():
            errs += check(name, f"{path}.{key}[{name}]")
            quantity = parse(value)
            if quantity is not None:
                lists[key][name] = quantity
    if (
        kind == "PersistentVolumeClaim"
        and "storage" not in (item.get("min") or {})
        and "storage" not in (item.get("max") or {})
    ):
        errs.append(
            required(
                f"{path}.limits",
                "either minimum or maximum storage value is required, but neither was provided",
            )
        )
    names = sorted({n for values in lists.values() for n in values})
    for name in names:
        errs += _compare_limits(name, lists, path)
    return errs


def _compare_limits(
    name: str, lists: dict[str, dict[str, Quantity]], path: str
) -> list[FieldError]:
    low, high = lists.get("min", {}).get(name), lists.get("max", {}).get(name)
    default, request = lists.get("default", {}).get(name), lists.get("defaultRequest", {}).get(name)
    ratio = lists.get("maxLimitRequestRatio", {}).get(name)
    errs: list[FieldError] = []
    if low is not None and high is not None and low > high:
        errs.append(
            invalid(
                f"{path}.min[{name}]", str(low), f"min value {low} is greater than max value {high}"
            )
        )
    if request is not None and low is not None and low > request:
        errs.append(
            invalid(
                f"{path}.defaultRequest[{name}]",
                str(request),
                f"min value {low} is greater than default request value {request}",
            )
        )
    if request is not None and high is not None and request > high:
        errs.append(
            invalid(
                f"{path}.defaultRequest[{name}]",
                str(request),
                f"default request value {request} is greater than max value {high}",
            )
        )
    if request is not None and default is not None and request > default:
        errs.append(
            invalid(
                f"{path}.defaultRequest[{name}]",
                str(request),
                f"default request value {request} is greater than default limit value {default}",
            )
        )
    if default is not None and low is not None and low > default:
        errs.append(
            invalid(
                f"{path}.default[{name}]",
                str(low),
                f"min value {low} is greater than default value {default}",
            )
        )
    if default is not None and high is not None and default > high:
        errs.append(
            invalid(
                f"{path}.default[{name}]",
                str(high),
                f"default value {default} is greater than max value {high}",
            )
        )
    if ratio is not None and ratio < Quantity.from_units(1):
        errs.append(
            invalid(
                f"{path}.maxLimitRequestRatio[{name}]", str(ratio), f"ratio {ratio} is less than 1"
            )
        )
    if ratio is not None and low is not None and high is not None and low.milli_value():
        limit = high.milli_value() / low.milli_value()
        if ratio.milli_value() / 1000 > limit:
            errs.append(
                invalid(
                    f"{path}.maxLimitRequestRatio[{name}]",
                    str(ratio),
                    f"ratio {ratio} is greater than max/min = {limit:f}",
                )
            )
    if (
        not is_overcommit_allowed(name)
        and default is not None
        and request is not None
        and default != request
    ):
        errs.append(
            invalid(
                f"{path}.defaultRequest[{name}]",
                str(request),
                f"default value {default} must equal to defaultRequest value {request} in {name}",
            )
        )
    return errs
