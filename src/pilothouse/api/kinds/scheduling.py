"""PriorityClasses (scheduling.k8s.io/v1).

User classes may have a value of at most one billion; names starting with "system-" are
reserved for the two built-in classes with their fixed values. Value and preemptionPolicy
never change; preemptionPolicy defaults to PreemptLowerPriority.
"""

from __future__ import annotations

from pilothouse.api.errors import FieldError, forbidden, not_supported, required
from pilothouse.api.kinds.base import NoStatusStrategy, dig
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import validate_immutable

HIGHEST_USER_PRIORITY = 1_000_000_000
SYSTEM_PREFIX = "system-"
SYSTEM_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"]


class PriorityClassStrategy(NoStatusStrategy):
    def default(self, obj: Obj) -> None:
        if obj.get("preemptionPolicy") is None:
            obj["preemptionPolicy"] = "PreemptLowerPriority"

    def validate(self, obj: Obj) -> list[FieldError]:
        name = dig(obj, "metadata", "name", default="")
        value = obj.get("value") or 0
        errs: list[FieldError] = []
        if name.startswith(SYSTEM_PREFIX):
            problem = _system_class_problem(name, value, obj.get("globalDefault") is True)
            if problem:
                errs.append(
                    forbidden(
                        "metadata.name",
                        f"priority class names with '{SYSTEM_PREFIX}' prefix "
                        f"are reserved for system use only. error: {problem}",
                    )
                )
        elif value > HIGHEST_USER_PRIORITY:
            errs.append(
                forbidden(
                    "value",
                    f"maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}",
                )
            )
        policy = obj.get("preemptionPolicy")
        if policy is not None:
            if not policy:
                errs.append(required("preemptionPolicy"))
            elif policy not in PREEMPTION_POLICIES:
                errs.append(not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        if (new.get("value") or 0) != (old.get("value") or 0):
            errs.append(forbidden("value", "may not be changed in an update."))
        return errs + validate_immutable(
            new.get("preemptionPolicy"), old.get("preemptionPolicy"), "preemptionPolicy"
        )


def _system_class_problem(name: str, value: int, global_default: bool) -> str:
    if name not in SYSTEM_CLASSES:
        return f"{name} is not a known system priority class"
    if SYSTEM_CLASSES[name] != value:
        return f"value of {name} PriorityClass must be {SYSTEM_CLASSES[name]}"
    if global_default:
        return f"globalDefault of {name} PriorityClass must be false"
    return ""
