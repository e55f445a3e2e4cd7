"""Namespaces.

Names are DNS-1123 labels. On create the status is Active and ``spec.finalizers`` gains
"kubernetes"; the ``kubernetes.io/metadata.name`` label always equals the name. Ordinary
updates cannot change spec.finalizers (only the /finalize subresource can) or status (only
/status can, and its phase must agree with deletionTimestamp).
"""

from __future__ import annotations

import copy

from pilothouse.api.errors import FieldError, invalid
from pilothouse.api.kinds.base import NoGenerationStrategy, dig, ensure
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import is_qualified_name, name_is_dns_label

NAME_LABEL = "kubernetes.io/metadata.name"
KUBERNETES_FINALIZER = "kubernetes"
_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


class NamespaceStrategy(NoGenerationStrategy):
    name_validator = staticmethod(name_is_dns_label)
    metadata_field_labels = ("metadata.name",)
    field_label_names = ("status.phase",)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Active"}
        finalizers = ensure(obj, "spec").setdefault("finalizers", [])
        if KUBERNETES_FINALIZER not in finalizers:
            finalizers.append(KUBERNETES_FINALIZER)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        old_finalizers = dig(old, "spec", "finalizers")
        spec = ensure(new, "spec")
        if old_finalizers is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = copy.deepcopy(old_finalizers)

    def prepare_for_finalize(self, new: Obj, old: Obj) -> None:
        """The /finalize subresource writes spec.finalizers only: status stays."""
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])

    def default(self, obj: Obj) -> None:
        name = dig(obj, "metadata", "name")
        if name:
            ensure(obj, "metadata", "labels")[NAME_LABEL] = name
        status = ensure(obj, "status")
        if not status.get("phase"):
            status["phase"] = "Active"

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for finalizer in dig(obj, "spec", "finalizers", default=[]):
            errs += _validate_finalizer(finalizer, "spec.finalizers")
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        phase = dig(new, "status", "phase", default="")
        if not dig(new, "metadata", "deletionTimestamp"):
            if phase != "Active":
                return [
                    invalid(
                        "status.Phase",
                        phase,
                        "may only be 'Active' if `deletionTimestamp` is empty",
                    )
                ]
        elif phase != "Terminating":
            return [
                invalid(
                    "status.Phase",
                    phase,
                    "may only be 'Terminating' if `deletionTimestamp` is not empty",
                )
            ]
        return []

    def validate_finalize(self, new: Obj, old: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, finalizer in enumerate(dig(new, "spec", "finalizers", default=[])):
            errs += _validate_finalizer(finalizer, f"spec.finalizers[{i}]")
        return errs

    def field_labels(self, obj: Obj) -> dict[str, str]:
        return {"status.phase": dig(obj, "status", "phase", default="")}


def _validate_finalizer(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, msg) for msg in is_qualified_name(name)]
    if "/" not in name and name not in _STANDARD_FINALIZERS:
        errs.append(
            invalid(
                path, name, "name is neither a standard finalizer name nor is it fully qualified"
            )
        )
    return errs
