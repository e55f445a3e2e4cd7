"""Run a strategy the way the API server does, returning the object and the error messages."""

import copy

from pilothouse.api.kinds import strategy_for

NAMESPACED = {
    "Namespace": False,
    "Node": False,
    "PersistentVolume": False,
    "ClusterRole": False,
    "ClusterRoleBinding": False,
    "StorageClass": False,
    "PriorityClass": False,
    "RuntimeClass": False,
    "IngressClass": False,
}


def create(group, obj, *, namespaced=None, raw=False):
    """prepare_for_create -> default -> metadata + create validation. The errors are messages,
    or (field, type, detail) triples with ``raw`` (for errors whose value is a map or struct,
    which errors.py renders in its own way)."""
    obj = copy.deepcopy(obj)
    strategy = strategy_for(group, obj["kind"])
    obj.setdefault("metadata", {}).setdefault("uid", "uid-1")
    strategy.prepare_for_create(obj)
    strategy.default(obj)
    if namespaced is None:
        namespaced = NAMESPACED.get(obj["kind"], True)
    errors = strategy.validate_metadata(obj, namespaced=namespaced) + strategy.validate_create(obj)
    return obj, [(e.field, e.type, e.detail) if raw else e.message() for e in errors]


def update(group, new, old, *, raw=False):
    """prepare_for_update -> default -> metadata update + validate + validate_update."""
    new = copy.deepcopy(new)
    strategy = strategy_for(group, new["kind"])
    new.setdefault("metadata", {}).setdefault("resourceVersion", "1")
    strategy.prepare_for_update(new, old)
    strategy.default(new)
    errors = (
        strategy.validate_metadata_update(new, old)
        + strategy.validate(new)
        + strategy.validate_update(new, old)
    )
    return new, [(e.field, e.type, e.detail) if raw else e.message() for e in errors]


def created(group, obj):
    """A created object that must be valid (a fixture for update tests)."""
    result, errors = create(group, obj)
    assert errors == []
    result["metadata"]["resourceVersion"] = "1"
    return result
