"""Label and field selectors compiled into one predicate over cached objects."""

from __future__ import annotations

from pilothouse.api import errors
from pilothouse.api.kinds import FieldLabelError, convert_field_label, strategy_for
from pilothouse.api.resources import ResourceType
from pilothouse.api.selectors import FieldRequirement, FieldSelector, LabelSelector
from pilothouse.apiserver.cacher import Filter


def compile_filter(
    resource: ResourceType, label_selector: str, field_selector: str
) -> Filter | None:
    """A predicate for the selectors, or None when they select everything.

    400 BadRequest for malformed selectors and for field selectors the kind does not support
    (kube-apiserver: ``field label not supported: <key>``)."""
    labels = LabelSelector.parse(label_selector) if label_selector else None
    fields = FieldSelector.parse(field_selector) if field_selector else None
    if labels is not None and labels.empty:
        labels = None
    if fields is not None:
        fields = _converted(resource, fields) if fields.requirements else None
    if labels is None and fields is None:
        return None
    if fields is None:
        assert labels is not None
        return lambda o: labels.matches(o.labels)
    if labels is None:
        return lambda o: fields.matches(o.fields)
    return lambda o: labels.matches(o.labels) and fields.matches(o.fields)


def _converted(resource: ResourceType, selector: FieldSelector) -> FieldSelector:
    """The selector over the field names the kind's ``field_labels`` uses (clients may send
    older names, such as ``spec.host`` for pods); 400 for fields the kind does not support."""
    requirements = []
    for requirement in selector.requirements:
        try:
            field = convert_field_label(resource.group, resource.kind, requirement.field)
        except FieldLabelError as e:
            raise errors.BadRequest(str(e)) from None
        requirements.append(FieldRequirement(field, requirement.operator, requirement.value))
    return FieldSelector(requirements)


def object_fields(group: str, obj: dict) -> dict[str, str]:
    """The field-selector attributes of an object: its name, namespace and the fields its
    kind supports (computed once per change, by the watch cache)."""
    meta = obj.get("metadata") or {}
    fields = {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", "")}
    kind = obj.get("kind")
    if kind:
        fields.update(strategy_for(group, kind).field_labels(obj))
    return fields
