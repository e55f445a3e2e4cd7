"""Jobs and CronJobs (batch/v1).

A Job gets, unless ``manualSelector`` is true, a generated selector on
``batch.kubernetes.io/controller-uid`` and the labels ``controller-uid``,
``batch.kubernetes.io/controller-uid``, ``job-name`` and ``batch.kubernetes.io/job-name`` on
its pod template (the API server must have set metadata.uid and the name before
``prepare_for_create``). Defaults: completions and parallelism 1, backoffLimit 6, NonIndexed,
not suspended, podReplacementPolicy TerminatingOrFailed (Failed with a podFailurePolicy),
manualSelector false. The selector, completion mode and template are immutable (a suspended
job that never started may still change its scheduling directives).

A CronJob's schedule must parse as cron (robfig/cron messages); its name may have at most 52
characters; concurrencyPolicy defaults to Allow, history limits to 3 and 1.
"""

from __future__ import annotations

import copy
import zoneinfo
from typing import Any

from pilothouse.api.errors import FieldError, invalid, not_supported, required
from pilothouse.api.kinds.base import (
    KindStrategy,
    dig,
    ensure,
    selector_mismatch,
    semantically_equal,
    validate_selector,
)
from pilothouse.api.kinds.cron import CronError, parse_schedule
from pilothouse.api.kinds.podspec import default_pod_template, validate_pod_template
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    validate_immutable,
    validate_nonnegative,
)

JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
CONTROLLER_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
MAX_INDEXED_PARALLELISM = 100000
MAX_CRONJOB_NAME = 52


class JobStrategy(KindStrategy):
    field_label_names = ("status.successful",)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        if dig(obj, "spec", "manualSelector") is not True:
            _generate_selector(obj)

    def default(self, obj: Obj) -> None:
        spec = ensure(obj, "spec")
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1
        if spec.get("parallelism") is None:
            spec["parallelism"] = 1
        if spec.get("backoffLimit") is None:
            spec["backoffLimit"] = 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6
        labels = dig(spec, "template", "metadata", "labels")
        meta = ensure(obj, "metadata")
        if labels is not None and not meta.get("labels"):
            meta["labels"] = dict(labels)
        if spec.get("completionMode") is None:
            spec["completionMode"] = "NonIndexed"
        if spec.get("suspend") is None:
            spec["suspend"] = False
        if spec.get("podReplacementPolicy") is None:
            spec["podReplacementPolicy"] = (
                "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"
            )
        if spec.get("manualSelector") is None:
            spec["manualSelector"] = False
        for rule in dig(spec, "podFailurePolicy", "rules", default=[]):
            for pattern in (rule or {}).get("onPodConditions") or []:
                if not pattern.get("status"):
                    pattern["status"] = "True"
        default_pod_template(ensure(spec, "template"))

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = _validate_generated_selector(obj)
        errs += _validate_job_spec(spec)
        if spec.get("selector") is None:
            errs.append(required("spec.selector"))
        else:
            errs += validate_selector(spec["selector"], "spec.selector")
        labels = dig(spec, "template", "metadata", "labels", default={})
        if selector_mismatch(spec.get("selector"), labels, skip_empty=False):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
        return errs + validate_job_template(spec, "spec.template")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        errs = _validate_completions_update(spec, old_spec)
        errs += validate_immutable(spec.get("selector"), old_spec.get("selector"), "spec.selector")
        errs += _validate_template_update(new, old)
        for key in (
            "completionMode",
            "podFailurePolicy",
            "backoffLimitPerIndex",
            "managedBy",
            "successPolicy",
            "podReplacementPolicy",
        ):
            errs += validate_immutable(spec.get(key), old_spec.get(key), f"spec.{key}")
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        status = new.get("status") or {}
        errs: list[FieldError] = []
        for key in ("active", "succeeded", "failed", "ready", "terminating"):
            if status.get(key) is not None:
                errs += validate_nonnegative(status[key], f"status.{key}")
        return errs

    def field_labels(self, obj: Obj) -> dict[str, str]:
        return {"status.successful": str(dig(obj, "status", "succeeded", default=0))}


def _generate_selector(obj: Obj) -> None:
    meta = obj.get("metadata") or {}
    spec = ensure(obj, "spec")
    labels = ensure(spec, "template", "metadata", "labels")
    for key in JOB_NAME_LABELS:
        labels.setdefault(key, meta.get("name") or "")
    for key in CONTROLLER_UID_LABELS:
        labels.setdefault(key, meta.get("uid") or "")
    match_labels = ensure(spec, "selector", "matchLabels")
    match_labels.setdefault(CONTROLLER_UID_LABELS[1], meta.get("uid") or "")


def _validate_generated_selector(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec") or {}
    labels = dig(spec, "template", "metadata", "labels")
    if spec.get("manualSelector") is True or labels is None:
        return []
    meta = obj.get("metadata") or {}
    errs: list[FieldError] = []
    expected = (
        ("controller-uid", meta.get("uid") or ""),
        ("job-name", meta.get("name") or ""),
        ("batch.kubernetes.io/controller-uid", meta.get("uid") or ""),
        ("batch.kubernetes.io/job-name", meta.get("name") or ""),
    )
    for key, value in expected:
        if key not in labels:
            errs.append(required(f"spec.template.metadata.labels[{key}]", f"must be '{value}'"))
        elif labels[key] != value:
            errs.append(
                invalid(f"spec.template.metadata.labels[{key}]", labels, f"must be '{value}'")
            )
    selector = spec.get("selector")
    if selector_mismatch(
        selector, {"batch.kubernetes.io/controller-uid": meta.get("uid") or ""}, skip_empty=False
    ):
        errs.append(invalid("spec.selector", selector, "`selector` not auto-generated"))
    return errs


def _validate_job_spec(spec: dict[str, Any], path: str = "spec") -> list[FieldError]:
    errs: list[FieldError] = []
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        if spec.get(key) is not None:
            errs += validate_nonnegative(spec[key], f"{path}.{key}")
    mode = spec.get("completionMode")
    if mode is not None:
        if mode not in ("NonIndexed", "Indexed"):
            errs.append(not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
        if mode == "Indexed":
            if spec.get("completions") is None:
                errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
            parallelism = spec.get("parallelism")
            if parallelism is not None and parallelism > MAX_INDEXED_PARALLELISM:
                errs.append(
                    invalid(
                        f"{path}.parallelism",
                        parallelism,
                        f"must be less than or equal to {MAX_INDEXED_PARALLELISM} when completion mode is Indexed",
                    )
                )
    policy = spec.get("podReplacementPolicy")
    if policy is not None:
        if policy not in ("TerminatingOrFailed", "Failed"):
            errs.append(
                not_supported(
                    f"{path}.podReplacementPolicy", policy, ["Failed", "TerminatingOrFailed"]
                )
            )
        elif policy == "TerminatingOrFailed" and spec.get("podFailurePolicy") is not None:
            errs.append(not_supported(f"{path}.podReplacementPolicy", policy, ["Failed"]))
    return errs


def validate_job_template(spec: dict[str, Any], path: str) -> list[FieldError]:
    """The pod template of a job: valid, and restarting OnFailure or Never."""
    template = spec.get("template") or {}
    errs = validate_pod_template(template, path)
    restart = dig(template, "spec", "restartPolicy", default="")
    if restart not in ("OnFailure", "Never"):
        errs.append(not_supported(f"{path}.spec.restartPolicy", restart, ["OnFailure", "Never"]))
    elif restart == "OnFailure" and spec.get("podFailurePolicy") is not None:
        errs.append(
            invalid(
                f"{path}.spec.restartPolicy",
                restart,
                'only "Never" is supported when podFailurePolicy is specified',
            )
        )
    return errs


def _validate_completions_update(spec: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    if spec.get("completionMode") != "Indexed":
        return validate_immutable(
            spec.get("completions"), old.get("completions"), "spec.completions"
        )
    completions = spec.get("completions")
    if completions is None or completions == old.get("completions"):
        return []
    if completions != spec.get("parallelism"):
        return [
            invalid(
                "spec.completions",
                completions,
                "can only be modified in tandem with spec.parallelism",
            )
        ]
    return []


def _validate_template_update(new: Obj, old: Obj) -> list[FieldError]:
    template = copy.deepcopy(dig(new, "spec", "template", default={}))
    old_template = copy.deepcopy(dig(old, "spec", "template", default={}))
    suspended_unstarted = (
        dig(new, "spec", "suspend") is True and dig(old, "status", "startTime") is None
    )
    if suspended_unstarted:
        # Scheduling directives of a job that has not started may change.
        old_spec, new_spec = ensure(old_template, "spec"), ensure(template, "spec")
        for key in ("nodeSelector", "tolerations", "schedulingGates"):
            _copy_key(new_spec, old_spec, key)
        node_affinity = dig(new_spec, "affinity", "nodeAffinity")
        if node_affinity is not None or dig(old_spec, "affinity", "nodeAffinity") is not None:
            affinity = ensure(old_spec, "affinity")
            _copy_key(
                {"nodeAffinity": node_affinity} if node_affinity is not None else {},
                affinity,
                "nodeAffinity",
            )
            if not affinity and new_spec.get("affinity") is None:
                old_spec.pop("affinity")
        for key in ("labels", "annotations"):
            _copy_key(ensure(template, "metadata"), ensure(old_template, "metadata"), key)
    if semantically_equal(template, old_template):
        return []
    return [invalid("spec.template", dig(new, "spec", "template"), "field is immutable")]


def _copy_key(source: dict[str, Any], target: dict[str, Any], key: str) -> None:
    if key in source:
        target[key] = copy.deepcopy(source[key])
    else:
        target.pop(key, None)


class CronJobStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        spec = ensure(obj, "spec")
        if not spec.get("concurrencyPolicy"):
            spec["concurrencyPolicy"] = "Allow"
        if spec.get("suspend") is None:
            spec["suspend"] = False
        if spec.get("successfulJobsHistoryLimit") is None:
            spec["successfulJobsHistoryLimit"] = 3
        if spec.get("failedJobsHistoryLimit") is None:
            spec["failedJobsHistoryLimit"] = 1
        default_pod_template(ensure(spec, "jobTemplate", "spec", "template"))

    def validate(self, obj: Obj) -> list[FieldError]:
        name = dig(obj, "metadata", "name", default="")
        errs: list[FieldError] = []
        if len(name) > MAX_CRONJOB_NAME:
            errs.append(
                invalid(
                    "metadata.name", name, f"must be no more than {MAX_CRONJOB_NAME} characters"
                )
            )
        spec = obj.get("spec") or {}
        errs += _validate_schedule(spec)
        if spec.get("startingDeadlineSeconds") is not None:
            errs += validate_nonnegative(
                spec["startingDeadlineSeconds"], "spec.startingDeadlineSeconds"
            )
        policy = spec.get("concurrencyPolicy") or ""
        if not policy:
            errs.append(required("spec.concurrencyPolicy"))
        elif policy not in ("Allow", "Forbid", "Replace"):
            errs.append(
                not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"])
            )
        for key in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            if spec.get(key) is not None:
                errs += validate_nonnegative(spec[key], f"spec.{key}")
        job_spec = dig(spec, "jobTemplate", "spec", default={}) or {}
        errs += _validate_job_spec(job_spec, "spec.jobTemplate.spec")
        if job_spec.get("manualSelector") is True:
            errs.append(
                not_supported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"])
            )
        return errs + validate_job_template(job_spec, "spec.jobTemplate.spec.template")


def _validate_schedule(spec: dict[str, Any]) -> list[FieldError]:
    schedule = spec.get("schedule") or ""
    if not schedule:
        return [required("spec.schedule")]
    errs: list[FieldError] = []
    try:
        parse_schedule(schedule)
    except CronError as err:
        errs.append(invalid("spec.schedule", schedule, str(err)))
    timezone = spec.get("timeZone")
    if "TZ" in schedule:
        errs.append(
            invalid(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            )
        )
    if timezone is not None:
        errs += _validate_time_zone(timezone)
    return errs


def _validate_time_zone(timezone: str) -> list[FieldError]:
    if timezone.lower() == "local":
        return [
            invalid(
                "spec.timeZone",
                timezone,
                "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            )
        ]
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [invalid("spec.timeZone", timezone, f"unknown time zone {timezone}")]
    return []
