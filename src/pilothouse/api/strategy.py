"""Per-kind write rules, as kube-apiserver's REST strategies define them.

The API server runs, for every write of a kind, in this order:

  create:  prepare_for_create -> default -> validate
  update:  prepare_for_update(new, old) -> default -> validate + validate_update(new, old)
  status:  prepare_for_status_update(new, old) -> validate_status_update(new, old)

All methods work on plain dicts (the JSON form of the object, in the version the resource is
stored in) and mutate ``new`` in place; validators return a list of ``FieldError`` (empty when
valid) instead of raising, so every problem is reported at once. The generic ``Strategy`` does
what is right for any kind with ``spec`` and ``status``; per-kind strategies (``api/kinds/``)
override what differs. Nothing here touches the store: allocation of cluster IPs and node
ports, namespace existence and similar checks that need other objects live in the API server.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.errors import FieldError

Obj = dict[str, Any]


class Strategy:
    """Defaults for a kind with metadata, spec and status."""

    # Whether the kind has a status the main endpoint must not write (a /status subresource).
    has_status: bool = True
    # Whether metadata.generation is maintained (bumped when anything but metadata/status
    # changes).
    tracks_generation: bool = True

    def prepare_for_create(self, obj: Obj) -> None:
        """Reset what clients may not set on create: status (when it has its own endpoint)."""
        if self.has_status and "status" in obj:
            obj["status"] = {}
            del obj["status"]
        if self.tracks_generation:
            obj.setdefault("metadata", {})["generation"] = 1

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Keep status from ``old``; bump generation when the desired state changed."""
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if self.tracks_generation:
            generation = old.get("metadata", {}).get("generation", 1)
            if _desired_state(new) != _desired_state(old):
                generation += 1
            new.setdefault("metadata", {})["generation"] = generation

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """A /status write changes status only: everything else comes from ``old``."""
        status = new.get("status")
        meta = new.get("metadata", {})
        new.clear()
        new.update({k: v for k, v in old.items() if k != "status"})
        if status is not None:
            new["status"] = status
        # Labels and annotations may not change through /status either, but the
        # resourceVersion precondition the client sent must be kept.
        if "resourceVersion" in meta:
            new["metadata"] = {**new["metadata"], "resourceVersion": meta["resourceVersion"]}

    def default(self, obj: Obj) -> None:
        """Fill in defaults the way kube-apiserver's defaulting functions do."""

    def validate(self, obj: Obj) -> list[FieldError]:
        """Everything wrong with ``obj`` (metadata is checked by the API server)."""
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        """What an update may not change (immutable fields)."""
        return []

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return []

    def field_labels(self, obj: Obj) -> dict[str, str]:
        """Values of the field selectors this kind supports, beyond metadata.name and
        metadata.namespace (e.g. spec.nodeName and status.phase for pods)."""
        return {}


def _desired_state(obj: Obj) -> Obj:
    """Everything that counts as the desired state: all but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}
