"""Pods and PodTemplates.

PodStrategy does what pkg/registry/core/pod/strategy.go, SetDefaults_Pod and
ValidatePodCreate/ValidatePodUpdate/ValidatePodStatusUpdate do, plus three admission plugins
kube-apiserver enables by default, because they only need the pod itself:

* ServiceAccount: ``spec.serviceAccountName`` defaults to "default" (mounting the token volume
  needs the ServiceAccount object and is left to the API server's admission chain);
* DefaultTolerationSeconds: pods tolerate ``node.kubernetes.io/not-ready`` and
  ``node.kubernetes.io/unreachable`` (NoExecute) for 300 seconds unless they say otherwise;
* Priority: without ``priorityClassName`` a pod gets priority 0 and preemption policy
  PreemptLowerPriority (as when no PriorityClass is globalDefault); the two system classes
  resolve to their fixed values. Other class names need a lookup and are left to admission.

These run on create only (``prepare_for_create``), as admission does. In 1.33 pods keep
``metadata.generation`` (bumped when the spec changes). ``pod_qos_class`` is the QoS rule the
kubelet and scheduler share.
"""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid, required
from pilothouse.api.kinds.base import (
    KindStrategy,
    describe_change,
    dig,
    ensure,
    items,
    semantically_equal,
)
from pilothouse.api.kinds.containers import default_requests_from_limits, validate_image_whitespace
from pilothouse.api.kinds.podspec import (
    default_pod_spec,
    default_pod_template,
    validate_pod_annotations,
    validate_pod_spec,
    validate_pod_template,
    validate_tolerations,
)
from pilothouse.api.kinds.resource_names import parse
from pilothouse.api.quantity import Quantity
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    inclusive_range_error,
    name_is_dns_subdomain,
    validate_immutable,
    validate_ip,
    validate_qualified_name,
)

DEFAULT_SERVICE_ACCOUNT = "default"
DEFAULT_TOLERATION_SECONDS = 300
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SYSTEM_PRIORITY_CLASSES = {
    "system-node-critical": 2000001000,
    "system-cluster-critical": 2000000000,
}
_MAX_INT32 = 2**31 - 1
_UPDATABLE_FIELDS = ",".join(
    [
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]
)
_SYSTEM_CONDITIONS = frozenset({"PodScheduled", "Ready", "Initialized"})


def pod_qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, from cpu and memory requests and limits (a limit
    without a request counts as both, as defaulting makes it)."""
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    for key in ("containers", "initContainers"):
        for _, container in items(spec, key):
            resources = container.get("resources") or {}
            container_limits = resources.get("limits") or {}
            container_requests = {**container_limits, **(resources.get("requests") or {})}
            _sum_positive(container_requests, requests)
            found = _sum_positive(container_limits, limits)
            if not {"cpu", "memory"} <= found:
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if (
        guaranteed
        and all(limits.get(n) == q for n, q in requests.items())
        and len(requests) == len(limits)
    ):
        return "Guaranteed"
    return "Burstable"


def _sum_positive(resources: dict[str, Any], totals: dict[str, Quantity]) -> set[str]:
    found: set[str] = set()
    for name, value in resources.items():
        quantity = parse(value)
        if name in ("cpu", "memory") and quantity is not None and quantity.sign() > 0:
            found.add(name)
            totals[name] = totals[name] + quantity if name in totals else quantity
    return found


class PodStrategy(KindStrategy):
    field_label_names = (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    )
    # Old v1 clients select on spec.host.
    field_label_aliases = MappingProxyType({"spec.host": "spec.nodeName"})

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = ensure(obj, "spec")
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(spec)}
        if spec.get("schedulingGates"):
            obj["status"]["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": None,
                    "reason": "SchedulingGated",
                    "message": "Scheduling is blocked due to non-empty scheduling gates",
                }
            ]
        _merge_affinity_label_keys(spec, dig(obj, "metadata", "labels", default={}))
        if MIRROR_ANNOTATION not in dig(obj, "metadata", "annotations", default={}):
            _admit_service_account(spec)
        _admit_default_tolerations(spec)
        _admit_priority(spec)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """Status writes keep the old spec, deletionTimestamp and ownerReferences; labels and
        annotations may change (the kubelet's status updates have always been allowed to)."""
        meta = new.setdefault("metadata", {})
        old_meta = old.get("metadata", {})
        for key in ("deletionTimestamp", "ownerReferences"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        new["spec"] = copy.deepcopy(old.get("spec", {}))
        status = new.setdefault("status", {})
        if not status.get("qosClass") and dig(old, "status", "qosClass"):
            status["qosClass"] = old["status"]["qosClass"]
        self.default(new)

    def default(self, obj: Obj) -> None:
        spec = ensure(obj, "spec")
        for key in ("containers", "initContainers"):
            for _, container in items(spec, key):
                default_requests_from_limits(container)
        if spec.get("enableServiceLinks") is None:
            spec["enableServiceLinks"] = True
        if spec.get("hostNetwork"):
            for key in ("containers", "initContainers"):
                for _, container in items(spec, key):
                    for _, port in items(container, "ports"):
                        if not port.get("hostPort"):
                            port["hostPort"] = port.get("containerPort") or 0
        default_pod_spec(spec)

    def validate(self, obj: Obj) -> list[FieldError]:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        errs = validate_pod_annotations(meta.get("annotations") or {}, spec, "metadata.annotations")
        errs += validate_pod_spec(spec, "spec", pod_name=meta.get("name") or "", is_pod=True)
        if not spec.get("serviceAccountName"):
            errs += _forbid_token_projections(spec)
        for key in ("containers", "initContainers"):
            for i, container in items(spec, key):
                errs += validate_image_whitespace(container, f"spec.{key}[{i}]")
        return errs

    def validate_create(self, obj: Obj) -> list[FieldError]:
        errs = self.validate(obj)
        spec = obj.get("spec") or {}
        if spec.get("ephemeralContainers"):
            errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
        if spec.get("nodeName") and spec.get("schedulingGates"):
            errs.append(
                forbidden(
                    "spec.nodeName", "cannot be set until all schedulingGates have been cleared"
                )
            )
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = _validate_annotation_updates(new, old)
        new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        for key in ("containers", "initContainers"):
            container_errs, stop = _validate_container_updates(
                new_spec.get(key) or [], old_spec.get(key) or [], f"spec.{key}"
            )
            errs += container_errs
            if stop:
                return errs
        deadline_errs, stop = _validate_deadline_update(new_spec, old_spec)
        errs += deadline_errs
        if stop:
            return errs
        errs += _validate_toleration_update(
            new_spec.get("tolerations") or [], old_spec.get("tolerations") or []
        )
        errs += _validate_gate_update(
            new_spec.get("schedulingGates") or [], old_spec.get("schedulingGates") or []
        )
        errs += _validate_gated_node_selector(new_spec, old_spec)
        munged = _munge_mutable_fields(new_spec, old_spec)
        if not semantically_equal(munged, old_spec):
            errs.append(
                forbidden(
                    "spec",
                    f"pod updates may not change fields other than "
                    f"{_UPDATABLE_FIELDS}\n{describe_change(old_spec, munged)}",
                )
            )
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = _validate_annotation_updates(new, old)
        status, old_status = new.get("status") or {}, old.get("status") or {}
        for i, condition in items(status, "conditions"):
            kind = condition.get("type") or ""
            if kind not in _SYSTEM_CONDITIONS:
                errs += validate_qualified_name(kind, f"metadata.conditions[{i}].Type")
        nominated = status.get("nominatedNodeName") or ""
        if nominated and nominated != old_status.get("nominatedNodeName"):
            errs += [
                invalid("status.nominatedNodeName", nominated, m)
                for m in name_is_dns_subdomain(nominated)
            ]
        errs += validate_immutable(
            status.get("qosClass"), old_status.get("qosClass"), "status.qosClass"
        )
        restart_policy = dig(old, "spec", "restartPolicy", default="")
        errs += _validate_state_transitions(
            status.get("containerStatuses"),
            old_status.get("containerStatuses"),
            "status.containerStatuses",
            restart_policy,
        )
        errs += _validate_ip_list(status.get("podIPs"), "status.podIPs")
        errs += _validate_host_ips(status)
        return errs

    def field_labels(self, obj: Obj) -> dict[str, str]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        pod_ips = status.get("podIPs") or []
        return {
            "spec.nodeName": spec.get("nodeName") or "",
            "spec.restartPolicy": spec.get("restartPolicy") or "",
            "spec.schedulerName": spec.get("schedulerName") or "",
            "spec.serviceAccountName": spec.get("serviceAccountName") or "",
            "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
            "status.phase": status.get("phase") or "",
            "status.podIP": (pod_ips[0] or {}).get("ip", "") if pod_ips else "",
            "status.nominatedNodeName": status.get("nominatedNodeName") or "",
        }


class PodTemplateStrategy(KindStrategy):
    """PodTemplates have no status; their generation follows template changes."""

    has_status = False

    def default(self, obj: Obj) -> None:
        default_pod_template(ensure(obj, "template"))

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_pod_template(obj.get("template") or {}, "template")


# --- create-time admission ----------------------------------------------------------------


def _admit_service_account(spec: dict[str, Any]) -> None:
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
        spec["serviceAccount"] = DEFAULT_SERVICE_ACCOUNT


def _admit_default_tolerations(spec: dict[str, Any]) -> None:
    tolerations = spec.get("tolerations") or []
    for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        tolerated = any(
            (t.get("key") or "") in (taint, "") and (t.get("effect") or "") in ("NoExecute", "")
            for t in tolerations
            if isinstance(t, dict)
        )
        if not tolerated:
            tolerations.append(
                {
                    "key": taint,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }
            )
    spec["tolerations"] = tolerations


def _admit_priority(spec: dict[str, Any]) -> None:
    class_name = spec.get("priorityClassName") or ""
    if class_name and class_name not in SYSTEM_PRIORITY_CLASSES:
        return
    spec["priority"] = SYSTEM_PRIORITY_CLASSES.get(class_name, 0)
    if spec.get("preemptionPolicy") is None:
        spec["preemptionPolicy"] = "PreemptLowerPriority"


def _merge_affinity_label_keys(spec: dict[str, Any], labels: dict[str, str]) -> None:
    """MatchLabelKeysInPodAffinity (beta, on): matchLabelKeys/mismatchLabelKeys become
    In/NotIn requirements of the term's label selector, with the pod's own label values."""
    for kind in ("podAffinity", "podAntiAffinity"):
        affinity = dig(spec, "affinity", kind)
        if not isinstance(affinity, dict):
            continue
        terms = [t for _, t in items(affinity, "requiredDuringSchedulingIgnoredDuringExecution")]
        terms += [
            t.get("podAffinityTerm") or {}
            for _, t in items(affinity, "preferredDuringSchedulingIgnoredDuringExecution")
        ]
        for term in terms:
            selector = term.get("labelSelector")
            if not isinstance(selector, dict):
                continue
            for key, operator in (("matchLabelKeys", "In"), ("mismatchLabelKeys", "NotIn")):
                for label in term.get(key) or []:
                    if label in labels:
                        selector.setdefault("matchExpressions", []).append(
                            {"key": label, "operator": operator, "values": [labels[label]]}
                        )


# --- validation helpers -------------------------------------------------------------------


def _forbid_token_projections(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, volume in items(spec, "volumes"):
        for j, source in items(volume, "projected", "sources"):
            if source.get("serviceAccountToken") is not None:
                errs.append(
                    forbidden(
                        f"spec.volumes[{i}].projected.sources[{j}].serviceAccountToken",
                        "must not be specified when serviceAccountName is not set",
                    )
                )
    return errs


def _validate_annotation_updates(new: Obj, old: Obj) -> list[FieldError]:
    new_annotations = dig(new, "metadata", "annotations", default={})
    old_annotations = dig(old, "metadata", "annotations", default={})
    errs: list[FieldError] = []
    prefix = "container.apparmor.security.beta.kubernetes.io/"
    for key, value in old_annotations.items():
        if new_annotations.get(key) == value:
            continue
        if key.startswith(prefix):
            errs.append(
                forbidden(
                    f"metadata.annotations[{key}]", "may not remove or update AppArmor annotations"
                )
            )
        if key == MIRROR_ANNOTATION:
            errs.append(
                forbidden(
                    f"metadata.annotations[{key}]", "may not remove or update mirror pod annotation"
                )
            )
    for key in new_annotations:
        if key in old_annotations:
            continue
        if key.startswith(prefix):
            errs.append(
                forbidden(f"metadata.annotations[{key}]", "may not add AppArmor annotations")
            )
        if key == MIRROR_ANNOTATION:
            errs.append(
                forbidden(f"metadata.annotations[{key}]", "may not add mirror pod annotation")
            )
    return errs


def _validate_container_updates(
    new: list[Any], old: list[Any], path: str
) -> tuple[list[FieldError], bool]:
    if len(new) != len(old):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errs: list[FieldError] = []
    for i, container in enumerate(new):
        image = (container or {}).get("image") or ""
        if not image:
            errs.append(required(f"{path}[{i}].image"))
        if image != image.strip():
            errs.append(
                invalid(f"{path}[{i}].image", image, "must not have leading or trailing whitespace")
            )
    return errs, False


def _validate_deadline_update(
    new: dict[str, Any], old: dict[str, Any]
) -> tuple[list[FieldError], bool]:
    """Errors, and whether validation stops there (as upstream returns early)."""
    new_deadline, old_deadline = new.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    path = "spec.activeDeadlineSeconds"
    if new_deadline is not None:
        if not 0 <= new_deadline <= _MAX_INT32:
            return [invalid(path, new_deadline, inclusive_range_error(0, _MAX_INT32))], True
        if old_deadline is not None and old_deadline < new_deadline:
            return [
                invalid(path, new_deadline, "must be less than or equal to previous value")
            ], True
    elif old_deadline is not None:
        return [invalid(path, None, "must not update from a positive integer to nil value")], False
    return [], False


def _validate_toleration_update(new: list[Any], old: list[Any]) -> list[FieldError]:
    for existing in old:
        without_seconds = {k: v for k, v in (existing or {}).items() if k != "tolerationSeconds"}
        if not any(
            {k: v for k, v in (t or {}).items() if k != "tolerationSeconds"} == without_seconds
            for t in new
        ):
            return [
                forbidden(
                    "spec.tolerations",
                    "existing toleration can not be modified except its tolerationSeconds",
                )
            ]
    return validate_tolerations(new, "spec.tolerations")


def _validate_gate_update(new: list[Any], old: list[Any]) -> list[FieldError]:
    old_names = {(g or {}).get("name") for g in old}
    return [
        forbidden(
            f"spec.schedulingGates[{i}].name",
            f"only deletion is allowed, but found new scheduling gate '{gate.get('name', '')}'",
        )
        for i, gate in enumerate(new)
        if (gate or {}).get("name") not in old_names
    ]


def _munge_mutable_fields(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """The new spec with every field an update may change put back to its old value."""
    munged = copy.deepcopy(new)
    for key in ("containers", "initContainers"):
        for i, container in enumerate(munged.get(key) or []):
            old_image = dig(old, key, i, "image")
            if old_image is None:
                container.pop("image", None)
            else:
                container["image"] = old_image
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        if key in old:
            munged[key] = copy.deepcopy(old[key])
        else:
            munged.pop(key, None)
    old_grace = old.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if old.get("schedulingGates"):
        # Gated pods may gain node selector entries; _validate_gated_node_selector checks them.
        munged["nodeSelector"] = copy.deepcopy(old.get("nodeSelector"))
    return munged


def _validate_gated_node_selector(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    if not old.get("schedulingGates"):
        return []
    new_selector = new.get("nodeSelector") or {}
    for key, value in (old.get("nodeSelector") or {}).items():
        if new_selector.get(key) != value:
            return [
                invalid(
                    "spec.nodeSelector",
                    new_selector,
                    "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
                )
            ]
    return []


def _validate_state_transitions(
    new: Any, old: Any, path: str, restart_policy: str
) -> list[FieldError]:
    if restart_policy == "Always":
        return []
    errs: list[FieldError] = []
    new_by_name = {s.get("name"): s for s in new or [] if isinstance(s, dict)}
    for i, status in enumerate(old or []):
        terminated = dig(status, "state", "terminated")
        if terminated is None:
            continue
        if (terminated.get("exitCode") or 0) != 0 and restart_policy == "OnFailure":
            continue
        current = new_by_name.get(status.get("name"))
        if current is not None and dig(current, "state", "terminated") is None:
            errs.append(
                forbidden(f"{path}[{i}].state", "may not be transitioned to non-terminated state")
            )
    return errs


def _validate_ip_list(entries: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    ips = [(e or {}).get("ip") or "" for e in entries or []]
    for i, ip in enumerate(ips):
        errs += validate_ip(ip, f"{path}[{i}]")
    if len(ips) > 1:
        families = {":" in ip for ip in ips}
        if len(families) != 2 or len(ips) > 2:
            errs.append(
                invalid(path, entries, "may specify no more than one IP for each IP family")
            )
        seen: set[str] = set()
        for i, ip in enumerate(ips):
            if ip in seen:
                errs.append(duplicate(f"{path}[{i}]", entries[i]))
            seen.add(ip)
    return errs


def _validate_host_ips(status: dict[str, Any]) -> list[FieldError]:
    host_ips = status.get("hostIPs") or []
    if not host_ips:
        return []
    errs: list[FieldError] = []
    first = (host_ips[0] or {}).get("ip") or ""
    if status.get("hostIP", "") != first:
        errs.append(invalid("status.hostIPs[0].ip", first, "must be equal to `hostIP`"))
    return errs + _validate_ip_list(host_ips, "status.hostIPs")
