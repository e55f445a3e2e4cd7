"""Tables of persistent storage: PersistentVolumes, PersistentVolumeClaims and StorageClasses
(kube-apiserver's printers). Access modes print as RWO, ROX, RWX, RWOP; the default storage
class is marked "(default)" after its name.
"""

from __future__ import annotations

from datetime import datetime

from pilothouse.api.tables.cells import Obj, quantity, since
from pilothouse.api.tables.printer import AGE, NAME, Cells, Printer, column

_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
# The class annotation that predates spec.storageClassName and still wins over it.
_BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _access_modes(modes: list[str] | None) -> str:
    """``GetAccessModesAsString``: the short names, in a fixed order, once each."""
    present = set(modes or ())
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def _or_default(value: str | None, default: str) -> str:
    """An optional (pointer) field: its value when set, even to "", else the default."""
    return default if value is None else value


def _unset_if_none(value: str | None) -> str:
    return _or_default(value, "<unset>")


def _storage_class(meta: Obj, spec: Obj) -> str:
    annotations = meta.get("annotations") or {}
    if _BETA_CLASS_ANNOTATION in annotations:
        return annotations[_BETA_CLASS_ANNOTATION]
    return spec.get("storageClassName") or ""


def _persistent_volume_cells(volume: Obj, now: datetime) -> Cells:
    meta = volume.get("metadata") or {}
    spec, status = volume.get("spec") or {}, volume.get("status") or {}
    claim = spec.get("claimRef")
    return [
        meta.get("name", ""),
        quantity((spec.get("capacity") or {}).get("storage")),
        _access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        "Terminating" if meta.get("deletionTimestamp") else status.get("phase", ""),
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim is not None else "",
        _storage_class(meta, spec),
        _unset_if_none(spec.get("volumeAttributesClassName")),
        status.get("reason", ""),
        since(meta.get("creationTimestamp"), now),
        _unset_if_none(spec.get("volumeMode")),
    ]


def _persistent_volume_claim_cells(claim: Obj, now: datetime) -> Cells:
    meta = claim.get("metadata") or {}
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    capacity = access_modes = ""
    if spec.get("volumeName"):
        # Only a bound claim shows what it got.
        access_modes = _access_modes(status.get("accessModes"))
        capacity = quantity((status.get("capacity") or {}).get("storage"))
    return [
        meta.get("name", ""),
        "Terminating" if meta.get("deletionTimestamp") else status.get("phase", ""),
        spec.get("volumeName", ""),
        capacity,
        access_modes,
        _storage_class(meta, spec),
        _unset_if_none(spec.get("volumeAttributesClassName")),
        since(meta.get("creationTimestamp"), now),
        _unset_if_none(spec.get("volumeMode")),
    ]


def _storage_class_cells(storage_class: Obj, now: datetime) -> Cells:
    meta = storage_class.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    name = meta.get("name", "")
    if any(annotations.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS):
        name += " (default)"
    expansion = storage_class.get("allowVolumeExpansion")
    return [
        name,
        storage_class.get("provisioner", ""),
        _or_default(storage_class.get("reclaimPolicy"), "Delete"),
        _or_default(storage_class.get("volumeBindingMode"), "Immediate"),
        bool(expansion),
        since(meta.get("creationTimestamp"), now),
    ]


PRINTERS = {
    ("", "PersistentVolume"): Printer(
        (
            NAME,
            column("Capacity", "PersistentVolumeSpec.capacity"),
            column("Access Modes", "PersistentVolumeSpec.accessModes"),
            column("Reclaim Policy", "PersistentVolumeSpec.persistentVolumeReclaimPolicy"),
            column("Status", "PersistentVolumeStatus.phase"),
            column("Claim", "PersistentVolumeSpec.claimRef"),
            column("StorageClass", description="StorageClass of the pv"),
            column("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
            column("Reason", "PersistentVolumeStatus.reason"),
            AGE,
            column("VolumeMode", "PersistentVolumeSpec.volumeMode", wide=True),
        ),
        _persistent_volume_cells,
    ),
    ("", "PersistentVolumeClaim"): Printer(
        (
            NAME,
            column("Status", "PersistentVolumeClaimStatus.phase"),
            column("Volume", "PersistentVolumeClaimSpec.volumeName"),
            column("Capacity", "PersistentVolumeClaimStatus.capacity"),
            column("Access Modes", "PersistentVolumeClaimStatus.accessModes"),
            column("StorageClass", description="StorageClass of the pvc"),
            column("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
            AGE,
            column("VolumeMode", "PersistentVolumeClaimSpec.volumeMode", wide=True),
        ),
        _persistent_volume_claim_cells,
    ),
    ("storage.k8s.io", "StorageClass"): Printer(
        (
            NAME,
            column("Provisioner", "StorageClass.provisioner"),
            column("ReclaimPolicy", "StorageClass.reclaimPolicy"),
            column("VolumeBindingMode", "StorageClass.volumeBindingMode"),
            column("AllowVolumeExpansion", "StorageClass.allowVolumeExpansion"),
            AGE,
        ),
        _storage_class_cells,
    ),
}
