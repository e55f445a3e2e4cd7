"""What every per-kind strategy shares: metadata validation and helpers for nested dicts.

``KindStrategy`` extends the API's ``Strategy`` contract with what kube-apiserver knows per
kind and the API server needs besides ``validate``:

* ``name_validator``: how ``metadata.name`` is checked (DNS-1123 subdomain for most kinds).
  ``validate_metadata(obj, namespaced=...)`` and ``validate_metadata_update(new, old)`` run
  ``ValidateObjectMeta``/``ValidateObjectMetaUpdate`` with it; the API server calls them
  before ``validate_create``/``validate`` so metadata errors come first, as upstream.
* ``validate_create(obj)``: create-time validation. It is ``validate`` plus the checks that
  only apply to new objects (a pod may not be created with ephemeral containers, but may be
  updated with them). The API server calls it instead of ``validate`` on create.
* ``field_label_names``: the field selectors the kind supports beyond metadata.name and
  metadata.namespace; ``field_labels(obj)`` returns their values for one object, and
  ``convert_field_label`` maps what a client sends to those names (pods still accept
  ``spec.host``), failing as upstream fails: "field label not supported: foo".

Everything here is a pure function of plain JSON dicts.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from pilothouse.api.errors import FieldError
from pilothouse.api.selectors import LabelSelector, LabelSelectorError, validate_label_selector
from pilothouse.api.strategy import Obj, Strategy
from pilothouse.api.validation import (
    NameValidator,
    name_is_dns_subdomain,
    validate_object_meta,
    validate_object_meta_update,
)


class KindStrategy(Strategy):
    """A Strategy that also knows how the kind's metadata is validated."""

    # None: the kind's metadata is not validated at all (core/v1 Events, for compatibility).
    name_validator: NameValidator | None = staticmethod(name_is_dns_subdomain)
    # Built-in kinds insist that unqualified finalizers are standard ones; custom ones do not.
    kube_finalizers: bool = True
    # Field selectors: metadata ones, the kind's own, and old names clients may still send.
    metadata_field_labels: tuple[str, ...] = ("metadata.name", "metadata.namespace")
    field_label_names: tuple[str, ...] = ()
    field_label_aliases: Mapping[str, str] = MappingProxyType({})

    def supported_field_labels(self) -> frozenset[str]:
        return frozenset(
            (*self.metadata_field_labels, *self.field_label_names, *self.field_label_aliases)
        )

    def convert_field_label(self, label: str) -> str:
        """The name ``field_labels`` uses for a selector label a client sent."""
        if label in self.field_label_aliases:
            return self.field_label_aliases[label]
        if label in self.metadata_field_labels or label in self.field_label_names:
            return label
        raise FieldLabelError(f"field label not supported: {label}")

    def validate_metadata(self, obj: Obj, *, namespaced: bool) -> list[FieldError]:
        if self.name_validator is None:
            return []
        return validate_object_meta(
            obj.get("metadata"),
            namespaced=namespaced,
            name_validator=self.name_validator,
            kube_finalizers=self.kube_finalizers,
        )

    def validate_metadata_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_object_meta_update(
            new.get("metadata"), old.get("metadata"), kube_finalizers=self.kube_finalizers
        )

    def validate_create(self, obj: Obj) -> list[FieldError]:
        return self.validate(obj)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """Upstream decodes (and so defaults) every write, /status ones included: status
        defaults such as a node's allocatable or a load balancer's ipMode apply here too."""
        super().prepare_for_status_update(new, old)
        self.default(new)


class FieldLabelError(ValueError):
    """A field selector on a label the kind does not support (a 400 for the API server)."""


class NoStatusStrategy(KindStrategy):
    """Kinds without a status subresource and without metadata.generation
    (ConfigMap, Secret, RBAC objects, ...): the whole object is written as sent."""

    has_status = False
    tracks_generation = False


class NoGenerationStrategy(KindStrategy):
    """Kinds with a /status endpoint that do not maintain metadata.generation."""

    tracks_generation = False


def selector_mismatch(
    selector: Mapping[str, Any] | None, labels: Mapping[str, str], *, skip_empty: bool = True
) -> bool:
    """Whether a metav1.LabelSelector fails to select ``labels``, as the template checks of
    workload validation decide it: a missing selector selects nothing (so it never matches),
    a malformed one is left to selector validation, and an empty one (with ``skip_empty``)
    is not checked."""
    try:
        parsed = LabelSelector.from_object(selector)
    except LabelSelectorError:
        return False
    if skip_empty and parsed.empty:
        return False
    return not parsed.matches(labels)


def validate_selector(selector: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """ValidateLabelSelector, for which a missing selector is valid."""
    return [] if selector is None else validate_label_selector(selector, path)


def selector_is_empty(selector: Mapping[str, Any] | None) -> bool:
    return selector is not None and not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    )


# --- dict helpers -------------------------------------------------------------------------


def dig(obj: Any, *keys: str | int, default: Any = None) -> Any:
    """The value at a path of keys/indexes, or ``default`` when any step is missing/null."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(obj, list) or key >= len(obj):
                return default
        elif not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
        if obj is None:
            return default
    return obj


def items(obj: Any, *keys: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, element) of a list of objects at a path; nothing when absent."""
    value = dig(obj, *keys, default=[])
    if isinstance(value, list):
        for i, element in enumerate(value):
            if isinstance(element, dict):
                yield i, element


def ensure(obj: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The dict at a path, creating empty dicts on the way (for defaulting)."""
    for key in keys:
        value = obj.get(key)
        if not isinstance(value, dict):
            value = {}
            obj[key] = value
        obj = value
    return obj


def set_default(obj: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` when absent or null (Go's zero value for pointers and empty strings)."""
    if obj.get(key) in (None, ""):
        obj[key] = copy.deepcopy(value)


def semantic(value: Any) -> Any:
    """A value with empty collections and nulls dropped, for comparisons that mirror Go's
    apiequality.Semantic (where nil and empty are the same)."""
    if isinstance(value, dict):
        out = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "", False, 0)}
    if isinstance(value, list):
        return [semantic(v) for v in value]
    return value


def semantically_equal(a: Any, b: Any) -> bool:
    return semantic(a) == semantic(b)


def describe_change(old: Any, new: Any) -> str:
    """A short account of what differs between two objects, standing in for the Go
    ``cmp.Diff`` text upstream appends to "field is immutable" style messages."""
    lines: list[str] = []
    _diff(semantic(old), semantic(new), "", lines)
    return "\n".join(lines)


def _diff(old: Any, new: Any, path: str, lines: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _diff(old.get(key), new.get(key), f"{path}.{key}" if path else key, lines)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}[{i}]", lines)
    elif old != new:
        if old is not None:
            lines.append(f"- {path}: {old!r}")
        if new is not None:
            lines.append(f"+ {path}: {new!r}")
