"""Downward API values: a pod's fields and its containers' resources, as text, for
environment variables (``fieldRef``/``resourceFieldRef``) and downwardAPI volumes alike.

Matches k8s.io/kubernetes pkg/fieldpath and pkg/api/v1/resource:

* ``metadata.name``, ``metadata.namespace``, ``metadata.uid``; ``metadata.labels`` and
  ``metadata.annotations`` as ``key="value"`` lines sorted by key (values quoted as Go's %q),
  and one value with ``metadata.labels['key']`` (empty when the key is absent);
* for environment variables (``pod_field_value``) also ``spec.nodeName``,
  ``spec.serviceAccountName`` and ``status.podIP(s)``/``status.hostIP(s)`` (the IPs are
  given by the caller: the kubelet knows them before the API does);
* ``limits.cpu|memory|ephemeral-storage``, ``requests.*`` and ``*.hugepages-<size>`` of a
  container, divided by the divisor (default 1) and rounded up; a container without a CPU,
  memory or ephemeral-storage limit reads the node's allocatable amount instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pilothouse.api.patch.gojson import quote
from pilothouse.api.quantity import Quantity, QuantityError
from pilothouse.api.validation import is_qualified_name

Obj = dict[str, Any]


class FieldPathError(ValueError):
    """A field or resource the downward API cannot give (callers turn it into their error)."""

_DEFAULTED_LIMITS = ("cpu", "memory", "ephemeral-storage")


def pod_field_value(pod: Obj, field_path: str, *, pod_ips: tuple[str, ...],
                    host_ips: tuple[str, ...]) -> str:
    """A ``fieldRef`` of an environment variable (the kubelet's podFieldSelectorRuntimeValue):
    the spec and status fields it knows, then the metadata ones."""
    spec = pod.get("spec") or {}
    if field_path in ("spec.nodeName", "spec.serviceAccountName"):
        return str(spec.get(field_path.removeprefix("spec.")) or "")
    if field_path in ("status.podIP", "status.hostIP"):
        ips = pod_ips if field_path == "status.podIP" else host_ips
        return ips[0] if ips else ""
    if field_path in ("status.podIPs", "status.hostIPs"):
        return ",".join(pod_ips if field_path == "status.podIPs" else host_ips)
    return extract_field_path(pod, field_path)


def extract_field_path(pod: Obj, field_path: str) -> str:
    """A metadata ``fieldRef`` (upstream's ExtractFieldPathAsString), as downwardAPI volumes
    read them."""
    meta = pod.get("metadata") or {}
    path, subscript = split_subscripted_path(field_path)
    if subscript is not None:
        return _subscripted_value(meta, field_path, path, subscript)
    if path == "metadata.annotations":
        return format_map(meta.get("annotations") or {})
    if path == "metadata.labels":
        return format_map(meta.get("labels") or {})
    if path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(meta.get(path.removeprefix("metadata.")) or "")
    raise FieldPathError(f"unsupported fieldPath: {field_path}")


def split_subscripted_path(field_path: str) -> tuple[str, str | None]:
    """``metadata.labels['k']`` -> (``metadata.labels``, ``k``); no subscript -> (path, None)."""
    if not field_path.endswith("']"):
        return field_path, None
    path, sep, subscript = field_path.removesuffix("']").partition("['")
    if not sep or not path:
        return field_path, None
    return path, subscript


def format_map(values: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={quote(values[key])}" for key in sorted(values))


def _subscripted_value(meta: Obj, field_path: str, path: str, subscript: str) -> str:
    if path == "metadata.annotations":
        problems = is_qualified_name(subscript.lower())
        source = meta.get("annotations") or {}
    elif path == "metadata.labels":
        problems = is_qualified_name(subscript)
        source = meta.get("labels") or {}
    else:
        raise FieldPathError(f"fieldPath {quote(field_path)} does not support subscript")
    if problems:
        raise FieldPathError(f"invalid key subscript in {field_path}: {';'.join(problems)}")
    return str(source.get(subscript, ""))


def extract_resource_value(selector: Obj, pod: Obj, allocatable: Mapping[str, Any], *,
                           container: Obj | None = None) -> str:
    """The value a ``resourceFieldRef`` selects, with unset limits read from ``allocatable``.
    ``container`` is the one an environment variable belongs to (used when the selector
    names none)."""
    if selector.get("containerName") or container is None:
        container = _find_container(pod, selector.get("containerName") or "")
    resources = container.get("resources") or {}
    limits = dict(resources.get("limits") or {})
    for name in _DEFAULTED_LIMITS:
        if _quantity(limits.get(name)).is_zero() and name in allocatable:
            limits[name] = allocatable[name]
    requests = resources.get("requests") or {}
    divisor = _quantity(selector.get("divisor"))
    if divisor.is_zero():
        divisor = Quantity.from_units(1)
    kind, _, name = str(selector.get("resource") or "").partition(".")
    values = {"limits": limits, "requests": requests}.get(kind)
    if values is None or not _supported(name):
        raise FieldPathError(f"unsupported container resource : {selector.get('resource')}")
    amount = _quantity(values.get(name))
    if name == "cpu":
        return str(_ceil_div(amount.milli_value(), divisor.milli_value()))
    return str(_ceil_div(amount.value(), divisor.value()))


def _supported(name: str) -> bool:
    return name in ("cpu", "memory", "ephemeral-storage") or name.startswith("hugepages-")


def _find_container(pod: Obj, name: str) -> Obj:
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if container.get("name") == name:
            return container
    raise FieldPathError(f"container {name} not found")


def _quantity(value: Any) -> Quantity:
    if value is None or value == "":
        return Quantity(0)
    try:
        return Quantity.from_json(value)
    except QuantityError as error:
        raise FieldPathError(str(error)) from None


def _ceil_div(value: int, divisor: int) -> int:
    return -(-value // divisor)
