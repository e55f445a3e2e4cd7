"""Pod specs and pod templates: v1 defaults and ValidatePodSpec, shared by Pods, PodTemplates
and every workload's template.

``default_pod_spec`` does what SetDefaults_PodSpec and the generated defaulters do for
everything inside a PodSpec (containers, volumes, probes, resources); it does not do what only
Pods get (SetDefaults_Pod: requests from limits, service links, host network ports), which
lives in ``kinds/pod.py``. The deprecated ``serviceAccount`` field is kept in step with
``serviceAccountName`` as the v1 conversion keeps it.

``validate_pod_spec`` checks in the order ValidatePodSpec does, so error lists match upstream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import dig, ensure, items, validate_selector
from pilothouse.api.kinds.containers import (
    PodContext,
    default_container,
    validate_apparmor_profile,
    validate_containers,
    validate_ephemeral_containers,
    validate_init_containers,
    validate_relative_path,
    validate_seccomp_profile,
)
from pilothouse.api.kinds.resource_names import round_up_resource_list, validate_requirements
from pilothouse.api.kinds.volumes import default_volume, validate_volumes
from pilothouse.api.validation import (
    inclusive_range_error,
    is_label_value,
    is_valid_user_id,
    max_len_error,
    name_is_dns_subdomain,
    regex_error,
    validate_annotations,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_ip,
    validate_labels,
    validate_namespace_name,
    validate_qualified_name,
    validate_with,
)

Obj = dict[str, Any]

DEFAULT_GRACE_PERIOD = 30
DEFAULT_SCHEDULER = "default-scheduler"
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_MAX_INT32 = 2**31 - 1
_SYSCTL_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
_SYSCTL_FMT = "(" + _SYSCTL_SEGMENT + "[\\./])*" + _SYSCTL_SEGMENT
_SYSCTL_RE = re.compile(_SYSCTL_FMT)
_NET_SYSCTL_PREFIXES = ("net.",)
_IPC_SYSCTL_PREFIXES = ("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.")


# --- defaults -----------------------------------------------------------------------------


def default_pod_spec(spec: Obj) -> None:
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_GRACE_PERIOD
    if not spec.get("schedulerName"):
        spec["schedulerName"] = DEFAULT_SCHEDULER
    for _, volume in items(spec, "volumes"):
        default_volume(volume)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for _, container in items(spec, key):
            default_container(container)
    round_up_resource_list(spec.get("overhead"))
    sync_service_account(spec)


def sync_service_account(spec: Obj) -> None:
    """The v1 conversion: serviceAccountName wins, serviceAccount mirrors it."""
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or ""
    if name:
        spec["serviceAccountName"] = name
        spec["serviceAccount"] = name


def default_pod_template(template: Obj) -> None:
    default_pod_spec(ensure(template, "spec"))


# --- validation ---------------------------------------------------------------------------


def validate_pod_template(template: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """ValidatePodTemplateSpec: template metadata and spec, no ephemeral containers."""
    if template is None:
        return [required(path)]
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    errs = validate_labels(meta.get("labels"), f"{path}.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.annotations")
    errs += validate_pod_annotations(meta.get("annotations") or {}, spec, f"{path}.annotations")
    errs += validate_pod_spec(spec, f"{path}.spec")
    if spec.get("ephemeralContainers"):
        errs.append(
            forbidden(
                f"{path}.spec.ephemeralContainers",
                "ephemeral containers not allowed in pod template",
            )
        )
    return errs


def validate_pod_annotations(
    annotations: Mapping[str, str], spec: Mapping[str, Any], path: str
) -> list[FieldError]:
    """ValidatePodSpecificAnnotations (mirror pods, deletion cost, seccomp)."""
    errs: list[FieldError] = []
    if "kubernetes.io/config.mirror" in annotations and not spec.get("nodeName"):
        errs.append(
            invalid(
                f"{path}[kubernetes.io/config.mirror]",
                annotations["kubernetes.io/config.mirror"],
                "must set spec.nodeName if mirror pod annotation is set",
            )
        )
    cost = annotations.get("controller.kubernetes.io/pod-deletion-cost")
    if cost is not None and not _is_int32(cost):
        errs.append(
            invalid(
                f"{path}[controller.kubernetes.io/pod-deletion-cost]",
                cost,
                "must be a 32bit integer",
            )
        )
    for key, value in annotations.items():
        if key == "seccomp.security.alpha.kubernetes.io/pod" or key.startswith(
            "container.seccomp.security.alpha.kubernetes.io/"
        ):
            errs += _validate_seccomp_annotation(value, f"{path}.{key}")
    return errs


def _is_int32(text: str) -> bool:
    try:
        return -(2**31) <= int(text, 10) <= _MAX_INT32 and text.strip() == text
    except ValueError:
        return False


def _validate_seccomp_annotation(value: str, path: str) -> list[FieldError]:
    if value in ("runtime/default", "docker/default", "unconfined"):
        return []
    if value.startswith("localhost/"):
        return validate_relative_path(value[len("localhost/") :], path)
    return [invalid(path, value, "must be a valid seccomp profile")]


def validate_pod_spec(
    spec: Mapping[str, Any], path: str, *, pod_name: str = "", is_pod: bool = False
) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec.get("terminationGracePeriodSeconds") is None:
        errs.append(required(f"{path}.terminationGracePeriodSeconds"))
    volumes, volume_errs = validate_volumes(
        spec.get("volumes"), f"{path}.volumes", pod_name=pod_name
    )
    errs += volume_errs
    claims, claim_errs = _validate_resource_claims(
        spec.get("resourceClaims"), f"{path}.resourceClaims"
    )
    errs += claim_errs
    ctx = PodContext(spec, volumes, claims)
    errs += validate_containers(spec.get("containers"), ctx, f"{path}.containers")
    errs += validate_init_containers(
        spec.get("initContainers"), spec.get("containers"), ctx, f"{path}.initContainers"
    )
    errs += validate_ephemeral_containers(
        spec.get("ephemeralContainers"), spec, ctx, f"{path}.ephemeralContainers"
    )
    errs += _validate_host_network_ports(spec, path, is_pod=is_pod)
    errs += _validate_enum(
        spec.get("restartPolicy") or "", RESTART_POLICIES, f"{path}.restartPolicy"
    )
    errs += _validate_enum(spec.get("dnsPolicy") or "", DNS_POLICIES, f"{path}.dnsPolicy")
    errs += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    errs += _validate_pod_security_context(spec, f"{path}.securityContext")
    errs += _validate_image_pull_secrets(spec.get("imagePullSecrets"), f"{path}.imagePullSecrets")
    errs += _validate_affinity(spec.get("affinity"), f"{path}.affinity")
    errs += _validate_dns_config(spec.get("dnsConfig"), spec.get("dnsPolicy"), f"{path}.dnsConfig")
    for i, gate in items(spec, "readinessGates"):
        errs += validate_qualified_name(
            gate.get("conditionType") or "", f"{path}.readinessGates[{i}].conditionType"
        )
    errs += _validate_scheduling_gates(spec.get("schedulingGates"), f"{path}.schedulingGates")
    errs += _validate_topology_spread(
        spec.get("topologySpreadConstraints"), f"{path}.topologySpreadConstraints"
    )
    errs += _validate_host_users(spec, path)
    errs += _validate_named_references(spec, path)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= _MAX_INT32:
        errs.append(
            invalid(f"{path}.activeDeadlineSeconds", deadline, inclusive_range_error(1, _MAX_INT32))
        )
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            errs += validate_dns1123_label(spec[key], f"{path}.{key}")
    errs += validate_tolerations(spec.get("tolerations"), f"{path}.tolerations")
    for i, alias in items(spec, "hostAliases"):
        errs += validate_ip(alias.get("ip") or "", f"{path}.hostAliases[{i}].ip")
        for j, hostname in enumerate(alias.get("hostnames") or []):
            errs += validate_dns1123_subdomain(hostname, f"{path}.hostAliases[{i}].hostnames[{j}]")
    errs += _validate_scheduling_fields(spec, path)
    if spec.get("overhead") is not None:
        errs += validate_requirements({"limits": spec["overhead"]}, f"{path}.overhead")
    errs += _validate_os(spec, path)
    return errs


def _validate_enum(value: str, supported: list[str], path: str) -> list[FieldError]:
    if not value:
        return [required(path)]
    if value not in supported:
        return [not_supported(path, value, supported)]
    return []


def _validate_resource_claims(claims: Any, path: str) -> tuple[frozenset[str], list[FieldError]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, claim in items({"c": claims}, "c"):
        item = f"{path}[{i}]"
        name = claim.get("name") or ""
        if not name:
            errs.append(required(f"{item}.name"))
        elif name in names:
            errs.append(duplicate(f"{item}.name", name))
        else:
            errs += validate_dns1123_label(name, f"{item}.name")
            names.add(name)
        by_name, by_template = (
            claim.get("resourceClaimName"),
            claim.get("resourceClaimTemplateName"),
        )
        if by_name is not None and by_template is not None:
            errs.append(
                invalid(
                    item,
                    claim,
                    "at most one of `resourceClaimName` or "
                    "`resourceClaimTemplateName` may be specified",
                )
            )
        if by_name is None and by_template is None:
            errs.append(
                invalid(
                    item,
                    claim,
                    "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`",
                )
            )
        for key, value in (
            ("resourceClaimName", by_name),
            ("resourceClaimTemplateName", by_template),
        ):
            if value is not None:
                errs += [invalid(f"{item}.{key}", value, m) for m in name_is_dns_subdomain(value)]
    return frozenset(names), errs


def _validate_host_network_ports(
    spec: Mapping[str, Any], path: str, *, is_pod: bool
) -> list[FieldError]:
    if not spec.get("hostNetwork"):
        return []
    errs: list[FieldError] = []
    for i, container in items(spec, "containers"):
        for j, port in items(container, "ports"):
            host_port, container_port = port.get("hostPort") or 0, port.get("containerPort") or 0
            if (is_pod or host_port != 0) and host_port != container_port:
                errs.append(
                    invalid(
                        f"{path}.containers[{i}].ports[{j}].hostPort",
                        host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    )
                )
    return errs


def _validate_pod_security_context(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    context = spec.get("securityContext")
    if not isinstance(context, dict):
        return []
    errs: list[FieldError] = []
    for key in ("fsGroup", "runAsUser", "runAsGroup"):
        value = context.get(key)
        if value is not None:
            errs += [invalid(f"{path}.{key}", value, m) for m in is_valid_user_id(value)]
    for i, gid in enumerate(context.get("supplementalGroups") or []):
        errs += [invalid(f"{path}.supplementalGroups[{i}]", gid, m) for m in is_valid_user_id(gid)]
    if spec.get("shareProcessNamespace") and spec.get("hostPID"):
        errs.append(
            invalid(
                f"{path}.shareProcessNamespace",
                True,
                "ShareProcessNamespace and HostPID cannot both be enabled",
            )
        )
    errs += _validate_sysctls(context.get("sysctls"), spec, f"{path}.sysctls")
    policy = context.get("fsGroupChangePolicy")
    if policy is not None and policy not in ("Always", "OnRootMismatch"):
        errs.append(
            not_supported(f"{path}.fsGroupChangePolicy", policy, ["Always", "OnRootMismatch"])
        )
    errs += validate_seccomp_profile(context.get("seccompProfile"), f"{path}.seccompProfile")
    errs += validate_apparmor_profile(context.get("appArmorProfile"), f"{path}.appArmorProfile")
    groups_policy = context.get("supplementalGroupsPolicy")
    if groups_policy is not None and groups_policy not in ("Merge", "Strict"):
        errs.append(
            not_supported(f"{path}.supplementalGroupsPolicy", groups_policy, ["Merge", "Strict"])
        )
    selinux_policy = context.get("seLinuxChangePolicy")
    if selinux_policy is not None and selinux_policy not in ("MountOption", "Recursive"):
        errs.append(
            not_supported(
                f"{path}.seLinuxChangePolicy", selinux_policy, ["MountOption", "Recursive"]
            )
        )
    return errs


def _validate_sysctls(sysctls: Any, spec: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, sysctl in items({"s": sysctls}, "s"):
        name = sysctl.get("name") or ""
        item = f"{path}[{i}].name"
        if not name:
            errs.append(required(item))
        elif len(name) > 253 or _SYSCTL_RE.fullmatch(name) is None:
            errs.append(
                invalid(
                    item, name, f"must have at most 253 characters and match regex ^{_SYSCTL_FMT}$"
                )
            )
        elif name in names:
            errs.append(duplicate(item, name))
        canonical = name.replace("/", ".")
        if spec.get("hostNetwork") and canonical.startswith(_NET_SYSCTL_PREFIXES):
            errs.append(invalid(item, name, "may not be specified when 'hostNetwork' is true"))
        elif spec.get("hostIPC") and canonical.startswith(_IPC_SYSCTL_PREFIXES):
            errs.append(invalid(item, name, "may not be specified when 'hostIPC' is true"))
        names.add(name)
    return errs


def _validate_image_pull_secrets(secrets: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, secret in items({"s": secrets}, "s"):
        if set(secret) - {"name"}:
            errs.append(invalid(f"{path}[{i}]", secret, "only name may be set"))
    return errs


def _validate_affinity(affinity: Any, path: str) -> list[FieldError]:
    if not isinstance(affinity, dict):
        return []
    errs: list[FieldError] = []
    node = affinity.get("nodeAffinity")
    if isinstance(node, dict):
        required_terms = node.get("requiredDuringSchedulingIgnoredDuringExecution")
        if required_terms is not None:
            errs += validate_node_selector(
                required_terms,
                f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            )
        for i, term in items(node, "preferredDuringSchedulingIgnoredDuringExecution"):
            item = f"{path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            weight = term.get("weight") or 0
            if not 0 < weight <= 100:
                errs.append(invalid(f"{item}.weight", weight, "must be in the range 1-100"))
            errs += _validate_node_selector_term(
                term.get("preference") or {}, f"{item}.preference", check_values=False
            )
    for key in ("podAffinity", "podAntiAffinity"):
        pod = affinity.get(key)
        if not isinstance(pod, dict):
            continue
        for i, term in items(pod, "requiredDuringSchedulingIgnoredDuringExecution"):
            errs += _validate_pod_affinity_term(
                term, f"{path}.{key}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"
            )
        for i, term in items(pod, "preferredDuringSchedulingIgnoredDuringExecution"):
            item = f"{path}.{key}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            weight = term.get("weight") or 0
            if not 0 < weight <= 100:
                errs.append(invalid(f"{item}.weight", weight, "must be in the range 1-100"))
            errs += _validate_pod_affinity_term(
                term.get("podAffinityTerm") or {}, f"{item}.podAffinityTerm"
            )
    return errs


def validate_node_selector(selector: Mapping[str, Any], path: str) -> list[FieldError]:
    terms = selector.get("nodeSelectorTerms") or []
    if not terms:
        return [required(f"{path}.nodeSelectorTerms", "must have at least one node selector term")]
    errs: list[FieldError] = []
    for i, term in enumerate(terms):
        errs += _validate_node_selector_term(
            term or {}, f"{path}.nodeSelectorTerms[{i}]", check_values=True
        )
    return errs


def _validate_node_selector_term(
    term: Mapping[str, Any], path: str, *, check_values: bool
) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, req in items(term, "matchExpressions"):
        errs += _validate_node_selector_requirement(
            req, f"{path}.matchExpressions[{i}]", check_values
        )
    for i, req in items(term, "matchFields"):
        item = f"{path}.matchFields[{i}]"
        if req.get("operator") in ("In", "NotIn"):
            if len(req.get("values") or []) != 1:
                errs.append(
                    required(
                        f"{item}.values",
                        "must be only one value when `operator` is "
                        "'In' or 'NotIn' for node field selector",
                    )
                )
        else:
            errs.append(
                invalid(
                    f"{item}.operator", req.get("operator") or "", "not a valid selector operator"
                )
            )
        if req.get("key") != "metadata.name":
            errs.append(
                invalid(f"{item}.key", req.get("key") or "", "not a valid field selector key")
            )
        else:
            for j, value in enumerate(req.get("values") or []):
                errs += [
                    invalid(f"{item}.values[{j}]", value, m) for m in name_is_dns_subdomain(value)
                ]
    return errs


def _validate_node_selector_requirement(
    req: Mapping[str, Any], path: str, check_values: bool
) -> list[FieldError]:
    errs: list[FieldError] = []
    operator, values = req.get("operator") or "", req.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            errs.append(
                required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            )
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errs.append(
                forbidden(
                    f"{path}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    elif operator in ("Gt", "Lt"):
        if len(values) != 1:
            errs.append(
                required(
                    f"{path}.values",
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                )
            )
    else:
        errs.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
    errs += validate_qualified_name(req.get("key") or "", f"{path}.key")
    if check_values:
        for i, value in enumerate(values):
            errs += validate_with(is_label_value, value, f"{path}.values[{i}]")
    return errs


def _validate_pod_affinity_term(term: Mapping[str, Any], path: str) -> list[FieldError]:
    errs = validate_selector(term.get("labelSelector"), f"{path}.labelSelector")
    errs += validate_selector(term.get("namespaceSelector"), f"{path}.namespaceSelector")
    for name in term.get("namespaces") or []:
        errs += [invalid(f"{path}.namespace", name, m) for m in validate_namespace_name(name)]
    errs += _validate_match_label_keys(term, path)
    topology_key = term.get("topologyKey") or ""
    if not topology_key:
        errs.append(required(f"{path}.topologyKey", "can not be empty"))
    errs += validate_qualified_name(topology_key, f"{path}.topologyKey")
    return errs


def _validate_match_label_keys(term: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    selector = term.get("labelSelector")
    match_keys = term.get("matchLabelKeys") or []
    mismatch_keys = term.get("mismatchLabelKeys") or []
    for key, keys in (("matchLabelKeys", match_keys), ("mismatchLabelKeys", mismatch_keys)):
        if keys and selector is None:
            errs.append(
                forbidden(f"{path}.{key}", "must not be specified when labelSelector is not set")
            )
        elif keys:
            for i, label in enumerate(keys):
                errs += validate_qualified_name(label, f"{path}.{key}[{i}]")
    for i, label in enumerate(match_keys):
        if label in mismatch_keys:
            errs.append(
                invalid(
                    f"{path}.matchLabelKeys[{i}]",
                    label,
                    "exists in both matchLabelKeys and mismatchLabelKeys",
                )
            )
    return errs


def _validate_dns_config(config: Any, policy: str | None, path: str) -> list[FieldError]:
    if policy == "None":
        if config is None:
            return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not config.get("nameservers"):
            return [
                required(
                    f"{path}.nameservers",
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            ]
    if not isinstance(config, dict):
        return []
    errs: list[FieldError] = []
    nameservers = config.get("nameservers") or []
    if len(nameservers) > 3:
        errs.append(
            invalid(f"{path}.nameservers", nameservers, "must not have more than 3 nameservers")
        )
    for i, server in enumerate(nameservers):
        errs += validate_ip(server, f"{path}.nameservers[{i}]")
    searches = config.get("searches") or []
    if len(searches) > 32:
        errs.append(
            invalid(f"{path}.searches", searches, "must not have more than 32 search paths")
        )
    if len(" ".join(searches)) > 2048:
        errs.append(
            invalid(
                f"{path}.searches",
                searches,
                "must not have more than 2048 characters (including spaces) in the search list",
            )
        )
    for i, search in enumerate(searches):
        if search != ".":
            errs += _validate_search_domain(search.removesuffix("."), f"{path}.searches[{i}]")
    for i, option in items(config, "options"):
        if not option.get("name"):
            errs.append(required(f"{path}.options[{i}]", "must not be empty"))
    return errs


_SEARCH_FMT = "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*"
_SEARCH_RE = re.compile(_SEARCH_FMT)


def _validate_search_domain(search: str, path: str) -> list[FieldError]:
    """DNS search domains may contain underscores (RelaxedDNSSearchValidation, on in 1.33)."""
    messages = []
    if len(search) > 253:
        messages.append(max_len_error(253))
    if _SEARCH_RE.fullmatch(search) is None:
        messages.append(
            regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'_', '-' or '.', and must start and end with an alphanumeric character",
                _SEARCH_FMT,
                "example.com",
            )
        )
    return [invalid(path, search, m) for m in messages]


def _validate_scheduling_gates(gates: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, gate in items({"g": gates}, "g"):
        name = gate.get("name") or ""
        errs += validate_qualified_name(name, f"{path}[{i}]")
        if name in seen:
            errs.append(duplicate(f"{path}[{i}]", name))
        seen.add(name)
    return errs


def _validate_topology_spread(constraints: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    listed = [c for _, c in items({"c": constraints}, "c")]
    for i, constraint in enumerate(listed):
        item = f"{path}[{i}]"
        max_skew = constraint.get("maxSkew") or 0
        if max_skew <= 0:
            errs.append(invalid(f"{item}.maxSkew", max_skew, "must be greater than zero"))
        if not constraint.get("topologyKey"):
            errs.append(required(f"{item}.topologyKey", "can not be empty"))
        action = constraint.get("whenUnsatisfiable") or ""
        if action not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.append(
                not_supported(
                    f"{item}.whenUnsatisfiable", action, ["DoNotSchedule", "ScheduleAnyway"]
                )
            )
        for other in listed[i + 1 :]:
            if (other.get("topologyKey"), other.get("whenUnsatisfiable")) == (
                constraint.get("topologyKey"),
                action,
            ):
                errs.append(
                    duplicate(
                        f"{item}.{{topologyKey, whenUnsatisfiable}}",
                        f"{{{constraint.get('topologyKey', '')}, {action}}}",
                    )
                )
                break
        min_domains = constraint.get("minDomains")
        if min_domains is not None:
            if min_domains <= 0:
                errs.append(invalid(f"{item}.minDomains", min_domains, "must be greater than zero"))
            if action != "DoNotSchedule":
                errs.append(
                    invalid(
                        f"{item}.minDomains",
                        min_domains,
                        f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}",
                    )
                )
        for key in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            policy = constraint.get(key)
            if policy is not None and policy not in ("Honor", "Ignore"):
                errs.append(not_supported(f"{item}.{key}", policy, ["Honor", "Ignore"]))
        errs += _validate_spread_label_keys(constraint, f"{item}.matchLabelKeys")
        errs += validate_selector(constraint.get("labelSelector"), f"{item}.labelSelector")
    return errs


def _validate_spread_label_keys(constraint: Mapping[str, Any], path: str) -> list[FieldError]:
    keys = constraint.get("matchLabelKeys") or []
    if not keys:
        return []
    selector = constraint.get("labelSelector")
    errs: list[FieldError] = []
    selector_keys: set[str] = set()
    if selector is None:
        errs.append(forbidden(path, "must not be specified when labelSelector is not set"))
    else:
        selector_keys = set(selector.get("matchLabels") or {}) | {
            e.get("key") for e in selector.get("matchExpressions") or []
        }
    for i, key in enumerate(keys):
        errs += validate_qualified_name(key, f"{path}[{i}]")
        if key in selector_keys:
            errs.append(
                invalid(f"{path}[{i}]", key, "exists in both matchLabelKeys and labelSelector")
            )
    return errs


def _validate_host_users(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    if dig(spec, "securityContext", "hostUsers") is not False:
        return []
    errs: list[FieldError] = []
    for key, reported in (
        ("hostNetwork", "hostNetwork"),
        ("hostPID", "HostPID"),
        ("hostIPC", "HostIPC"),
    ):
        if spec.get(key):
            errs.append(forbidden(f"{path}.{reported}", "when `pod.Spec.HostUsers` is false"))
    return errs


def _validate_named_references(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("serviceAccountName", "nodeName"):
        value = spec.get(key) or ""
        if value:
            errs += [invalid(f"{path}.{key}", value, m) for m in name_is_dns_subdomain(value)]
    return errs


def _validate_scheduling_fields(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    priority_class = spec.get("priorityClassName") or ""
    if priority_class:
        errs += [
            invalid(f"{path}.priorityClassName", priority_class, m)
            for m in name_is_dns_subdomain(priority_class)
        ]
    runtime_class = spec.get("runtimeClassName")
    if runtime_class is not None:
        errs += [
            invalid(f"{path}.runtimeClassName", runtime_class, m)
            for m in name_is_dns_subdomain(runtime_class)
        ]
    preemption = spec.get("preemptionPolicy")
    if preemption is not None:
        errs += _validate_enum(
            preemption, ["PreemptLowerPriority", "Never"], f"{path}.preemptionPolicy"
        )
    return errs


def _validate_os(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    os_spec = spec.get("os")
    if not isinstance(os_spec, dict):
        return []
    name = os_spec.get("name") or ""
    if not name:
        return [required(f"{path}.os.name")]
    if name not in ("linux", "windows"):
        return [not_supported(f"{path}.os.name", name, ["linux", "windows"])]
    if name == "linux" and dig(spec, "securityContext", "windowsOptions") is not None:
        return [
            forbidden(
                f"{path}.securityContext.windowsOptions",
                "windows options cannot be set for a linux pod",
            )
        ]
    return []


def validate_tolerations(tolerations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, toleration in items({"t": tolerations}, "t"):
        item = f"{path}[{i}]"
        key, operator = toleration.get("key") or "", toleration.get("operator") or ""
        effect, value = toleration.get("effect") or "", toleration.get("value") or ""
        if key:
            errs += validate_qualified_name(key, f"{item}.key")
        if not key and operator != "Exists":
            errs.append(
                invalid(
                    f"{item}.operator",
                    operator,
                    "operator must be Exists when `key` is "
                    'empty, which means "match all values and all keys"',
                )
            )
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(
                invalid(
                    f"{item}.effect",
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if operator in ("Equal", ""):
            messages = is_label_value(value)
            if messages:
                errs.append(invalid(f"{item}.operator", value, ";".join(messages)))
        elif operator == "Exists":
            if value:
                errs.append(
                    invalid(
                        f"{item}.operator", value, "value must be empty when `operator` is 'Exists'"
                    )
                )
        else:
            errs.append(not_supported(f"{item}.operator", operator, ["Equal", "Exists"]))
        if effect and effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{item}.effect", effect, TAINT_EFFECTS))
    return errs


def validate_taints(taints: Any, path: str) -> list[FieldError]:
    """Node taints: unique by (key, effect)."""
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in items({"t": taints}, "t"):
        item = f"{path}[{i}]"
        key, effect = taint.get("key") or "", taint.get("effect") or ""
        errs += validate_qualified_name(key, f"{item}.key")
        messages = is_label_value(taint.get("value") or "")
        if messages:
            errs.append(invalid(f"{item}.value", taint.get("value") or "", ";".join(messages)))
        if not effect:
            errs.append(required(f"{item}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{item}.effect", effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            error = duplicate(item, taint)
            error.detail = "taints must be unique by key and effect pair"
            errs.append(error)
            continue
        seen.add((key, effect))
    return errs
