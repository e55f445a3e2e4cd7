"""Containers: v1 defaults and validation of regular, init and ephemeral containers.

Follows SetDefaults_Container/SetDefaults_Probe/... (pkg/apis/core/v1/defaults.go and the
generated defaulters) and validateContainerCommon and its callees in
pkg/apis/core/validation/validation.go, with the feature gates as 1.33 ships them (relaxed
environment variable names, zero-second sleep actions, sidecar containers).
Field paths and messages are upstream's, including its quirks (a mount's subPath error is
reported at ``volumeMounts.subPath``, without the index).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import dig, items
from pilothouse.api.kinds.resource_names import parse, round_up_resource_list, validate_requirements
from pilothouse.api.validation import (
    is_config_map_key,
    is_env_var_name,
    is_http_header_name,
    is_valid_port_name,
    is_valid_port_num,
    is_valid_user_id,
    name_is_dns_subdomain,
    not_found,
    too_long,
    validate_dns1123_label,
    validate_qualified_name,
)

Obj = dict[str, Any]

TERMINATION_MESSAGE_PATH = "/dev/termination-log"
PROTOCOLS = ["SCTP", "TCP", "UDP"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_ENV_FIELD_PATHS = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
]
_DOWNWARD_API_LABELS = frozenset(
    {
        "metadata.annotations",
        "metadata.labels",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.serviceAccountName",
        "spec.schedulerName",
        "status.phase",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
    }
)
RESOURCE_FIELD_PATHS = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
]
_HUGEPAGES_FIELD_PREFIXES = ("limits.hugepages-", "requests.hugepages-")
_BYTE_DIVISORS = frozenset(
    {
        "1",
        "1k",
        "1M",
        "1G",
        "1T",
        "1P",
        "1E",
        "1Ki",
        "1Mi",
        "1Gi",
        "1Ti",
        "1Pi",
        "1Ei",
    }
)
_BYTE_DIVISOR_TEXT = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei"

# distribution/reference grammar, enough to find an image's tag.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE_RE = re.compile(
    rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::(?P<tag>{_TAG}))?(?:@{_DIGEST})?"
)


# --- defaults -----------------------------------------------------------------------------


def image_tag(image: str) -> str:
    """The tag Kubernetes reads from an image reference: "latest" when neither tag nor
    digest is given, "" for digest-only or unparsable references."""
    match = _REFERENCE_RE.fullmatch(image)
    if match is None or len(image.split("@")[0]) > 255:
        return ""
    first = image.split("/")[0]
    has_domain = "/" in image and (
        "." in first or ":" in first or first == "localhost" or first != first.lower()
    )
    if not has_domain and first != first.lower():
        return ""
    if match.group("tag"):
        return match.group("tag")
    return "" if "@" in image else "latest"


def default_container(container: Obj) -> None:
    if not container.get("imagePullPolicy"):
        tag = image_tag(container.get("image") or "")
        container["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    if not container.get("terminationMessagePath"):
        container["terminationMessagePath"] = TERMINATION_MESSAGE_PATH
    if not container.get("terminationMessagePolicy"):
        container["terminationMessagePolicy"] = "File"
    for _, port in items(container, "ports"):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for _, env in items(container, "env"):
        field_ref = dig(env, "valueFrom", "fieldRef")
        if isinstance(field_ref, dict):
            default_field_ref(field_ref)
    resources = container.get("resources")
    if isinstance(resources, dict):
        round_up_resource_list(resources.get("limits"))
        round_up_resource_list(resources.get("requests"))
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if isinstance(probe, dict):
            default_probe(probe)
    for hook in ("postStart", "preStop"):
        handler = dig(container, "lifecycle", hook)
        if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
            default_http_get(handler["httpGet"])


def default_field_ref(field_ref: Obj) -> None:
    if not field_ref.get("apiVersion"):
        field_ref["apiVersion"] = "v1"


def default_probe(probe: Obj) -> None:
    # Zero means unset for these int32 fields, as in Go.
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(key):
            probe[key] = value
    if isinstance(probe.get("httpGet"), dict):
        default_http_get(probe["httpGet"])
    grpc = probe.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""


def default_http_get(action: Obj) -> None:
    if not action.get("path"):
        action["path"] = "/"
    if not action.get("scheme"):
        action["scheme"] = "HTTP"


def default_requests_from_limits(container: Obj) -> None:
    """SetDefaults_Pod: a limit without a request makes the request equal to the limit."""
    resources = container.get("resources")
    if not isinstance(resources, dict) or not resources.get("limits"):
        return
    requests = resources.setdefault("requests", {})
    for name, value in resources["limits"].items():
        requests.setdefault(name, value)


# --- validation ---------------------------------------------------------------------------


class PodContext:
    """What container validation needs to know about the pod around it."""

    def __init__(self, spec: Mapping[str, Any], volumes: Mapping[str, Obj], claims: frozenset[str]):
        self.volumes = volumes
        self.claims = claims
        self.grace_period: int | None = spec.get("terminationGracePeriodSeconds")
        self.restart_policy: str = spec.get("restartPolicy") or ""
        host_users = dig(spec, "securityContext", "hostUsers")
        self.host_users = host_users is None or bool(host_users)


def validate_containers(containers: Any, ctx: PodContext, path: str) -> list[FieldError]:
    if not containers:
        return [required(path)]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, container in items({"c": containers}, "c"):
        item = f"{path}[{i}]"
        errs += _validate_common(container, ctx, item)
        name = container.get("name") or ""
        if name in names:
            errs.append(duplicate(f"{item}.name", name))
        names.add(name)
        errs += _validate_lifecycle_and_probes(container, ctx, item)
        if container.get("restartPolicy") is not None:
            errs.append(
                forbidden(f"{item}.restartPolicy", "may not be set for non-init containers")
            )
    errs += _host_port_conflicts(containers, path)
    return errs


def validate_init_containers(
    containers: Any, regular: Any, ctx: PodContext, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    names = {c.get("name") for _, c in items({"c": regular}, "c")}
    for i, container in items({"c": containers}, "c"):
        item = f"{path}[{i}]"
        errs += _validate_common(container, ctx, item)
        restart_policy = container.get("restartPolicy")
        if restart_policy is not None and restart_policy != "Always":
            errs.append(not_supported(f"{item}.restartPolicy", restart_policy, ["Always"]))
        name = container.get("name") or ""
        if name in names:
            errs.append(duplicate(f"{item}.name", name))
        elif name:
            names.add(name)
        errs += _host_port_conflicts([container], path)
        if restart_policy == "Always":
            errs += _validate_lifecycle_and_probes(container, ctx, item)
        else:
            for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if container.get(key) is not None:
                    errs.append(
                        forbidden(
                            f"{item}.{key}",
                            "may not be set for init containers without restartPolicy=Always",
                        )
                    )
    return errs


_EPHEMERAL_FORBIDDEN = (
    "ports",
    "resources",
    "lifecycle",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "resizePolicy",
    "restartPolicy",
)


def validate_ephemeral_containers(
    containers: Any, spec: Mapping[str, Any], ctx: PodContext, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    others = {
        c.get("name") for key in ("containers", "initContainers") for _, c in items(spec, key)
    }
    names = set(others)
    for i, container in items({"c": containers}, "c"):
        item = f"{path}[{i}]"
        errs += _validate_common(container, ctx, item)
        errs += validate_image_whitespace(container, item)
        name = container.get("name") or ""
        if name in names:
            errs.append(duplicate(f"{item}.name", name))
        names.add(name)
        target = container.get("targetContainerName") or ""
        if target and target not in others:
            errs.append(not_found(f"{item}.targetContainerName", target))
        for key in _EPHEMERAL_FORBIDDEN:
            if container.get(key) not in (None, [], {}):
                errs.append(forbidden(f"{item}.{key}", "cannot be set for an Ephemeral Container"))
        for j, mount in items(container, "volumeMounts"):
            for key in ("subPath", "subPathExpr"):
                if mount.get(key):
                    errs.append(
                        forbidden(
                            f"{item}.volumeMounts[{j}].{key}",
                            "cannot be set for an Ephemeral Container",
                        )
                    )
    return errs


def validate_image_whitespace(container: Obj, path: str) -> list[FieldError]:
    """Pods (not templates) may not have images padded with whitespace."""
    image = container.get("image") or ""
    if image != image.strip():
        return [invalid(f"{path}.image", image, "must not have leading or trailing whitespace")]
    return []


def _validate_common(container: Obj, ctx: PodContext, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = container.get("name") or ""
    errs += validate_dns1123_label(name, f"{path}.name") if name else [required(f"{path}.name")]
    if not container.get("image"):
        errs.append(required(f"{path}.image"))
    policy = container.get("terminationMessagePolicy") or ""
    if not policy:
        errs.append(required(f"{path}.terminationMessagePolicy"))
    elif policy not in ("File", "FallbackToLogsOnError"):
        errs.append(
            not_supported(
                f"{path}.terminationMessagePolicy", policy, ["File", "FallbackToLogsOnError"]
            )
        )
    mounts = {
        str(m.get("name") or ""): m.get("mountPath") for _, m in items(container, "volumeMounts")
    }
    devices = {
        str(d.get("name") or ""): d.get("devicePath") for _, d in items(container, "volumeDevices")
    }
    errs += _validate_ports(container.get("ports"), f"{path}.ports")
    errs += _validate_env(container.get("env"), f"{path}.env")
    errs += _validate_env_from(container.get("envFrom"), f"{path}.envFrom")
    errs += _validate_mounts(container, devices, ctx, f"{path}.volumeMounts")
    errs += _validate_devices(container.get("volumeDevices"), mounts, ctx, f"{path}.volumeDevices")
    errs += _validate_pull_policy(container.get("imagePullPolicy") or "", f"{path}.imagePullPolicy")
    errs += validate_requirements(
        container.get("resources"), f"{path}.resources", claim_names=ctx.claims
    )
    errs += _validate_resize_policy(container.get("resizePolicy"), ctx, f"{path}.resizePolicy")
    errs += validate_security_context(
        container.get("securityContext"), ctx, f"{path}.securityContext"
    )
    return errs


def _validate_ports(ports: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in items({"p": ports}, "p"):
        item = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            messages = is_valid_port_name(name)
            if messages:
                errs += [invalid(f"{item}.name", name, m) for m in messages]
            elif name in names:
                errs.append(duplicate(f"{item}.name", name))
            else:
                names.add(name)
        container_port = port.get("containerPort") or 0
        if not container_port:
            errs.append(required(f"{item}.containerPort"))
        else:
            errs += [
                invalid(f"{item}.containerPort", container_port, m)
                for m in is_valid_port_num(container_port)
            ]
        host_port = port.get("hostPort") or 0
        if host_port:
            errs += [
                invalid(f"{item}.hostPort", host_port, m) for m in is_valid_port_num(host_port)
            ]
        errs += validate_protocol(port.get("protocol") or "", f"{item}.protocol")
    return errs


def validate_protocol(protocol: str, path: str) -> list[FieldError]:
    if not protocol:
        return [required(path)]
    if protocol not in PROTOCOLS:
        return [not_supported(path, protocol, PROTOCOLS)]
    return []


def _host_port_conflicts(containers: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, container in items({"c": containers}, "c"):
        for j, port in items(container, "ports"):
            host_port = port.get("hostPort") or 0
            if not host_port:
                continue
            key = f"{port.get('protocol') or ''}/{port.get('hostIP') or ''}/{host_port}"
            if key in seen:
                errs.append(duplicate(f"{path}[{i}].ports[{j}].hostPort", key))
            seen.add(key)
    return errs


def _validate_env(env: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, var in items({"e": env}, "e"):
        item = f"{path}[{i}]"
        name = var.get("name") or ""
        if not name:
            errs.append(required(f"{item}.name"))
        else:
            errs += [invalid(f"{item}.name", name, m) for m in is_env_var_name(name)]
        errs += _validate_env_value_from(var, f"{item}.valueFrom")
    return errs


def _validate_env_value_from(var: Obj, path: str) -> list[FieldError]:
    source = var.get("valueFrom")
    if source is None:
        return []
    errs: list[FieldError] = []
    count = 0
    if source.get("fieldRef") is not None:
        count += 1
        errs += validate_field_ref(source["fieldRef"], _ENV_FIELD_PATHS, f"{path}.fieldRef")
    if source.get("resourceFieldRef") is not None:
        count += 1
        errs += validate_resource_field_ref(
            source["resourceFieldRef"], f"{path}.resourceFieldRef", in_volume=False
        )
    for key in ("configMapKeyRef", "secretKeyRef"):
        if source.get(key) is not None:
            count += 1
            errs += _validate_key_selector(source[key], f"{path}.{key}")
    if count == 0:
        errs.append(
            invalid(
                path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, "
                "`configMapKeyRef` or `secretKeyRef`",
            )
        )
    elif var.get("value"):
        errs.append(invalid(path, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def split_subscripted(field_path: str) -> tuple[str, str] | None:
    """("metadata.labels", "app") for "metadata.labels['app']", else None."""
    if not field_path.endswith("']"):
        return None
    head, sep, subscript = field_path[:-2].partition("['")
    if not sep or not head:
        return None
    return head, subscript


def validate_field_ref(ref: Obj, allowed: list[str], path: str) -> list[FieldError]:
    """An ObjectFieldSelector of the downward API."""
    api_version = ref.get("apiVersion") or ""
    field_path = ref.get("fieldPath") or ""
    if not api_version:
        return [required(f"{path}.apiVersion")]
    if not field_path:
        return [required(f"{path}.fieldPath")]
    error = _downward_api_label_error(api_version, field_path)
    if error:
        return [invalid(f"{path}.fieldPath", field_path, f"error converting fieldPath: {error}")]
    internal = "spec.nodeName" if field_path == "spec.host" else field_path
    subscripted = split_subscripted(internal)
    if subscripted is not None:
        head, subscript = subscripted
        key = subscript.lower() if head == "metadata.annotations" else subscript
        return validate_qualified_name(key, path)
    if internal not in allowed:
        return [not_supported(f"{path}.fieldPath", internal, allowed)]
    return []


def _downward_api_label_error(api_version: str, label: str) -> str:
    if api_version != "v1":
        return f"unsupported pod version: {api_version}"
    subscripted = split_subscripted(label)
    if subscripted is not None:
        if subscripted[0] in ("metadata.annotations", "metadata.labels"):
            return ""
        return f"field label does not support subscript: {label}"
    if label in _DOWNWARD_API_LABELS or label == "spec.host":
        return ""
    return f"field label not supported: {label}"


def validate_resource_field_ref(ref: Obj, path: str, *, in_volume: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    resource = ref.get("resource") or ""
    if in_volume and not ref.get("containerName"):
        errs.append(required(f"{path}.containerName"))
    elif not resource:
        errs.append(required(f"{path}.resource"))
    elif resource not in RESOURCE_FIELD_PATHS and not resource.startswith(
        _HUGEPAGES_FIELD_PREFIXES
    ):
        errs.append(not_supported(f"{path}.resource", resource, RESOURCE_FIELD_PATHS))
    errs += _validate_divisor(resource, ref.get("divisor"), path)
    return errs


def _validate_divisor(resource: str, divisor: Any, path: str) -> list[FieldError]:
    quantity = parse(divisor) if divisor is not None else None
    if quantity is None or quantity.is_zero():
        return []
    text = str(quantity)
    kind = {
        "limits.cpu": "cpu",
        "requests.cpu": "cpu",
        "limits.memory": "memory",
        "requests.memory": "memory",
        "limits.ephemeral-storage": "local ephemeral storage",
        "requests.ephemeral-storage": "local ephemeral storage",
    }.get(resource)
    if resource.startswith(_HUGEPAGES_FIELD_PREFIXES):
        kind = "hugepages"
    if kind == "cpu" and text not in ("1m", "1"):
        return [
            invalid(
                f"{path}.divisor",
                resource,
                "only divisor's values 1m and 1 are supported with the cpu resource",
            )
        ]
    if kind not in (None, "cpu") and text not in _BYTE_DIVISORS:
        return [
            invalid(
                f"{path}.divisor",
                resource,
                f"only divisor's values {_BYTE_DIVISOR_TEXT} are supported with the "
                f"{kind} resource",
            )
        ]
    return []


def _validate_key_selector(selector: Obj, path: str) -> list[FieldError]:
    name = selector.get("name") or ""
    errs = [invalid(f"{path}.name", name, m) for m in name_is_dns_subdomain(name)]
    key = selector.get("key") or ""
    if not key:
        errs.append(required(f"{path}.key"))
    else:
        errs += [invalid(f"{path}.key", key, m) for m in is_config_map_key(key)]
    return errs


def _validate_env_from(sources: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, source in items({"e": sources}, "e"):
        item = f"{path}[{i}]"
        prefix = source.get("prefix") or ""
        if prefix:
            errs += [invalid(f"{item}.prefix", prefix, m) for m in is_env_var_name(prefix)]
        count = 0
        for key in ("configMapRef", "secretRef"):
            ref = source.get(key)
            if ref is None:
                continue
            count += 1
            name = ref.get("name") or ""
            if not name:
                errs.append(required(f"{item}.{key}.name"))
            else:
                errs += [
                    invalid(f"{item}.{key}.name", name, m)
                    for m in name_is_dns_subdomain(name, True)
                ]
        if count == 0:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def validate_relative_path(target: str, path: str) -> list[FieldError]:
    """validateLocalDescendingPath: relative, without '..' elements."""
    errs: list[FieldError] = []
    if target.startswith("/"):
        errs.append(invalid(path, target, "must be a relative path"))
    errs += validate_no_backsteps(target, path)
    return errs


def validate_no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.replace("\\", "/").split("/"):
        return [invalid(path, target, "must not contain '..'")]
    return []


def validate_local_non_reserved_path(target: str, path: str) -> list[FieldError]:
    errs = validate_relative_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(invalid(path, target, "must not start with '..'"))
    return errs


def _validate_mounts(
    container: Obj, devices: Mapping[str, Any], ctx: PodContext, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    mount_points: set[str] = set()
    for i, mount in items(container, "volumeMounts"):
        item = f"{path}[{i}]"
        name = mount.get("name") or ""
        mount_path = mount.get("mountPath") or ""
        if not name:
            errs.append(required(f"{item}.name"))
        if name not in ctx.volumes:
            errs.append(not_found(f"{item}.name", name))
        if not mount_path:
            errs.append(required(f"{item}.mountPath"))
        if mount_path in mount_points:
            errs.append(invalid(f"{item}.mountPath", mount_path, "must be unique"))
        mount_points.add(mount_path)
        if name in devices:
            errs.append(invalid(f"{item}.name", name, "must not already exist in volumeDevices"))
        if mount_path in devices.values():
            errs.append(
                invalid(
                    f"{item}.mountPath",
                    mount_path,
                    "must not already exist as a path in volumeDevices",
                )
            )
        errs += _validate_sub_paths(mount, ctx, item, path)
        errs += _validate_propagation(mount, container, path)
    return errs


def _validate_sub_paths(mount: Obj, ctx: PodContext, item: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    sub_path = mount.get("subPath") or ""
    sub_path_expr = mount.get("subPathExpr") or ""
    if "image" in (ctx.volumes.get(mount.get("name") or "") or {}):
        if sub_path:
            errs.append(invalid(f"{item}.subPath", sub_path, "not allowed in image volume sources"))
        if sub_path_expr:
            errs.append(
                invalid(f"{item}.subPathExpr", sub_path_expr, "not allowed in image volume sources")
            )
    if sub_path:
        errs += validate_relative_path(sub_path, f"{path}.subPath")
    if sub_path_expr:
        if sub_path:
            errs.append(
                invalid(
                    f"{item}.subPathExpr",
                    sub_path_expr,
                    "subPathExpr and subPath are mutually exclusive",
                )
            )
        errs += validate_relative_path(sub_path_expr, f"{path}.subPathExpr")
    return errs


def _validate_propagation(mount: Obj, container: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    propagation = mount.get("mountPropagation")
    if propagation is not None:
        supported = ["Bidirectional", "HostToContainer", "None"]
        if propagation not in supported:
            errs.append(not_supported(f"{path}.mountPropagation", propagation, supported))
        privileged = dig(container, "securityContext", "privileged") is True
        if propagation == "Bidirectional" and not privileged:
            errs.append(
                forbidden(
                    f"{path}.mountPropagation",
                    "Bidirectional mount propagation is available only to privileged containers",
                )
            )
    rro = mount.get("recursiveReadOnly")
    if rro is None or rro == "Disabled":
        return errs
    rro_path = f"{path}.recursiveReadOnly"
    if rro in ("Enabled", "IfPossible"):
        if not mount.get("readOnly"):
            errs.append(forbidden(rro_path, "may only be specified when readOnly is true"))
        if propagation not in (None, "None"):
            errs.append(
                forbidden(
                    rro_path, "may only be specified when mountPropagation is None or not specified"
                )
            )
    else:
        errs.append(not_supported(rro_path, rro, ["Disabled", "Enabled", "IfPossible"]))
    return errs


def _validate_devices(
    devices: Any, mounts: Mapping[str, Any], ctx: PodContext, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    paths: set[str] = set()
    names: set[str] = set()
    for i, device in items({"d": devices}, "d"):
        item = f"{path}[{i}]"
        name = device.get("name") or ""
        device_path = device.get("devicePath") or ""
        source = ctx.volumes.get(name)
        if not name:
            errs.append(required(f"{item}.name"))
        if name in names:
            errs.append(invalid(f"{item}.name", name, "must be unique"))
        if source is not None and not ({"persistentVolumeClaim", "ephemeral"} & set(source)):
            errs.append(
                invalid(
                    f"{item}.name",
                    name,
                    "can only use volume source type of "
                    "PersistentVolumeClaim or Ephemeral for block mode",
                )
            )
        if source is None:
            errs.append(not_found(f"{item}.name", name))
        if not device_path:
            errs.append(required(f"{item}.devicePath"))
        if device_path in paths:
            errs.append(invalid(f"{item}.devicePath", device_path, "must be unique"))
        if device_path and validate_no_backsteps(device_path, path):
            errs.append(
                invalid(f"{item}.devicePath", device_path, "can not contain backsteps ('..')")
            )
        else:
            paths.add(device_path)
        if name in mounts:
            errs.append(invalid(f"{item}.name", name, "must not already exist in volumeMounts"))
        if device_path in mounts.values():
            errs.append(
                invalid(
                    f"{item}.devicePath",
                    device_path,
                    "must not already exist as a path in volumeMounts",
                )
            )
        if name:
            names.add(name)
    return errs


def _validate_pull_policy(policy: str, path: str) -> list[FieldError]:
    if not policy:
        return [required(path)]
    if policy not in PULL_POLICIES:
        return [not_supported(path, policy, PULL_POLICIES)]
    return []


def _validate_resize_policy(policies: Any, ctx: PodContext, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, policy in items({"p": policies}, "p"):
        resource = policy.get("resourceName") or ""
        restart = policy.get("restartPolicy") or ""
        if resource in seen:
            errs.append(duplicate(f"{path}[{i}]", resource))
        seen.add(resource)
        if not resource:
            errs.append(required(path))
        elif resource not in ("cpu", "memory"):
            errs.append(not_supported(path, resource, ["cpu", "memory"]))
        if not restart:
            errs.append(required(path))
        elif restart not in ("NotRequired", "RestartContainer"):
            errs.append(not_supported(path, restart, ["NotRequired", "RestartContainer"]))
        if ctx.restart_policy == "Never" and restart != "NotRequired":
            errs.append(
                invalid(path, restart, "must be 'NotRequired' when `restartPolicy` is 'Never'")
            )
    return errs


def _validate_lifecycle_and_probes(container: Obj, ctx: PodContext, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    lifecycle = container.get("lifecycle")
    if lifecycle is not None:
        for hook in ("postStart", "preStop"):
            if lifecycle.get(hook) is not None:
                errs += _validate_handler(
                    lifecycle[hook],
                    ("exec", "httpGet", "tcpSocket", "sleep"),
                    ctx,
                    f"{path}.lifecycle.{hook}",
                )
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(key)
        if probe is None:
            continue
        item = f"{path}.{key}"
        errs += _validate_probe(probe, ctx, item)
        if key != "readinessProbe" and probe.get("successThreshold", 0) != 1:
            errs.append(
                invalid(f"{item}.successThreshold", probe.get("successThreshold", 0), "must be 1")
            )
        if key == "readinessProbe" and probe.get("terminationGracePeriodSeconds") is not None:
            errs.append(
                invalid(
                    f"{item}.terminationGracePeriodSeconds",
                    probe["terminationGracePeriodSeconds"],
                    "must not be set for readinessProbes",
                )
            )
    return errs


def _validate_probe(probe: Obj, ctx: PodContext, path: str) -> list[FieldError]:
    errs = _validate_handler(probe, ("exec", "httpGet", "tcpSocket", "grpc"), ctx, path)
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        value = probe.get(key) or 0
        if value < 0:
            errs.append(invalid(f"{path}.{key}", value, "must be greater than or equal to 0"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and grace <= 0:
        errs.append(
            invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
        )
    return errs


def _validate_handler(
    handler: Obj, kinds: tuple[str, ...], ctx: PodContext, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    found = 0
    for kind in ("exec", "httpGet", "tcpSocket", "grpc", "sleep"):
        action = handler.get(kind) if kind in kinds else None
        if action is None:
            continue
        if found:
            errs.append(forbidden(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        found += 1
        errs += _validate_action(kind, action, ctx, f"{path}.{kind}")
    if not found:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _validate_action(kind: str, action: Obj, ctx: PodContext, path: str) -> list[FieldError]:
    if kind == "exec":
        return [] if action.get("command") else [required(f"{path}.command")]
    if kind == "httpGet":
        errs = [] if action.get("path") else [required(f"{path}.path")]
        errs += validate_port_num_or_name(action.get("port"), f"{path}.port")
        scheme = action.get("scheme") or ""
        if scheme not in ("HTTP", "HTTPS"):
            errs.append(not_supported(f"{path}.scheme", scheme, ["HTTP", "HTTPS"]))
        for header in action.get("httpHeaders") or []:
            name = (header or {}).get("name") or ""
            errs += [invalid(f"{path}.httpHeaders", name, m) for m in is_http_header_name(name)]
        return errs
    if kind in ("tcpSocket", "grpc"):
        return validate_port_num_or_name(action.get("port"), f"{path}.port")
    seconds = action.get("seconds") or 0
    grace = ctx.grace_period
    if grace is not None and not 0 <= seconds <= grace:
        return [
            invalid(
                path,
                seconds,
                f"must be non-negative and less than terminationGracePeriodSeconds ({grace})",
            )
        ]
    return []


def validate_port_num_or_name(port: Any, path: str) -> list[FieldError]:
    """An IntOrString port: a number 1-65535 or an IANA service name."""
    if isinstance(port, str):
        return [invalid(path, port, m) for m in is_valid_port_name(port)]
    number = port if isinstance(port, int) else 0
    return [invalid(path, number, m) for m in is_valid_port_num(number)]


def validate_security_context(context: Any, ctx: PodContext, path: str) -> list[FieldError]:
    if not isinstance(context, dict):
        return []
    errs: list[FieldError] = []
    for key in ("runAsUser", "runAsGroup"):
        value = context.get(key)
        if value is not None:
            errs += [invalid(f"{path}.{key}", value, m) for m in is_valid_user_id(value)]
    proc_mount = context.get("procMount")
    if proc_mount is not None:
        if proc_mount not in ("Default", "Unmasked"):
            errs.append(not_supported(f"{path}.procMount", proc_mount, ["Default", "Unmasked"]))
        if ctx.host_users and proc_mount == "Unmasked":
            errs.append(
                invalid(
                    f"{path}.procMount", proc_mount, "`hostUsers` must be false to use `Unmasked`"
                )
            )
    errs += validate_seccomp_profile(context.get("seccompProfile"), f"{path}.seccompProfile")
    if context.get("allowPrivilegeEscalation") is False:
        if context.get("privileged") is True:
            errs.append(
                invalid(
                    path,
                    context,
                    "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                )
            )
        if "CAP_SYS_ADMIN" in (dig(context, "capabilities", "add") or []):
            errs.append(
                invalid(
                    path,
                    context,
                    "cannot set `allowPrivilegeEscalation` to false "
                    "and `capabilities.Add` CAP_SYS_ADMIN",
                )
            )
    errs += validate_apparmor_profile(context.get("appArmorProfile"), f"{path}.appArmorProfile")
    return errs


def validate_seccomp_profile(profile: Any, path: str) -> list[FieldError]:
    if not isinstance(profile, dict):
        return []
    errs: list[FieldError] = []
    kind = profile.get("type") or ""
    supported = ["Localhost", "RuntimeDefault", "Unconfined"]
    if not kind:
        errs.append(required(f"{path}.type", "type is required when seccompProfile is set"))
    elif kind not in supported:
        errs.append(not_supported(f"{path}.type", kind, supported))
    localhost = profile.get("localhostProfile")
    if kind == "Localhost":
        if localhost is None:
            errs.append(
                required(f"{path}.localhostProfile", "must be set when seccomp type is Localhost")
            )
        else:
            errs += validate_relative_path(localhost, f"{path}.localhostProfile")
    elif localhost is not None:
        errs.append(
            invalid(
                f"{path}.localhostProfile",
                profile,
                "can only be set when seccomp type is Localhost",
            )
        )
    return errs


def validate_apparmor_profile(profile: Any, path: str) -> list[FieldError]:
    if not isinstance(profile, dict):
        return []
    kind = profile.get("type") or ""
    localhost = profile.get("localhostProfile")
    if kind == "Localhost":
        if localhost is None or localhost.strip() == "" and localhost == localhost.strip():
            return [
                required(f"{path}.localhostProfile", "must be set when AppArmor type is Localhost")
            ]
        errs: list[FieldError] = []
        if localhost != localhost.strip():
            errs.append(
                invalid(f"{path}.localhostProfile", localhost, "must not be padded with whitespace")
            )
        if len(localhost) > 4095:
            errs.append(too_long(f"{path}.localhostProfile", 4095))
        return errs
    if kind in ("RuntimeDefault", "Unconfined"):
        if localhost is not None:
            return [
                invalid(
                    f"{path}.localhostProfile",
                    localhost,
                    "can only be set when AppArmor type is Localhost",
                )
            ]
        return []
    if not kind:
        return [required(f"{path}.type", "type is required when appArmorProfile is set")]
    return [not_supported(f"{path}.type", kind, ["Localhost", "RuntimeDefault", "Unconfined"])]
