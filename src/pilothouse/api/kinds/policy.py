"""PodDisruptionBudgets (policy/v1).

minAvailable and maxUnavailable are exclusive, each a non-negative number or a percentage of
at most 100%; the selector must be well-formed. PDBs track metadata.generation and have a
/status endpoint whose counters may not go negative.
"""

from __future__ import annotations

from pilothouse.api.errors import FieldError, invalid, not_supported
from pilothouse.api.kinds.base import KindStrategy, validate_selector
from pilothouse.api.kinds.workloads import int_or_percent_value, validate_positive_int_or_percent
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import validate_nonnegative

UNHEALTHY_POD_EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]


class PodDisruptionBudgetStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs: list[FieldError] = []
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            errs.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
        for key in ("minAvailable", "maxUnavailable"):
            value = spec.get(key)
            if value is None:
                continue
            errs += validate_positive_int_or_percent(value, f"spec.{key}")
            if isinstance(value, str) and value.endswith("%") and int_or_percent_value(value) > 100:
                errs.append(invalid(f"spec.{key}", value, "must not be greater than 100%"))
        errs += validate_selector(spec.get("selector"), "spec.selector")
        policy = spec.get("unhealthyPodEvictionPolicy")
        if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
            errs.append(
                not_supported(
                    "spec.unhealthyPodEvictionPolicy", policy, UNHEALTHY_POD_EVICTION_POLICIES
                )
            )
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        status = new.get("status") or {}
        errs: list[FieldError] = []
        for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
            errs += validate_nonnegative(status.get(key) or 0, f"status.{key}")
        return errs
