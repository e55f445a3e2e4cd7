"""HorizontalPodAutoscalers: stored as autoscaling/v2, also served as autoscaling/v1.

Defaults (autoscaling/v2): minReplicas 1; with no metrics, 80% average CPU utilization;
a given ``behavior`` is completed with the default scale-up rules (no stabilization, Max of
4 pods or 100% per 15s) and scale-down rules (Max of 100% per 15s, stabilization left to the
controller's flag).

``to_v1``/``to_v2`` convert as pkg/apis/autoscaling/v1/conversion.go does: the v1 form keeps
the CPU utilization target in ``targetCPUUtilizationPercentage`` and everything it cannot
express in annotations: ``autoscaling.alpha.kubernetes.io/metrics`` (other metrics, in the
v1 MetricSpec form), ``.../current-metrics``, ``.../conditions`` and ``.../behavior`` (the
behavior as Go's encoding of the internal type, with capitalized field names). Converting
back restores them and removes the annotations, so v2 -> v1 -> v2 is lossless.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pilothouse.api.errors import FieldError, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import NoGenerationStrategy, dig, ensure, items
from pilothouse.api.kinds.resource_names import parse, validate_container_resource_name
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import is_valid_path_segment_name

DEFAULT_CPU_UTILIZATION = 80
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
_ROUND_TRIP_ANNOTATIONS = (
    METRICS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
)
_SCALE_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
_SCALE_DOWN = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}
_METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]
MAX_STABILIZATION_SECONDS = 3600
MAX_PERIOD_SECONDS = 1800


class HorizontalPodAutoscalerStrategy(NoGenerationStrategy):
    def default(self, obj: Obj) -> None:
        spec = ensure(obj, "spec")
        if spec.get("minReplicas") is None:
            spec["minReplicas"] = 1
        if not spec.get("metrics"):
            spec["metrics"] = [_cpu_utilization_metric(DEFAULT_CPU_UTILIZATION)]
        behavior = spec.get("behavior")
        if isinstance(behavior, dict):
            behavior["scaleUp"] = _complete_rules(behavior.get("scaleUp"), _SCALE_UP)
            behavior["scaleDown"] = _complete_rules(behavior.get("scaleDown"), _SCALE_DOWN)

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs: list[FieldError] = []
        low, high = spec.get("minReplicas"), spec.get("maxReplicas") or 0
        if low is not None and low < 1:
            errs.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
        if high < 1:
            errs.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
        if low is not None and high < low:
            errs.append(
                invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`")
            )
        errs += validate_object_reference(spec.get("scaleTargetRef") or {}, "spec.scaleTargetRef")
        for i, metric in items(spec, "metrics"):
            errs += _validate_metric(metric, f"spec.metrics[{i}]")
        behavior = spec.get("behavior")
        if isinstance(behavior, dict):
            for key in ("scaleUp", "scaleDown"):
                if behavior.get(key) is not None:
                    errs += _validate_rules(behavior[key], f"spec.behavior.{key}")
        return errs


def _cpu_utilization_metric(percent: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": percent},
        },
    }


def _complete_rules(rules: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(defaults)
    for key, value in (rules or {}).items():
        if value is not None:
            out[key] = value
    return out


def validate_object_reference(ref: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("kind", "name"):
        value = ref.get(key) or ""
        if not value:
            errs.append(required(f"{path}.{key}"))
        else:
            errs += [invalid(f"{path}.{key}", value, m) for m in is_valid_path_segment_name(value)]
    return errs


def _validate_metric(metric: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    kind = metric.get("type") or ""
    if not kind:
        errs.append(required(f"{path}.type", "must specify a metric source type"))
    if kind not in _METRIC_TYPES:
        errs.append(not_supported(f"{path}.type", kind, _METRIC_TYPES))
    present = [
        key
        for key in ("object", "pods", "resource", "containerResource", "external")
        if metric.get(key) is not None
    ]
    if present and present[0] in ("resource", "containerResource"):
        errs += _validate_resource_source(
            metric[present[0]], f"{path}.{present[0]}", container=present[0] == "containerResource"
        )
    elif present:
        errs += _validate_target(
            dig(metric, present[0], "target", default={}), f"{path}.{present[0]}.target"
        )
    expected = kind[:1].lower() + kind[1:]
    if expected not in present:
        errs.append(
            required(
                f"{path}.{kind.lower()}", "must populate information for the given metric source"
            )
        )
    errs += [
        forbidden(f"{path}.{key}", "must populate the given metric source only")
        for key in present
        if key != expected and len(present) > 1
    ]
    return errs


def _validate_resource_source(
    source: dict[str, Any], path: str, *, container: bool
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = source.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name", "must specify a resource name"))
    else:
        errs += validate_container_resource_name(name, f"{path}.name")
    if container and not source.get("container"):
        errs.append(required(f"{path}.container", "must specify a container"))
    target = source.get("target") or {}
    errs += _validate_target(target, f"{path}.target")
    if target.get("averageUtilization") is None and target.get("averageValue") is None:
        errs.append(
            required(
                f"{path}.target.averageUtilization",
                "must set either a target raw value or a target utilization",
            )
        )
    if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
        errs.append(
            forbidden(
                f"{path}.target.averageValue",
                "may not set both a target raw value and a target utilization",
            )
        )
    return errs


def _validate_target(target: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    kind = target.get("type") or ""
    if not kind:
        errs.append(required(f"{path}.type", "must specify a metric target type"))
    if kind not in ("Utilization", "Value", "AverageValue"):
        errs.append(
            invalid(f"{path}.type", kind, "must be either Utilization, Value, or AverageValue")
        )
    for key in ("value", "averageValue"):
        quantity = parse(target[key]) if target.get(key) is not None else None
        if quantity is not None and quantity.sign() != 1:
            errs.append(invalid(f"{path}.{key}", str(quantity), "must be positive"))
    utilization = target.get("averageUtilization")
    if utilization is not None and utilization < 1:
        errs.append(invalid(f"{path}.averageUtilization", utilization, "must be greater than 0"))
    return errs


def _validate_rules(rules: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and window < 0:
        errs.append(
            invalid(
                f"{path}.stabilizationWindowSeconds",
                window,
                "must be greater than or equal to zero",
            )
        )
    if window is not None and window > MAX_STABILIZATION_SECONDS:
        errs.append(
            invalid(
                f"{path}.stabilizationWindowSeconds",
                window,
                f"must be less than or equal to {MAX_STABILIZATION_SECONDS}",
            )
        )
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Disabled", "Max", "Min"):
        errs.append(not_supported(f"{path}.selectPolicy", select, ["Disabled", "Max", "Min"]))
    policies = rules.get("policies") or []
    if not policies:
        errs.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies):
        item = f"{path}.policies[{i}]"
        if policy.get("type") not in ("Pods", "Percent"):
            errs.append(
                not_supported(f"{item}.type", policy.get("type") or "", ["Percent", "Pods"])
            )
        if (policy.get("value") or 0) <= 0:
            errs.append(
                invalid(f"{item}.value", policy.get("value") or 0, "must be greater than zero")
            )
        period = policy.get("periodSeconds") or 0
        if period <= 0:
            errs.append(invalid(f"{item}.periodSeconds", period, "must be greater than zero"))
        if period > MAX_PERIOD_SECONDS:
            errs.append(
                invalid(
                    f"{item}.periodSeconds",
                    period,
                    f"must be less than or equal to {MAX_PERIOD_SECONDS}",
                )
            )
    return errs


# --- conversion -----------------------------------------------------------------------------


def to_v1(hpa: Obj) -> Obj:
    """An autoscaling/v2 HorizontalPodAutoscaler in the autoscaling/v1 shape."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    meta = copy.deepcopy(hpa.get("metadata") or {})
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in _ROUND_TRIP_ANNOTATIONS
    }
    out_spec: dict[str, Any] = {"scaleTargetRef": copy.deepcopy(spec.get("scaleTargetRef") or {})}
    if spec.get("minReplicas") is not None:
        out_spec["minReplicas"] = spec["minReplicas"]
    out_spec["maxReplicas"] = spec.get("maxReplicas", 0)
    others = []
    for metric in spec.get("metrics") or []:
        if _is_cpu_utilization(metric):
            out_spec.setdefault(
                "targetCPUUtilizationPercentage", metric["resource"]["target"]["averageUtilization"]
            )
        else:
            others.append(_metric_spec_to_v1(metric))
    out_status = _status_to_v1(status)
    if others:
        annotations[METRICS_ANNOTATION] = _go_json(others)
    if status.get("currentMetrics"):
        annotations[CURRENT_METRICS_ANNOTATION] = _go_json(
            [_metric_status_to_v1(m) for m in status["currentMetrics"]]
        )
    if status.get("conditions"):
        annotations[CONDITIONS_ANNOTATION] = _go_json(status["conditions"])
    if spec.get("behavior") is not None:
        annotations[BEHAVIOR_ANNOTATION] = _go_json(_behavior_to_internal(spec["behavior"]))
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": out_spec,
        "status": out_status,
    }


def to_v2(hpa: Obj) -> Obj:
    """An autoscaling/v1 HorizontalPodAutoscaler in the autoscaling/v2 (stored) shape."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    meta = copy.deepcopy(hpa.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    out_spec: dict[str, Any] = {"scaleTargetRef": copy.deepcopy(spec.get("scaleTargetRef") or {})}
    if spec.get("minReplicas") is not None:
        out_spec["minReplicas"] = spec["minReplicas"]
    out_spec["maxReplicas"] = spec.get("maxReplicas", 0)
    metrics = []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append(_cpu_utilization_metric(spec["targetCPUUtilizationPercentage"]))
    if METRICS_ANNOTATION in annotations:
        others = json.loads(annotations.pop(METRICS_ANNOTATION))
        metrics = [_metric_spec_to_v2(m) for m in others] + metrics
    out_spec["metrics"] = metrics or [_cpu_utilization_metric(DEFAULT_CPU_UTILIZATION)]
    if BEHAVIOR_ANNOTATION in annotations:
        out_spec["behavior"] = _behavior_from_internal(
            json.loads(annotations.pop(BEHAVIOR_ANNOTATION))
        )
    out_status = _status_to_v2(status)
    if CURRENT_METRICS_ANNOTATION in annotations:
        out_status["currentMetrics"] = [
            _metric_status_to_v2(m) for m in json.loads(annotations.pop(CURRENT_METRICS_ANNOTATION))
        ]
    if CONDITIONS_ANNOTATION in annotations:
        out_status["conditions"] = json.loads(annotations.pop(CONDITIONS_ANNOTATION))
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": meta,
        "spec": out_spec,
        "status": out_status,
    }


def _is_cpu_utilization(metric: dict[str, Any]) -> bool:
    return (
        metric.get("type") == "Resource"
        and dig(metric, "resource", "name") == "cpu"
        and dig(metric, "resource", "target", "averageUtilization") is not None
    )


def _go_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _status_to_v1(status: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("observedGeneration", "lastScaleTime"):
        if status.get(key) is not None:
            out[key] = status[key]
    out["currentReplicas"] = status.get("currentReplicas", 0)
    out["desiredReplicas"] = status.get("desiredReplicas", 0)
    for metric in status.get("currentMetrics") or []:
        utilization = dig(metric, "resource", "current", "averageUtilization")
        if (
            metric.get("type") == "Resource"
            and dig(metric, "resource", "name") == "cpu"
            and utilization is not None
        ):
            out["currentCPUUtilizationPercentage"] = utilization
    return out


def _status_to_v2(status: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("observedGeneration", "lastScaleTime"):
        if status.get(key) is not None:
            out[key] = status[key]
    out["currentReplicas"] = status.get("currentReplicas", 0)
    out["desiredReplicas"] = status.get("desiredReplicas", 0)
    if status.get("currentCPUUtilizationPercentage") is not None:
        out["currentMetrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]},
                },
            }
        ]
    return out


def _quantity_or_zero(value: Any) -> str:
    return value if value is not None else "0"


def _metric_spec_to_v1(metric: dict[str, Any]) -> dict[str, Any]:
    """An autoscaling/v2 MetricSpec in the v1 (v2beta1-style) form."""
    kind = metric.get("type")
    out: dict[str, Any] = {"type": kind}
    if metric.get("object") is not None:
        source = metric["object"]
        target = source.get("target") or {}
        out["object"] = _drop_none(
            {
                "target": _drop_none(
                    {
                        k: (source.get("describedObject") or {}).get(k)
                        for k in ("kind", "name", "apiVersion")
                    }
                ),
                "metricName": dig(source, "metric", "name", default=""),
                "targetValue": _quantity_or_zero(target.get("value")),
                "selector": dig(source, "metric", "selector"),
                "averageValue": target.get("averageValue"),
            }
        )
    if metric.get("pods") is not None:
        source = metric["pods"]
        out["pods"] = _drop_none(
            {
                "metricName": dig(source, "metric", "name", default=""),
                "targetAverageValue": _quantity_or_zero(dig(source, "target", "averageValue")),
                "selector": dig(source, "metric", "selector"),
            }
        )
    for key in ("resource", "containerResource"):
        if metric.get(key) is not None:
            source = metric[key]
            out[key] = _drop_none(
                {
                    "name": source.get("name", ""),
                    "targetAverageUtilization": dig(source, "target", "averageUtilization"),
                    "targetAverageValue": dig(source, "target", "averageValue"),
                    "container": source.get("container") if key == "containerResource" else None,
                }
            )
    if metric.get("external") is not None:
        source = metric["external"]
        out["external"] = _drop_none(
            {
                "metricName": dig(source, "metric", "name", default=""),
                "metricSelector": dig(source, "metric", "selector"),
                "targetValue": dig(source, "target", "value"),
                "targetAverageValue": dig(source, "target", "averageValue"),
            }
        )
    return out


def _metric_spec_to_v2(metric: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": metric.get("type")}
    if metric.get("object") is not None:
        source = metric["object"]
        average = source.get("averageValue")
        out["object"] = {
            "describedObject": source.get("target") or {},
            "target": _drop_none(
                {
                    "type": "AverageValue" if average is not None else "Value",
                    "value": source.get("targetValue", "0"),
                    "averageValue": average,
                }
            ),
            "metric": _drop_none(
                {"name": source.get("metricName", ""), "selector": source.get("selector")}
            ),
        }
    if metric.get("pods") is not None:
        source = metric["pods"]
        out["pods"] = {
            "metric": _drop_none(
                {"name": source.get("metricName", ""), "selector": source.get("selector")}
            ),
            "target": {
                "type": "AverageValue",
                "averageValue": source.get("targetAverageValue", "0"),
            },
        }
    for key in ("resource", "containerResource"):
        if metric.get(key) is not None:
            source = metric[key]
            utilization = source.get("targetAverageUtilization")
            out[key] = _drop_none(
                {
                    "name": source.get("name", ""),
                    "target": _drop_none(
                        {
                            "type": "Utilization" if utilization is not None else "AverageValue",
                            "averageUtilization": utilization,
                            "averageValue": source.get("targetAverageValue"),
                        }
                    ),
                    "container": source.get("container"),
                }
            )
    if metric.get("external") is not None:
        source = metric["external"]
        value = source.get("targetValue")
        out["external"] = {
            "metric": _drop_none(
                {"name": source.get("metricName", ""), "selector": source.get("metricSelector")}
            ),
            "target": _drop_none(
                {
                    "type": "Value" if value is not None else "AverageValue",
                    "value": value,
                    "averageValue": source.get("targetAverageValue"),
                }
            ),
        }
    return out


def _metric_status_to_v1(metric: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": metric.get("type")}
    if metric.get("object") is not None:
        source = metric["object"]
        out["object"] = _drop_none(
            {
                "target": _drop_none(
                    {
                        k: (source.get("describedObject") or {}).get(k)
                        for k in ("kind", "name", "apiVersion")
                    }
                ),
                "metricName": dig(source, "metric", "name", default=""),
                "currentValue": _quantity_or_zero(dig(source, "current", "value")),
                "selector": dig(source, "metric", "selector"),
                "averageValue": dig(source, "current", "averageValue"),
            }
        )
    if metric.get("pods") is not None:
        source = metric["pods"]
        out["pods"] = _drop_none(
            {
                "metricName": dig(source, "metric", "name", default=""),
                "currentAverageValue": _quantity_or_zero(dig(source, "current", "averageValue")),
                "selector": dig(source, "metric", "selector"),
            }
        )
    for key in ("resource", "containerResource"):
        if metric.get(key) is not None:
            source = metric[key]
            out[key] = _drop_none(
                {
                    "name": source.get("name", ""),
                    "currentAverageUtilization": dig(source, "current", "averageUtilization"),
                    "currentAverageValue": _quantity_or_zero(
                        dig(source, "current", "averageValue")
                    ),
                    "container": source.get("container") if key == "containerResource" else None,
                }
            )
    if metric.get("external") is not None:
        source = metric["external"]
        out["external"] = _drop_none(
            {
                "metricName": dig(source, "metric", "name", default=""),
                "metricSelector": dig(source, "metric", "selector"),
                "currentValue": _quantity_or_zero(dig(source, "current", "value")),
                "currentAverageValue": dig(source, "current", "averageValue"),
            }
        )
    return out


def _metric_status_to_v2(metric: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": metric.get("type")}
    if metric.get("object") is not None:
        source = metric["object"]
        out["object"] = {
            "metric": _drop_none(
                {"name": source.get("metricName", ""), "selector": source.get("selector")}
            ),
            "current": _drop_none(
                {
                    "value": source.get("currentValue", "0"),
                    "averageValue": source.get("averageValue"),
                }
            ),
            "describedObject": source.get("target") or {},
        }
    if metric.get("pods") is not None:
        source = metric["pods"]
        out["pods"] = {
            "metric": _drop_none(
                {"name": source.get("metricName", ""), "selector": source.get("selector")}
            ),
            "current": {"averageValue": source.get("currentAverageValue", "0")},
        }
    for key in ("resource", "containerResource"):
        if metric.get(key) is not None:
            source = metric[key]
            out[key] = _drop_none(
                {
                    "name": source.get("name", ""),
                    "current": _drop_none(
                        {
                            "averageValue": source.get("currentAverageValue", "0"),
                            "averageUtilization": source.get("currentAverageUtilization"),
                        }
                    ),
                    "container": source.get("container"),
                }
            )
    if metric.get("external") is not None:
        source = metric["external"]
        out["external"] = {
            "metric": _drop_none(
                {"name": source.get("metricName", ""), "selector": source.get("metricSelector")}
            ),
            "current": _drop_none(
                {
                    "value": source.get("currentValue", "0"),
                    "averageValue": source.get("currentAverageValue"),
                }
            ),
        }
    return out


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# The behavior annotation holds Go's encoding of the internal type: capitalized field names,
# and every field present (null when unset).
def _behavior_to_internal(behavior: dict[str, Any]) -> dict[str, Any]:
    return {
        "ScaleUp": _rules_to_internal(behavior.get("scaleUp")),
        "ScaleDown": _rules_to_internal(behavior.get("scaleDown")),
    }


def _rules_to_internal(rules: Any) -> dict[str, Any] | None:
    if rules is None:
        return None
    return {
        "StabilizationWindowSeconds": rules.get("stabilizationWindowSeconds"),
        "SelectPolicy": rules.get("selectPolicy"),
        "Policies": [
            {
                "Type": p.get("type"),
                "Value": p.get("value"),
                "PeriodSeconds": p.get("periodSeconds"),
            }
            for p in rules.get("policies") or []
        ]
        if rules.get("policies") is not None
        else None,
        "Tolerance": rules.get("tolerance"),
    }


def _behavior_from_internal(behavior: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in (("scaleUp", "ScaleUp"), ("scaleDown", "ScaleDown")):
        rules = _lower_keys(behavior).get(name.lower())
        if rules is None:
            continue
        rules = _lower_keys(rules)
        policies = rules.get("policies")
        out[key] = _drop_none(
            {
                "stabilizationWindowSeconds": rules.get("stabilizationwindowseconds"),
                "selectPolicy": rules.get("selectpolicy"),
                "policies": [
                    {
                        "type": p.get("type"),
                        "value": p.get("value"),
                        "periodSeconds": p.get("periodseconds"),
                    }
                    for p in (_lower_keys(p) for p in policies)
                ]
                if policies is not None
                else None,
                "tolerance": rules.get("tolerance"),
            }
        )
    return out


def _lower_keys(value: dict[str, Any]) -> dict[str, Any]:
    """Go's json.Unmarshal matches field names case-insensitively."""
    return {k.lower(): v for k, v in value.items()}
