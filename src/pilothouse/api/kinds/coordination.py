"""Leases (coordination.k8s.io/v1): the duration must be positive and the transition count
not negative. Leases are written often (node heartbeats, leader election) and have neither
status nor generation."""

from __future__ import annotations

from pilothouse.api.errors import FieldError, invalid
from pilothouse.api.kinds.base import NoStatusStrategy, dig
from pilothouse.api.strategy import Obj


class LeaseStrategy(NoStatusStrategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        duration = dig(obj, "spec", "leaseDurationSeconds")
        if duration is not None and duration <= 0:
            errs.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
        transitions = dig(obj, "spec", "leaseTransitions")
        if transitions is not None and transitions < 0:
            errs.append(
                invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
            )
        return errs
