"""Converting objects between the version a client speaks and the version stored.

Most resources are served in the version they are stored in and pass through untouched.
HorizontalPodAutoscalers are stored as autoscaling/v2 and also served as v1; Events are
stored as core/v1 and also served as events.k8s.io/v1.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.kinds.conversion import convert
from pilothouse.api.resources import Registry, ResourceType

Obj = dict[str, Any]


def to_storage(resource: ResourceType, registry: Registry, obj: Obj) -> Obj:
    stored = registry.storage_resource(resource)
    if stored is resource:
        return obj
    return convert(obj, to_api_version=stored.api_version)


def to_served(resource: ResourceType, registry: Registry, obj: Obj) -> Obj:
    if registry.storage_resource(resource) is resource:
        return obj
    return convert(obj, to_api_version=resource.api_version)
