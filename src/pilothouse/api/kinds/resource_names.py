"""Resource names and quantities: what may appear in requests, limits, quotas and limit ranges.

Mirrors pkg/apis/core/helper (IsStandardContainerResourceName, IsExtendedResourceName,
IsOvercommitAllowed, ...) and the quantity checks of pkg/apis/core/validation. Quantities
arrive as JSON strings or numbers; text that does not parse is reported as upstream's
decoder reports it, so a caller that skipped decoding still gets an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid, required
from pilothouse.api.quantity import Quantity, QuantityError
from pilothouse.api.validation import IS_NEGATIVE, is_qualified_name, not_found

HUGEPAGES_PREFIX = "hugepages-"
_STANDARD_CONTAINER = frozenset({"cpu", "memory", "ephemeral-storage"})
_STANDARD = frozenset(
    {
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "storage",
        "requests.storage",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_STANDARD_QUOTA = frozenset(
    {
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.storage",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "persistentvolumeclaims",
        "configmaps",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_INTEGER = frozenset(
    {
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_QOS_COMPUTE = frozenset({"cpu", "memory"})

ResourceNameCheck = Callable[[str, str], list[FieldError]]


def parse(value: Any) -> Quantity | None:
    """The quantity of a JSON value, or None when it is not one."""
    try:
        return Quantity.from_json(value)
    except QuantityError:
        return None


def is_hugepages(name: str) -> bool:
    return name.startswith(HUGEPAGES_PREFIX)


def is_quota_hugepages(name: str) -> bool:
    return any(
        name.startswith(p)
        for p in (HUGEPAGES_PREFIX, "requests." + HUGEPAGES_PREFIX, "limits." + HUGEPAGES_PREFIX)
    )


def is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def is_extended(name: str) -> bool:
    if is_native(name) or name.startswith("requests."):
        return False
    return not is_qualified_name("requests." + name)


def is_overcommit_allowed(name: str) -> bool:
    return is_native(name) and not is_hugepages(name)


def is_integer_resource(name: str) -> bool:
    return name in _INTEGER or is_extended(name)


def validate_resource_name(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, msg) for msg in is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name and name not in _STANDARD and not is_quota_hugepages(name):
        return [invalid(path, name, "must be a standard resource type or fully qualified")]
    return []


def validate_container_resource_name(name: str, path: str) -> list[FieldError]:
    errs = validate_resource_name(name, path)
    if "/" not in name:
        if name not in _STANDARD_CONTAINER and not is_hugepages(name):
            return errs + [invalid(path, name, "must be a standard resource for containers")]
    elif not is_native(name) and not is_extended(name):
        return errs + [invalid(path, name, "doesn't follow extended resource name standard")]
    return errs


def validate_quota_resource_name(name: str, path: str) -> list[FieldError]:
    errs = validate_resource_name(name, path)
    if "/" not in name and name not in _STANDARD_QUOTA and not is_quota_hugepages(name):
        return errs + [invalid(path, name, "must be a standard resource for quota")]
    return errs


def validate_quantity_value(name: str, value: Any, path: str) -> list[FieldError]:
    """ValidateResourceQuantityValue: not negative, and whole for integer resources."""
    quantity = parse(value)
    if quantity is None:
        return [invalid(path, value, "must be a valid resource quantity")]
    errs: list[FieldError] = []
    if quantity.sign() < 0:
        errs.append(invalid(path, str(quantity), IS_NEGATIVE))
    if is_integer_resource(name) and quantity.milli_value() % 1000 != 0:
        errs.append(invalid(path, str(quantity), "must be an integer"))
    return errs


def validate_positive_quantity(value: Any, path: str) -> list[FieldError]:
    quantity = parse(value)
    if quantity is not None and quantity.sign() <= 0:
        return [invalid(path, str(quantity), "must be greater than zero")]
    return []


def validate_requirements(
    requirements: Mapping[str, Any] | None,
    path: str,
    *,
    check_name: ResourceNameCheck = validate_container_resource_name,
    claim_names: frozenset[str] = frozenset(),
) -> list[FieldError]:
    """A container's (or pod's) resources: names, values, requests <= limits."""
    requirements = requirements or {}
    limits = requirements.get("limits") or {}
    requests = requirements.get("requests") or {}
    lim_path, req_path = f"{path}.limits", f"{path}.requests"
    errs: list[FieldError] = []
    for name, value in limits.items():
        errs += check_name(name, f"{lim_path}[{name}]")
        errs += validate_quantity_value(name, value, f"{lim_path}[{name}]")
        errs += _hugepages_value(name, value, f"{lim_path}[{name}]")
    for name, value in requests.items():
        errs += check_name(name, f"{req_path}[{name}]")
        errs += validate_quantity_value(name, value, f"{req_path}[{name}]")
        errs += _request_within_limit(name, value, limits, lim_path, req_path)
        errs += _hugepages_value(name, value, f"{req_path}[{name}]")
    names = set(limits) | set(requests)
    if any(is_hugepages(n) for n in names) and not names & _QOS_COMPUTE:
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    errs += _validate_claim_refs(requirements.get("claims") or [], claim_names, f"{path}.claims")
    return errs


def _request_within_limit(
    name: str, value: Any, limits: Mapping[str, Any], lim_path: str, req_path: str
) -> list[FieldError]:
    request = parse(value)
    if name not in limits:
        if not is_overcommit_allowed(name):
            return [required(lim_path, "Limit must be set for non overcommitable resources")]
        return []
    limit = parse(limits[name])
    if request is None or limit is None:
        return []
    if request != limit and not is_overcommit_allowed(name):
        return [invalid(req_path, str(request), f"must be equal to {name} limit of {limit}")]
    if request > limit:
        return [
            invalid(
                req_path, str(request), f"must be less than or equal to {name} limit of {limit}"
            )
        ]
    return []


def _hugepages_value(name: str, value: Any, path: str) -> list[FieldError]:
    if not is_hugepages(name):
        return []
    page = parse(name[len(HUGEPAGES_PREFIX) :])
    quantity = parse(value)
    if page is None or quantity is None or page.is_zero():
        return []
    if quantity.value() % page.value() != 0:
        return [
            invalid(path, str(quantity), f"{quantity} is not positive integer multiple of {name}")
        ]
    return []


def _validate_claim_refs(
    claims: list[Any], pod_claims: frozenset[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, claim in enumerate(claims):
        name = (claim or {}).get("name") or ""
        if not name:
            errs.append(required(f"{path}[{i}]"))
            continue
        if name in seen:
            errs.append(duplicate(f"{path}[{i}]", name))
        seen.add(name)
        if name not in pod_claims:
            error = not_found(f"{path}[{i}]", name)
            detail = "must be one of the names in pod.spec.resourceClaims"
            error.detail = detail + (
                ": " + ", ".join(sorted(pod_claims)) if pod_claims else " which is empty"
            )
            errs.append(error)
    return errs


def round_up_resource_list(resources: dict[str, Any] | None) -> None:
    """SetDefaults_ResourceList: every value rounded up to a multiple of 1m, in canonical form."""
    if not isinstance(resources, dict):
        return
    for name, value in resources.items():
        quantity = parse(value)
        if quantity is not None:
            resources[name] = str(quantity.round_up(-3))
