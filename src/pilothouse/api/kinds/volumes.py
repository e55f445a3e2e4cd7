"""Volumes: pod volume sources, persistent volume sources and claim specs.

Defaults follow the v1 defaulters (defaultMode 420 for configMap/secret/downwardAPI/projected
volumes, emptyDir when no source is given, hostPath type "", token expiry one hour, ...);
validation follows validateVolumeSource and ValidatePersistentVolumeClaimSpec, checking the
sources pilothouse can run in depth and the cloud ones for their required fields. The order
in which sources are examined, and the odd field names upstream reports for a second source
("downwarAPI", "cephFS"), are kept because they show up in error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import dig, items, validate_selector
from pilothouse.api.kinds.containers import (
    default_field_ref,
    validate_field_ref,
    validate_local_non_reserved_path,
    validate_no_backsteps,
    validate_relative_path,
    validate_resource_field_ref,
)
from pilothouse.api.kinds.resource_names import (
    parse,
    round_up_resource_list,
    validate_positive_quantity,
    validate_quantity_value,
)
from pilothouse.api.validation import (
    is_dns1123_subdomain,
    name_is_dns_subdomain,
    too_long,
    validate_annotations,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_labels,
    validate_namespace_name,
)

Obj = dict[str, Any]

DEFAULT_MODE = 0o644
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
VOLUME_MODES = ["Block", "Filesystem"]
HOST_PATH_TYPES = [
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
]
_VOLUME_DOWNWARD_PATHS = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
]

# (JSON key, name upstream reports for a second source) in upstream's order.
POD_VOLUME_SOURCES = [
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
]
_SOURCE_KEYS = frozenset(key for key, _ in POD_VOLUME_SOURCES)

# Fields a source must carry, for the sources pilothouse cannot run itself.
_REQUIRED_FIELDS = {
    "gcePersistentDisk": ("pdName",),
    "awsElasticBlockStore": ("volumeID",),
    "glusterfs": ("endpoints", "path"),
    "rbd": ("monitors", "image"),
    "cinder": ("volumeID",),
    "cephfs": ("monitors",),
    "flexVolume": ("driver",),
    "azureFile": ("secretName", "shareName"),
    "vsphereVolume": ("volumePath",),
    "photonPersistentDisk": ("pdID",),
    "portworxVolume": ("volumeID",),
    "azureDisk": ("diskName", "diskURI"),
    "scaleIO": ("gateway", "system", "volumeName"),
    "quobyte": ("registry", "volume"),
    "iscsi": ("targetPortal", "iqn"),
    "storageos": ("volumeName",),
}
# Where upstream reports a source's inner errors, when not at its own key.
_INNER_PATH = {"gcePersistentDisk": "persistentDisk"}


# --- defaults -----------------------------------------------------------------------------


def default_volume(volume: Obj) -> None:
    if not _SOURCE_KEYS & {k for k, v in volume.items() if v is not None}:
        volume["emptyDir"] = {}
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    for key in ("secret", "configMap"):
        if isinstance(volume.get(key), dict) and volume[key].get("defaultMode") is None:
            volume[key]["defaultMode"] = DEFAULT_MODE
    if isinstance(volume.get("downwardAPI"), dict):
        _default_downward_api(volume["downwardAPI"], with_mode=True)
    if isinstance(volume.get("projected"), dict):
        _default_projected(volume["projected"])
    _default_cloud_sources(volume)
    template = dig(volume, "ephemeral", "volumeClaimTemplate")
    if isinstance(template, dict):
        default_claim_spec(template.setdefault("spec", {}))


def _default_downward_api(source: Obj, *, with_mode: bool) -> None:
    if with_mode and source.get("defaultMode") is None:
        source["defaultMode"] = DEFAULT_MODE
    for _, item in items(source, "items"):
        if isinstance(item.get("fieldRef"), dict):
            default_field_ref(item["fieldRef"])


def _default_projected(projected: Obj) -> None:
    if projected.get("defaultMode") is None:
        projected["defaultMode"] = DEFAULT_MODE
    for _, source in items(projected, "sources"):
        if isinstance(source.get("downwardAPI"), dict):
            _default_downward_api(source["downwardAPI"], with_mode=False)
        token = source.get("serviceAccountToken")
        if isinstance(token, dict) and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600


def _default_cloud_sources(volume: Obj) -> None:
    defaults: dict[str, dict[str, Any]] = {
        "iscsi": {"iscsiInterface": "default"},
        "rbd": {"pool": "rbd", "user": "admin", "keyring": "/etc/ceph/keyring"},
        "azureDisk": {
            "cachingMode": "ReadWrite",
            "fsType": "ext4",
            "readOnly": False,
            "kind": "Shared",
        },
        "scaleIO": {"storageMode": "ThinProvisioned", "fsType": "xfs"},
    }
    for key, fields in defaults.items():
        source = volume.get(key)
        if isinstance(source, dict):
            for name, value in fields.items():
                if source.get(name) in (None, ""):
                    source[name] = value


def default_claim_spec(spec: Obj) -> None:
    """SetDefaults_PersistentVolumeClaimSpec plus resource rounding."""
    if spec.get("volumeMode") is None:
        spec["volumeMode"] = "Filesystem"
    resources = spec.get("resources")
    if isinstance(resources, dict):
        round_up_resource_list(resources.get("limits"))
        round_up_resource_list(resources.get("requests"))


# --- pod volumes --------------------------------------------------------------------------


def validate_volumes(
    volumes: Any, path: str, *, pod_name: str = ""
) -> tuple[dict[str, Obj], list[FieldError]]:
    """The valid volumes by name, and every error found."""
    errs: list[FieldError] = []
    valid: dict[str, Obj] = {}
    created_claims = {
        f"{pod_name}-{v.get('name', '')}"
        for _, v in items({"v": volumes}, "v")
        if pod_name and v.get("ephemeral") is not None
    }
    for i, volume in items({"v": volumes}, "v"):
        item = f"{path}[{i}]"
        name = volume.get("name") or ""
        found = _validate_source(volume, item, pod_name)
        found += (
            validate_dns1123_label(name, f"{item}.name") if name else [required(f"{item}.name")]
        )
        if name in valid:
            found.append(duplicate(f"{item}.name", name))
        if found:
            errs += found
        else:
            valid[name] = volume
        claim = dig(volume, "persistentVolumeClaim", "claimName")
        if claim and claim in created_claims:
            errs.append(
                invalid(
                    f"{item}.persistentVolumeClaim.claimName",
                    claim,
                    "must not reference a PVC that gets created for an ephemeral volume",
                )
            )
    return valid, errs


def _validate_source(volume: Obj, path: str, pod_name: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for key, reported in POD_VOLUME_SOURCES:
        source = volume.get(key)
        if source is None:
            continue
        if count:
            errs.append(forbidden(f"{path}.{reported}", "may not specify more than 1 volume type"))
            continue
        count += 1
        errs += _validate_one_source(key, source, f"{path}.{_INNER_PATH.get(key, key)}")
        if key == "ephemeral" and pod_name and volume.get("name"):
            claim_name = f"{pod_name}-{volume['name']}"
            errs += [
                invalid(f"{path}.name", volume["name"], f'PVC name "{claim_name}": {m}')
                for m in name_is_dns_subdomain(claim_name)
            ]
    if not count:
        errs.append(required(path, "must specify a volume type"))
    return errs


def _validate_one_source(key: str, source: Obj, path: str) -> list[FieldError]:
    validator = _SOURCE_VALIDATORS.get(key)
    if validator is not None:
        return validator(source, path)
    return [
        required(f"{path}.{name}") for name in _REQUIRED_FIELDS.get(key, ()) if not source.get(name)
    ]


def _validate_empty_dir(source: Obj, path: str) -> list[FieldError]:
    limit = parse(source.get("sizeLimit")) if source.get("sizeLimit") is not None else None
    if limit is not None and limit.sign() < 0:
        return [forbidden(f"{path}.sizeLimit", "SizeLimit field must be a valid resource quantity")]
    return []


def validate_host_path(source: Obj, path: str) -> list[FieldError]:
    host_path = source.get("path") or ""
    if not host_path:
        return [required(f"{path}.path")]
    errs = validate_no_backsteps(host_path, f"{path}.path")
    kind = source.get("type")
    if kind is not None and kind not in HOST_PATH_TYPES:
        errs.append(not_supported(f"{path}.type", kind, HOST_PATH_TYPES))
    return errs


def _validate_git_repo(source: Obj, path: str) -> list[FieldError]:
    errs = [] if source.get("repository") else [required(f"{path}.repository")]
    return errs + validate_relative_path(source.get("directory") or "", f"{path}.directory")


def _validate_mode(mode: Any, path: str) -> list[FieldError]:
    if mode is not None and not 0 <= mode <= 0o777:
        return [invalid(path, mode, FILE_MODE_ERROR)]
    return []


def _validate_key_to_paths(source: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in items(source, "items"):
        errs += _validate_key_to_path(item, f"{path}.items[{i}]")
    return errs


def _validate_key_to_path(item: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not item.get("key"):
        errs.append(required(f"{path}.key"))
    if not item.get("path"):
        errs.append(required(f"{path}.path"))
    errs += validate_local_non_reserved_path(item.get("path") or "", f"{path}.path")
    errs += _validate_mode(item.get("mode"), f"{path}.mode")
    return errs


def _validate_secret(source: Obj, path: str) -> list[FieldError]:
    errs = [] if source.get("secretName") else [required(f"{path}.secretName")]
    errs += _validate_mode(source.get("defaultMode"), f"{path}.defaultMode")
    return errs + _validate_key_to_paths(source, path)


def _validate_config_map(source: Obj, path: str) -> list[FieldError]:
    errs = [] if source.get("name") else [required(f"{path}.name")]
    errs += _validate_mode(source.get("defaultMode"), f"{path}.defaultMode")
    return errs + _validate_key_to_paths(source, path)


def validate_nfs(source: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not source.get("server"):
        errs.append(required(f"{path}.server"))
    nfs_path = source.get("path") or ""
    if not nfs_path:
        errs.append(required(f"{path}.path"))
    if not nfs_path.startswith("/"):
        errs.append(invalid(f"{path}.path", nfs_path, "must be an absolute path"))
    return errs


def _validate_claim_ref(source: Obj, path: str) -> list[FieldError]:
    return [] if source.get("claimName") else [required(f"{path}.claimName")]


def _validate_downward_api_file(item: Obj, path: str) -> list[FieldError]:
    errs = [] if item.get("path") else [required(f"{path}.path")]
    errs += validate_local_non_reserved_path(item.get("path") or "", f"{path}.path")
    if item.get("fieldRef") is not None:
        errs += validate_field_ref(item["fieldRef"], _VOLUME_DOWNWARD_PATHS, f"{path}.fieldRef")
        if item.get("resourceFieldRef") is not None:
            errs.append(
                invalid(
                    path,
                    "resource",
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                )
            )
    elif item.get("resourceFieldRef") is not None:
        errs += validate_resource_field_ref(
            item["resourceFieldRef"], f"{path}.resourceFieldRef", in_volume=True
        )
    else:
        errs.append(required(path, "one of fieldRef and resourceFieldRef is required"))
    return errs + _validate_mode(item.get("mode"), f"{path}.mode")


def _validate_downward_api(source: Obj, path: str) -> list[FieldError]:
    errs = _validate_mode(source.get("defaultMode"), f"{path}.defaultMode")
    for _, item in items(source, "items"):
        # Upstream reports file errors at the volume's path, not at items[i].
        errs += _validate_downward_api_file(item, path)
    return errs


def _validate_projected(source: Obj, path: str) -> list[FieldError]:
    errs = _validate_mode(source.get("defaultMode"), f"{path}.defaultMode")
    paths: set[str] = set()

    def claim_path(target: str, value: Any) -> None:
        if target in paths:
            errs.append(invalid(path, value, "conflicting duplicate paths"))
        paths.add(target)

    for i, projection in items(source, "sources"):
        item = f"{path}.sources[{i}]"
        count = 0
        for key in ("secret", "configMap"):
            ref = projection.get(key)
            if ref is None:
                continue
            count += 1
            if not ref.get("name"):
                errs.append(required(f"{item}.{key}.name"))
            for j, entry in items(ref, "items"):
                errs += _validate_key_to_path(entry, f"{item}.{key}.items[{j}]")
                if entry.get("path"):
                    claim_path(entry["path"], ref.get("name") or "")
        if projection.get("downwardAPI") is not None:
            count += 1
            for _, entry in items(projection["downwardAPI"], "items"):
                errs += _validate_downward_api_file(entry, f"{item}.downwardAPI")
                if entry.get("path"):
                    claim_path(entry["path"], entry["path"])
        token = projection.get("serviceAccountToken")
        if token is not None:
            count += 1
            errs += _validate_token_projection(token, f"{item}.serviceAccountToken", path)
        if projection.get("clusterTrustBundle") is not None:
            count += 1
        if count > 1:
            errs.append(forbidden(item, "may not specify more than 1 volume type per source"))
    return errs


def _validate_token_projection(token: Obj, path: str, projected_path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    expiration = token.get("expirationSeconds") or 0
    if expiration < 600:
        errs.append(
            invalid(
                f"{path}.expirationSeconds",
                expiration,
                "may not specify a duration less than 10 minutes",
            )
        )
    if expiration > 1 << 32:
        errs.append(
            invalid(
                f"{path}.expirationSeconds",
                expiration,
                "may not specify a duration larger than 2^32 seconds",
            )
        )
    if not token.get("path"):
        errs.append(required(f"{projected_path}.path"))
    else:
        errs += validate_local_non_reserved_path(token["path"], f"{projected_path}.path")
    return errs


def validate_csi_driver_name(driver: str, path: str) -> list[FieldError]:
    errs = [] if driver else [required(path)]
    if len(driver) > 63:
        errs.append(too_long(path, 63))
    errs += [invalid(path, driver, m) for m in is_dns1123_subdomain(driver.lower())]
    return errs


def _validate_csi(source: Obj, path: str) -> list[FieldError]:
    errs = validate_csi_driver_name(source.get("driver") or "", f"{path}.driver")
    secret = source.get("nodePublishSecretRef")
    if secret is not None:
        name = secret.get("name") or ""
        if not name:
            errs.append(required(f"{path}.nodePublishSecretRef.name"))
        else:
            errs += [invalid(f"{path}.name", name, m) for m in name_is_dns_subdomain(name)]
    return errs


def _validate_ephemeral(source: Obj, path: str) -> list[FieldError]:
    template = source.get("volumeClaimTemplate")
    if template is None:
        return [required(f"{path}.volumeClaimTemplate")]
    item = f"{path}.volumeClaimTemplate"
    errs = validate_template_metadata(template.get("metadata"), f"{item}.metadata")
    return errs + validate_claim_spec(template.get("spec") or {}, f"{item}.spec")


def validate_template_metadata(meta: Any, path: str) -> list[FieldError]:
    """Embedded metadata that may only carry labels and annotations."""
    meta = meta or {}
    errs = validate_annotations(meta.get("annotations"), f"{path}.annotations")
    errs += validate_labels(meta.get("labels"), f"{path}.labels")
    for key, value in meta.items():
        if key not in ("labels", "annotations") and value not in (None, "", {}, [], 0):
            errs.append(forbidden(f"{path}.{key}", "cannot be set"))
    return errs


def _validate_image(source: Obj, path: str) -> list[FieldError]:
    errs = [] if source.get("reference") else [required(f"{path}.reference")]
    policy = source.get("pullPolicy")
    if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
        errs.append(
            not_supported(f"{path}.pullPolicy", policy, ["Always", "IfNotPresent", "Never"])
        )
    return errs


_SOURCE_VALIDATORS = {
    "emptyDir": _validate_empty_dir,
    "hostPath": validate_host_path,
    "gitRepo": _validate_git_repo,
    "secret": _validate_secret,
    "nfs": validate_nfs,
    "persistentVolumeClaim": _validate_claim_ref,
    "downwardAPI": _validate_downward_api,
    "configMap": _validate_config_map,
    "projected": _validate_projected,
    "csi": _validate_csi,
    "ephemeral": _validate_ephemeral,
    "image": _validate_image,
}


# --- persistent volume claims -------------------------------------------------------------


def access_mode_errors(modes: list[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    has_rwop = has_other = False
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.append(not_supported(path, mode, ACCESS_MODES))
        elif mode == "ReadWriteOncePod":
            has_rwop = True
        else:
            has_other = True
    if has_rwop and has_other:
        errs.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errs


def validate_claim_spec(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not spec.get("accessModes"):
        errs.append(required(f"{path}.accessModes", "at least 1 access mode is required"))
    if spec.get("selector") is not None:
        errs += validate_selector(spec["selector"], f"{path}.selector")
    errs += access_mode_errors(spec.get("accessModes") or [], f"{path}.accessModes")
    storage = dig(spec, "resources", "requests", "storage")
    storage_path = f"{path}.resources[storage]"
    if storage is None:
        errs.append(required(storage_path))
    else:
        positive = validate_positive_quantity(storage, storage_path)
        errs += positive or validate_quantity_value("storage", storage, storage_path)
    class_name = spec.get("storageClassName")
    if class_name:
        errs += [
            invalid(f"{path}.storageClassName", class_name, m)
            for m in name_is_dns_subdomain(class_name)
        ]
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        errs.append(not_supported(f"{path}.volumeMode", mode, VOLUME_MODES))
    errs += _validate_data_sources(spec, path)
    return errs


def _validate_data_sources(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    source, ref = spec.get("dataSource"), spec.get("dataSourceRef")
    if source is not None:
        errs += _validate_data_source(source, f"{path}.dataSource")
    if ref is not None:
        errs += _validate_data_source(ref, f"{path}.dataSourceRef")
        namespace = ref.get("namespace")
        if namespace:
            errs += [
                invalid(f"{path}.dataSourceRef.namespace", namespace, m)
                for m in validate_namespace_name(namespace)
            ]
    if ref is not None and ref.get("namespace"):
        if source is not None:
            errs.append(
                invalid(
                    path,
                    f"{path}.dataSource",
                    "may not be specified when dataSourceRef.namespace is specified",
                )
            )
    elif source is not None and ref is not None:
        same = all(source.get(k) == ref.get(k) for k in ("apiGroup", "kind", "name"))
        if not same:
            errs.append(invalid(path, f"{path}.dataSource", "must match dataSourceRef"))
    return errs


def _validate_data_source(source: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not source.get("name"):
        errs.append(required(f"{path}.name"))
    kind = source.get("kind") or ""
    if not kind:
        errs.append(required(f"{path}.kind"))
    group = source.get("apiGroup") or ""
    if not group and kind != "PersistentVolumeClaim":
        errs.append(
            invalid(
                path, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"
            )
        )
    if group:
        errs += validate_dns1123_subdomain(group, f"{path}.apiGroup")
    return errs
