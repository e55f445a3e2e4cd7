"""Pod controllers of apps/v1 and core/v1: Deployments, ReplicaSets, ReplicationControllers,
StatefulSets, DaemonSets and ControllerRevisions.

Defaults follow the apps/v1 defaulters (one replica, RollingUpdate 25%/25%, ten revisions,
600s progress deadline, OrderedReady pods, PVC retention Retain, ...) and include the pod
template's. Validation follows pkg/apis/apps/validation: a selector is required, may not be
empty and must match the template's labels; templates must restart Always; the selector is
immutable (apps/v1), and a StatefulSet may only change replicas, ordinals, template,
updateStrategy, revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and
minReadySeconds. All of them track metadata.generation and have a /status endpoint except
ControllerRevisions.
"""

from __future__ import annotations

import re
from typing import Any

from pilothouse.api.errors import FieldError, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import (
    KindStrategy,
    NoStatusStrategy,
    dig,
    ensure,
    items,
    selector_is_empty,
    selector_mismatch,
    semantically_equal,
    validate_selector,
)
from pilothouse.api.kinds.podspec import default_pod_template, validate_pod_template
from pilothouse.api.kinds.volumes import default_claim_spec
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    is_valid_percent,
    validate_immutable,
    validate_nonnegative,
)

_PERCENT_RE = re.compile(r"^([0-9]+)%$")


def _spec(obj: Obj) -> dict[str, Any]:
    return ensure(obj, "spec")


def _default_replicas(spec: dict[str, Any]) -> None:
    if spec.get("replicas") is None:
        spec["replicas"] = 1


def _default_history(spec: dict[str, Any]) -> None:
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10


# --- shared validation --------------------------------------------------------------------


def validate_workload_selector(
    spec: dict[str, Any], kind: str, *, required_selector: bool = True
) -> list[FieldError]:
    """Selector present, well-formed and not empty (``kind`` names the empty-selector error)."""
    selector = spec.get("selector")
    if selector is None:
        return [required("spec.selector")] if required_selector else []
    errs = validate_selector(selector, "spec.selector")
    if selector_is_empty(selector):
        errs.append(invalid("spec.selector", selector, f"empty selector is invalid for {kind}"))
    return errs


def validate_template_for_controller(spec: dict[str, Any], controller: str) -> list[FieldError]:
    """ValidatePodTemplateSpecForReplicaSet: selector matches labels, template valid,
    restartPolicy Always, no activeDeadlineSeconds."""
    template = spec.get("template")
    if template is None:
        return [required("spec.template")]
    errs: list[FieldError] = []
    selector = spec.get("selector")
    labels = dig(template, "metadata", "labels", default={})
    if selector_mismatch(selector, labels):
        errs.append(
            invalid(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
        )
    errs += validate_pod_template(template, "spec.template")
    errs += _validate_restart_always(template, controller)
    return errs


def _validate_restart_always(
    template: dict[str, Any], controller: str, *, use_forbidden: bool = False
) -> list[FieldError]:
    errs: list[FieldError] = []
    restart = dig(template, "spec", "restartPolicy", default="")
    if restart != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    deadline = dig(template, "spec", "activeDeadlineSeconds")
    if deadline is not None:
        message = f"activeDeadlineSeconds in {controller} is not Supported"
        path = "spec.template.spec.activeDeadlineSeconds"
        errs.append(forbidden(path, message) if use_forbidden else invalid(path, deadline, message))
    return errs


def validate_positive_int_or_percent(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str):
        return [invalid(path, value, msg) for msg in is_valid_percent(value)]
    if isinstance(value, int):
        return validate_nonnegative(value, path)
    return [invalid(path, value, "must be an integer or percentage (e.g '5%')")]


def int_or_percent_value(value: Any) -> int:
    if isinstance(value, int):
        return value
    match = _PERCENT_RE.match(value or "") if isinstance(value, str) else None
    return int(match.group(1)) if match else 0


def _not_more_than_100_percent(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str) and _PERCENT_RE.match(value) and int_or_percent_value(value) > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def _validate_status_counts(status: dict[str, Any], keys: tuple[str, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in (*keys, "observedGeneration"):
        errs += validate_nonnegative(status.get(key) or 0, f"status.{key}")
    replicas = status.get("replicas") or 0
    for key in keys[1:]:
        if (
            key
            in (
                "availableReplicas",
                "readyReplicas",
                "fullyLabeledReplicas",
                "currentReplicas",
                "updatedReplicas",
            )
            and (status.get(key) or 0) > replicas
        ):
            errs.append(
                invalid(
                    f"status.{key}", status.get(key) or 0, "cannot be greater than status.replicas"
                )
            )
    return errs


class _SelectorImmutable(KindStrategy):
    """apps/v1 controllers: the selector never changes."""

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_immutable(
            dig(new, "spec", "selector"), dig(old, "spec", "selector"), "spec.selector"
        )


# --- Deployment ---------------------------------------------------------------------------


class DeploymentStrategy(_SelectorImmutable):
    def default(self, obj: Obj) -> None:
        spec = _spec(obj)
        _default_replicas(spec)
        strategy = ensure(spec, "strategy")
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            rolling = ensure(strategy, "rollingUpdate")
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
            for key in ("maxUnavailable", "maxSurge"):
                if rolling[key] is None:
                    rolling[key] = "25%"
        _default_history(spec)
        if spec.get("progressDeadlineSeconds") is None:
            spec["progressDeadlineSeconds"] = 600
        default_pod_template(ensure(spec, "template"))

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = validate_nonnegative(spec.get("replicas") or 0, "spec.replicas")
        errs += validate_workload_selector(spec, "deployment")
        errs += validate_template_for_controller(spec, "ReplicaSet")
        errs += _validate_deployment_strategy(spec.get("strategy") or {})
        min_ready = spec.get("minReadySeconds") or 0
        errs += validate_nonnegative(min_ready, "spec.minReadySeconds")
        if spec.get("revisionHistoryLimit") is not None:
            errs += validate_nonnegative(spec["revisionHistoryLimit"], "spec.revisionHistoryLimit")
        deadline = spec.get("progressDeadlineSeconds")
        if deadline is not None:
            errs += validate_nonnegative(deadline, "spec.progressDeadlineSeconds")
            if deadline <= min_ready:
                errs.append(
                    invalid(
                        "spec.progressDeadlineSeconds",
                        deadline,
                        "must be greater than minReadySeconds",
                    )
                )
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        status = new.get("status") or {}
        errs = _validate_status_counts(
            status,
            (
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
                "unavailableReplicas",
            ),
        )
        if status.get("collisionCount") is not None:
            errs += validate_nonnegative(status["collisionCount"], "status.collisionCount")
        return errs + _validate_collision_count(new, old)


def _validate_deployment_strategy(strategy: dict[str, Any]) -> list[FieldError]:
    kind = strategy.get("type")
    path = "spec.strategy"
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [
                forbidden(
                    f"{path}.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if rolling is None:
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        errs = validate_positive_int_or_percent(unavailable, f"{path}.rollingUpdate.maxUnavailable")
        errs += validate_positive_int_or_percent(surge, f"{path}.rollingUpdate.maxSurge")
        if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
            errs.append(
                invalid(
                    f"{path}.rollingUpdate.maxUnavailable",
                    unavailable,
                    "may not be 0 when `maxSurge` is 0",
                )
            )
        return errs + _not_more_than_100_percent(
            unavailable, f"{path}.rollingUpdate.maxUnavailable"
        )
    return [not_supported(path, strategy, ["Recreate", "RollingUpdate"])]


def _validate_collision_count(new: Obj, old: Obj) -> list[FieldError]:
    count, old_count = dig(new, "status", "collisionCount"), dig(old, "status", "collisionCount")
    if old_count is not None and (count is None or count < old_count):
        return [invalid("status.collisionCount", count or 0, "cannot be decremented")]
    return []


# --- ReplicaSet and ReplicationController ---------------------------------------------------


class ReplicaSetStrategy(_SelectorImmutable):
    field_label_names = ("status.replicas",)

    def default(self, obj: Obj) -> None:
        spec = _spec(obj)
        _default_replicas(spec)
        default_pod_template(ensure(spec, "template"))

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = validate_nonnegative(spec.get("replicas") or 0, "spec.replicas")
        errs += validate_nonnegative(spec.get("minReadySeconds") or 0, "spec.minReadySeconds")
        # Upstream's ReplicaSet message really says "deployment".
        errs += validate_workload_selector(spec, "deployment")
        return errs + validate_template_for_controller(spec, "ReplicaSet")

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return _validate_replica_status(new)

    def field_labels(self, obj: Obj) -> dict[str, str]:
        return {"status.replicas": str(dig(obj, "status", "replicas", default=0))}


def _validate_replica_status(obj: Obj) -> list[FieldError]:
    status = obj.get("status") or {}
    errs = _validate_status_counts(
        status, ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    )
    if (status.get("availableReplicas") or 0) > (status.get("readyReplicas") or 0):
        errs.append(
            invalid(
                "status.availableReplicas",
                status.get("availableReplicas") or 0,
                "cannot be greater than readyReplicas",
            )
        )
    return errs


class ReplicationControllerStrategy(KindStrategy):
    """core/v1: the selector is a plain map, defaulted from the template's labels, and may
    change; the object's labels default to the template's too."""

    field_label_names = ("status.replicas",)

    def default(self, obj: Obj) -> None:
        spec = _spec(obj)
        labels = dig(spec, "template", "metadata", "labels")
        if labels is not None:
            if not spec.get("selector"):
                spec["selector"] = dict(labels)
            meta = ensure(obj, "metadata")
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
        _default_replicas(spec)
        if isinstance(spec.get("template"), dict):
            default_pod_template(spec["template"])

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = validate_nonnegative(spec.get("minReadySeconds") or 0, "spec.minReadySeconds")
        selector = spec.get("selector") or {}
        if not selector:
            errs.append(required("spec.selector"))
        errs += validate_nonnegative(spec.get("replicas") or 0, "spec.replicas")
        template = spec.get("template")
        if template is None:
            return errs + [required("spec.template")]
        labels = dig(template, "metadata", "labels", default={})
        if selector and any(labels.get(k) != v for k, v in selector.items()):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
        errs += validate_pod_template(template, "spec.template")
        restart = dig(template, "spec", "restartPolicy", default="")
        if restart != "Always":
            errs.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
        if dig(template, "spec", "activeDeadlineSeconds") is not None:
            errs.append(
                forbidden(
                    "spec.template.spec.activeDeadlineSeconds",
                    "activeDeadlineSeconds in ReplicationController is not Supported",
                )
            )
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return _validate_replica_status(new)

    def field_labels(self, obj: Obj) -> dict[str, str]:
        return {"status.replicas": str(dig(obj, "status", "replicas", default=0))}


# --- StatefulSet ----------------------------------------------------------------------------


_STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


class StatefulSetStrategy(_SelectorImmutable):
    def default(self, obj: Obj) -> None:
        spec = _spec(obj)
        if not spec.get("podManagementPolicy"):
            spec["podManagementPolicy"] = "OrderedReady"
        strategy = ensure(spec, "updateStrategy")
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
            strategy.setdefault("rollingUpdate", {})
        rolling = strategy.get("rollingUpdate")
        if (
            strategy["type"] == "RollingUpdate"
            and isinstance(rolling, dict)
            and rolling.get("partition") is None
        ):
            rolling["partition"] = 0
        retention = ensure(spec, "persistentVolumeClaimRetentionPolicy")
        for key in ("whenDeleted", "whenScaled"):
            if not retention.get(key):
                retention[key] = "Retain"
        _default_replicas(spec)
        _default_history(spec)
        default_pod_template(ensure(spec, "template"))
        for _, claim in items(spec, "volumeClaimTemplates"):
            default_claim_spec(ensure(claim, "spec"))
            if not dig(claim, "status", "phase"):
                ensure(claim, "status")["phase"] = "Pending"

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = _validate_statefulset_policies(spec)
        errs += validate_nonnegative(spec.get("replicas") or 0, "spec.replicas")
        errs += validate_nonnegative(spec.get("minReadySeconds") or 0, "spec.minReadySeconds")
        if spec.get("ordinals") is not None:
            errs += validate_nonnegative(
                dig(spec, "ordinals", "start", default=0), "spec.ordinals.start"
            )
        errs += validate_workload_selector(spec, "statefulset")
        template = spec.get("template") or {}
        selector = spec.get("selector")
        labels = dig(template, "metadata", "labels", default={})
        if selector_mismatch(selector, labels):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
        errs += validate_pod_template(template, "spec.template")
        return errs + _validate_restart_always(template, "StatefulSet", use_forbidden=True)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        spec = {k: v for k, v in (new.get("spec") or {}).items() if k not in _STATEFULSET_MUTABLE}
        old_spec = {
            k: v for k, v in (old.get("spec") or {}).items() if k not in _STATEFULSET_MUTABLE
        }
        if not semantically_equal(spec, old_spec):
            allowed = ", ".join(f"'{f}'" for f in _STATEFULSET_MUTABLE[:-1])
            return [
                forbidden(
                    "spec",
                    f"updates to statefulset spec for fields other than {allowed} and "
                    f"'{_STATEFULSET_MUTABLE[-1]}' are forbidden",
                )
            ]
        return []

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        status = new.get("status") or {}
        errs = _validate_status_counts(
            status,
            (
                "replicas",
                "readyReplicas",
                "currentReplicas",
                "updatedReplicas",
                "availableReplicas",
            ),
        )
        return errs + _validate_collision_count(new, old)


def _validate_statefulset_policies(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    policy = spec.get("podManagementPolicy") or ""
    if not policy:
        errs.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        errs.append(
            invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
        )
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type") or ""
    if not kind:
        errs.append(required("spec.updateStrategy"))
    elif kind == "OnDelete":
        if strategy.get("rollingUpdate") is not None:
            errs.append(
                invalid(
                    "spec.updateStrategy.rollingUpdate",
                    strategy["rollingUpdate"],
                    "only allowed for updateStrategy 'RollingUpdate'",
                )
            )
    elif kind == "RollingUpdate":
        partition = dig(strategy, "rollingUpdate", "partition")
        if partition is not None:
            errs += validate_nonnegative(partition, "spec.updateStrategy.rollingUpdate.partition")
    else:
        errs.append(
            invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'")
        )
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(retention, dict):
        for key in ("whenDeleted", "whenScaled"):
            value = retention.get(key)
            if value not in ("Retain", "Delete"):
                errs.append(
                    not_supported(
                        f"spec.persistentVolumeClaimRetentionPolicy.{key}",
                        value,
                        ["Retain", "Delete"],
                    )
                )
    return errs


# --- DaemonSet ------------------------------------------------------------------------------


class DaemonSetStrategy(_SelectorImmutable):
    def default(self, obj: Obj) -> None:
        spec = _spec(obj)
        strategy = ensure(spec, "updateStrategy")
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            rolling = ensure(strategy, "rollingUpdate")
            if rolling.get("maxUnavailable") is None:
                rolling["maxUnavailable"] = 1
            if rolling.get("maxSurge") is None:
                rolling["maxSurge"] = 0
        _default_history(spec)
        default_pod_template(ensure(spec, "template"))

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        selector = spec.get("selector")
        errs = validate_selector(selector, "spec.selector")
        template = spec.get("template") or {}
        labels = dig(template, "metadata", "labels", default={})
        if selector_mismatch(selector, labels, skip_empty=False):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
        if selector is not None and selector_is_empty(selector):
            errs.append(
                invalid("spec.selector", selector, "empty selector is invalid for daemonset")
            )
        errs += validate_pod_template(template, "spec.template")
        errs += _validate_restart_always(template, "DaemonSet")
        errs += validate_nonnegative(spec.get("minReadySeconds") or 0, "spec.minReadySeconds")
        errs += _validate_daemonset_strategy(spec.get("updateStrategy") or {})
        if spec.get("revisionHistoryLimit") is not None:
            errs += validate_nonnegative(spec["revisionHistoryLimit"], "spec.revisionHistoryLimit")
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        status = new.get("status") or {}
        errs: list[FieldError] = []
        for key in (
            "currentNumberScheduled",
            "numberMisscheduled",
            "desiredNumberScheduled",
            "numberReady",
            "observedGeneration",
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
        ):
            errs += validate_nonnegative(status.get(key) or 0, f"status.{key}")
        return errs + _validate_collision_count(new, old)


def _validate_daemonset_strategy(strategy: dict[str, Any]) -> list[FieldError]:
    kind = strategy.get("type")
    path = "spec.updateStrategy"
    if kind == "OnDelete":
        return []
    if kind != "RollingUpdate":
        return [not_supported(path, strategy, ["RollingUpdate", "OnDelete"])]
    rolling = strategy.get("rollingUpdate")
    if rolling is None:
        return [required(f"{path}.rollingUpdate")]
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs = validate_positive_int_or_percent(unavailable, f"{path}.rollingUpdate.maxUnavailable")
    errs += validate_positive_int_or_percent(surge, f"{path}.rollingUpdate.maxSurge")
    errs += _not_more_than_100_percent(unavailable, f"{path}.rollingUpdate.maxUnavailable")
    errs += _not_more_than_100_percent(surge, f"{path}.rollingUpdate.maxSurge")
    has_unavailable, has_surge = (
        int_or_percent_value(unavailable) != 0,
        int_or_percent_value(surge) != 0,
    )
    if has_unavailable and has_surge:
        errs.append(
            invalid(
                f"{path}.rollingUpdate.maxSurge",
                surge,
                "may not be set when maxUnavailable is non-zero",
            )
        )
    elif not has_unavailable and not has_surge:
        errs.append(
            required(f"{path}.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0")
        )
    return errs


# --- ControllerRevision ---------------------------------------------------------------------


class ControllerRevisionStrategy(NoStatusStrategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        errs = [] if obj.get("data") is not None else [required("data", "data is mandatory")]
        return errs + validate_nonnegative(obj.get("revision") or 0, "revision")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_immutable(new.get("data"), old.get("data"), "data")
