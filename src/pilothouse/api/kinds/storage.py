"""PersistentVolumes, PersistentVolumeClaims and StorageClasses.

* PV: reclaim policy defaults to Retain, volumeMode to Filesystem, status phase to Pending;
  the volume source and volumeMode are immutable, node affinity once set too.
* PVC: volumeMode defaults to Filesystem, status phase to Pending; the spec is immutable
  except that a bound claim may grow (and, with RecoverVolumeExpansionFailure, shrink back
  above its status capacity) its storage request, and volumeName may be set once.
* StorageClass: provisioner, parameters and reclaimPolicy are immutable; reclaimPolicy
  defaults to Delete and volumeBindingMode to Immediate.
"""

from __future__ import annotations

import copy
from typing import Any

from pilothouse.api.errors import FieldError, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import (
    NoGenerationStrategy,
    NoStatusStrategy,
    describe_change,
    dig,
    ensure,
    semantically_equal,
)
from pilothouse.api.kinds.podspec import validate_node_selector
from pilothouse.api.kinds.resource_names import (
    parse,
    round_up_resource_list,
    validate_positive_quantity,
    validate_quantity_value,
)
from pilothouse.api.kinds.volumes import (
    VOLUME_MODES,
    access_mode_errors,
    default_claim_spec,
    validate_claim_spec,
    validate_csi_driver_name,
    validate_host_path,
    validate_nfs,
)
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    name_is_dns_subdomain,
    too_long,
    validate_immutable,
    validate_qualified_name,
)

RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
PV_SOURCES = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
]
_BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


class PersistentVolumeStrategy(NoGenerationStrategy):
    def default(self, obj: Obj) -> None:
        spec = ensure(obj, "spec")
        if not spec.get("persistentVolumeReclaimPolicy"):
            spec["persistentVolumeReclaimPolicy"] = "Retain"
        if spec.get("volumeMode") is None:
            spec["volumeMode"] = "Filesystem"
        round_up_resource_list(spec.get("capacity"))
        if isinstance(spec.get("hostPath"), dict):
            spec["hostPath"].setdefault("type", "")
        status = ensure(obj, "status")
        if not status.get("phase"):
            status["phase"] = "Pending"

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs: list[FieldError] = []
        modes = spec.get("accessModes") or []
        if not modes:
            errs.append(required("spec.accessModes"))
        errs += access_mode_errors(modes, "spec.accessModes")
        errs += _validate_capacity(spec.get("capacity") or {})
        policy = spec.get("persistentVolumeReclaimPolicy") or ""
        if policy and policy not in RECLAIM_POLICIES:
            errs.append(
                not_supported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES)
            )
        affinity_set = spec.get("nodeAffinity") is not None
        if affinity_set:
            required_terms = dig(spec, "nodeAffinity", "required")
            if required_terms is None:
                errs.append(
                    required("spec.nodeAffinity.required", "must specify required node constraints")
                )
            else:
                errs += validate_node_selector(required_terms, "spec.nodeAffinity.required")
        errs += _validate_pv_source(spec, affinity_set)
        host_path = dig(spec, "hostPath", "path", default="")
        if host_path and host_path.rstrip("/") == "" and policy == "Recycle":
            errs.append(
                forbidden(
                    "spec.persistentVolumeReclaimPolicy",
                    "may not be 'recycle' for a hostPath mount of '/'",
                )
            )
        class_name = spec.get("storageClassName") or ""
        if class_name:
            errs += [
                invalid("spec.storageClassName", class_name, m)
                for m in name_is_dns_subdomain(class_name)
            ]
        mode = spec.get("volumeMode")
        if mode is not None and mode not in VOLUME_MODES:
            errs.append(not_supported("spec.volumeMode", mode, VOLUME_MODES))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        new_source = {k: spec.get(k) for k in PV_SOURCES if spec.get(k) is not None}
        old_source = {k: old_spec.get(k) for k in PV_SOURCES if old_spec.get(k) is not None}
        csi, old_csi = new_source.get("csi"), old_source.get("csi")
        if (
            isinstance(csi, dict)
            and isinstance(old_csi, dict)
            and "controllerExpandSecretRef" not in old_csi
        ):
            # A CSI volume may gain an expansion secret.
            new_source["csi"] = {k: v for k, v in csi.items() if k != "controllerExpandSecretRef"}
        errs: list[FieldError] = []
        if not semantically_equal(new_source, old_source):
            errs.append(
                forbidden(
                    "spec.persistentvolumesource",
                    "spec.persistentvolumesource is immutable after "
                    f"creation\n{describe_change(old_source, new_source)}",
                )
            )
        errs += validate_immutable(spec.get("volumeMode"), old_spec.get("volumeMode"), "volumeMode")
        if old_spec.get("nodeAffinity") is not None and spec.get("nodeAffinity") != old_spec.get(
            "nodeAffinity"
        ):
            errs.append(
                invalid(
                    "nodeAffinity",
                    spec.get("nodeAffinity"),
                    "field is immutable, except for updating from beta label to GA",
                )
            )
        return errs


def _validate_capacity(capacity: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not capacity:
        errs.append(required("spec.capacity"))
    if "storage" not in capacity or len(capacity) > 1:
        errs.append(not_supported("spec.capacity", capacity, ["storage"]))
    for name, value in capacity.items():
        quantity = parse(value)
        if quantity is not None and quantity.value() < 0:
            errs.append(
                invalid(
                    f"spec.capacity[{name}]", quantity.value(), "must be a valid resource quantity"
                )
            )
        errs += validate_positive_quantity(value, f"spec.capacity[{name}]")
    return errs


def _validate_pv_source(spec: dict[str, Any], affinity_set: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for key in PV_SOURCES:
        source = spec.get(key)
        if source is None:
            continue
        if count and key != "flexVolume":
            errs.append(forbidden(f"spec.{key}", "may not specify more than 1 volume type"))
            continue
        count += 1
        errs += _validate_pv_source_fields(key, source, affinity_set)
    if not count:
        errs.append(required("spec", "must specify a volume type"))
    return errs


def _validate_pv_source_fields(
    key: str, source: dict[str, Any], affinity_set: bool
) -> list[FieldError]:
    path = f"spec.{key}"
    if key == "hostPath":
        return validate_host_path(source, path)
    if key == "nfs":
        return validate_nfs(source, path)
    if key == "local":
        if not source.get("path"):
            return [required(f"{path}.path")]
        errs = []
        if ".." in source["path"].split("/"):
            errs.append(invalid(f"{path}.path", source["path"], "must not contain '..'"))
        if not affinity_set:
            errs.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
        return errs
    if key == "csi":
        errs = validate_csi_driver_name(source.get("driver") or "", f"{path}.driver")
        if not source.get("volumeHandle"):
            errs.append(required(f"{path}.volumeHandle"))
        return errs
    return []


class PersistentVolumeClaimStrategy(NoGenerationStrategy):
    def default(self, obj: Obj) -> None:
        default_claim_spec(ensure(obj, "spec"))
        status = ensure(obj, "status")
        if not status.get("phase"):
            status["phase"] = "Pending"
        round_up_resource_list(status.get("capacity"))
        round_up_resource_list(status.get("allocatedResources"))

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_claim_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        spec, old_spec = copy.deepcopy(new.get("spec") or {}), copy.deepcopy(old.get("spec") or {})
        new_annotations = dig(new, "metadata", "annotations", default={})
        old_annotations = dig(old, "metadata", "annotations", default={})
        errs: list[FieldError] = []
        if not old_spec.get("volumeName"):
            old_spec["volumeName"] = spec.get("volumeName")
        if _upgrades_class_from_annotation(old_annotations, new_annotations, old_spec, spec):
            spec.pop("storageClassName", None)
        else:
            errs += validate_immutable(
                new_annotations.get(_BETA_CLASS_ANNOTATION),
                old_annotations.get(_BETA_CLASS_ANNOTATION),
                f"metadata.annotations.{_BETA_CLASS_ANNOTATION}",
            )
            if (
                spec.get("storageClassName") is not None
                and old_spec.get("storageClassName") is None
                and old_annotations.get(_BETA_CLASS_ANNOTATION, spec["storageClassName"])
                == spec["storageClassName"]
            ):
                spec.pop("storageClassName")
        bound = dig(new, "status", "phase") == "Bound"
        new_size = parse(dig(spec, "resources", "requests", "storage"))
        old_size = parse(dig(old_spec, "resources", "requests", "storage"))
        if bound and isinstance(dig(spec, "resources", "requests"), dict):
            spec["resources"]["requests"]["storage"] = dig(
                old_spec, "resources", "requests", "storage"
            )
        if bound and spec.get("volumeAttributesClassName") is not None:
            spec["volumeAttributesClassName"] = old_spec.get("volumeAttributesClassName")
        if not semantically_equal(spec, old_spec):
            errs.append(
                forbidden(
                    "spec",
                    "spec is immutable after creation except resources.requests and "
                    f"volumeAttributesClassName for bound claims\n{describe_change(old_spec, spec)}",
                )
            )
        if new_size is not None and old_size is not None and new_size < old_size:
            status_size = parse(dig(old, "status", "capacity", "storage"))
            if status_size is None or new_size <= status_size:
                errs.append(
                    forbidden(
                        "spec.resources.requests.storage",
                        "field can not be less than status.capacity",
                    )
                )
        errs += validate_immutable(
            dig(new, "spec", "volumeMode"), dig(old, "spec", "volumeMode"), "volumeMode"
        )
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        if not dig(new, "spec", "accessModes"):
            errs.append(required("Spec.accessModes"))
        for name, value in (dig(new, "status", "capacity", default={}) or {}).items():
            quantity = parse(value)
            if quantity is not None and quantity.value() < 0:
                errs.append(
                    invalid(
                        f"status.capacity[{name}]",
                        quantity.value(),
                        "must be a valid resource quantity",
                    )
                )
        for name, value in (dig(new, "status", "allocatedResources", default={}) or {}).items():
            errs += validate_qualified_name(name, "status.allocatedResources")
            errs += validate_quantity_value("storage", value, f"status.allocatedResources[{name}]")
        return errs


def _upgrades_class_from_annotation(
    old_annotations: dict[str, str],
    new_annotations: dict[str, str],
    old_spec: dict[str, Any],
    spec: dict[str, Any],
) -> bool:
    if (
        _BETA_CLASS_ANNOTATION not in old_annotations
        or old_spec.get("storageClassName") is not None
    ):
        return False
    old_class = old_annotations[_BETA_CLASS_ANNOTATION]
    return (
        spec.get("storageClassName") == old_class
        and new_annotations.get(_BETA_CLASS_ANNOTATION, old_class) == old_class
    )


class StorageClassStrategy(NoStatusStrategy):
    def default(self, obj: Obj) -> None:
        if not obj.get("reclaimPolicy"):
            obj["reclaimPolicy"] = "Delete"
        if not obj.get("volumeBindingMode"):
            obj["volumeBindingMode"] = "Immediate"

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = _validate_provisioner(obj.get("provisioner") or "")
        errs += _validate_parameters(obj.get("parameters") or {})
        policy = obj.get("reclaimPolicy") or ""
        if policy and policy not in ("Delete", "Retain"):
            errs.append(not_supported("reclaimPolicy", policy, ["Delete", "Retain"]))
        mode = obj.get("volumeBindingMode")
        if mode is None:
            errs.append(required("volumeBindingMode"))
        elif mode not in ("Immediate", "WaitForFirstConsumer"):
            errs.append(
                not_supported("volumeBindingMode", mode, ["Immediate", "WaitForFirstConsumer"])
            )
        for i, term in enumerate(obj.get("allowedTopologies") or []):
            if not (term or {}).get("matchLabelExpressions"):
                errs.append(
                    required(
                        f"allowedTopologies[{i}].matchLabelExpressions",
                        "must contain at least one requirement",
                    )
                )
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        if (new.get("parameters") or {}) != (old.get("parameters") or {}):
            errs.append(forbidden("parameters", "updates to parameters are forbidden."))
        if new.get("provisioner") != old.get("provisioner"):
            errs.append(forbidden("provisioner", "updates to provisioner are forbidden."))
        if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
            errs.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        errs += validate_immutable(
            new.get("volumeBindingMode"), old.get("volumeBindingMode"), "volumeBindingMode"
        )
        return errs


def _validate_provisioner(provisioner: str) -> list[FieldError]:
    if not provisioner:
        return [required("provisioner")]
    return validate_qualified_name(provisioner.lower(), "provisioner")


def _validate_parameters(parameters: dict[str, Any]) -> list[FieldError]:
    if len(parameters) > 512:
        return [too_long("parameters", 512)]
    errs: list[FieldError] = []
    total = 0
    for key, value in parameters.items():
        if not key:
            errs.append(invalid("parameters", key, "field can not be empty."))
        total += len(key) + len(str(value))
    if total > 256 * 1024:
        errs.append(too_long("parameters", 256 * 1024))
    return errs
