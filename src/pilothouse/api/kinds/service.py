"""Services: v1 defaults, ValidateService/ValidateServiceUpdate, and the field clean-ups the
service REST storage makes on update (NormalizeClusterIPs, patchAllocatedValues,
dropTypeDependentFields).

Allocation is the API server's: it calls ``init_ip_family_fields`` (ipFamilyPolicy and
ipFamilies as initIPFamilyFields sets them for the cluster's service CIDRs), then allocates
cluster IPs and node ports, then validates. ``clusterIP``/``clusterIPs`` are immutable once
set unless the type changes to or from ExternalName.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from pilothouse.api.errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import NoGenerationStrategy, dig, ensure, items
from pilothouse.api.kinds.containers import validate_port_num_or_name, validate_protocol
from pilothouse.api.validation import (
    is_valid_port_num,
    name_is_dns1035_label,
    parse_ip,
    validate_cidr,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_ip,
    validate_labels,
    validate_qualified_name,
)

Obj = dict[str, Any]

TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
DEFAULT_AFFINITY_TIMEOUT = 10800
MAX_AFFINITY_TIMEOUT = 86400
_FAMILIES = ["IPv4", "IPv6"]
_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]
_TOPOLOGY_HINTS = "service.kubernetes.io/topology-aware-hints"
_TOPOLOGY_MODE = "service.kubernetes.io/topology-mode"
_SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
_LINK_LOCAL_MULTICAST_V4 = ipaddress.ip_network("224.0.0.0/24")


def externally_accessible(spec: Mapping[str, Any]) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def needs_cluster_ip(spec: Mapping[str, Any]) -> bool:
    return spec.get("type") != "ExternalName"


def needs_node_port(spec: Mapping[str, Any]) -> bool:
    kind = spec.get("type")
    return kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False
    )


def needs_health_check(spec: Mapping[str, Any]) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def is_headless(spec: Mapping[str, Any]) -> bool:
    return spec.get("clusterIPs") == ["None"]


class ServiceStrategy(NoGenerationStrategy):
    name_validator = staticmethod(name_is_dns1035_label)
    field_label_names = ("spec.clusterIP", "spec.type")

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = ensure(obj, "spec")
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        spec, old_spec = ensure(new, "spec"), old.get("spec") or {}
        _patch_allocated_values(spec, old_spec)
        _normalize_cluster_ips(spec, old_spec)
        _drop_type_dependent_fields(new, old_spec)

    def default(self, obj: Obj) -> None:
        spec = ensure(obj, "spec")
        if not spec.get("sessionAffinity"):
            spec["sessionAffinity"] = "None"
        if spec["sessionAffinity"] == "None":
            spec.pop("sessionAffinityConfig", None)
        elif (
            spec["sessionAffinity"] == "ClientIP"
            and dig(spec, "sessionAffinityConfig", "clientIP", "timeoutSeconds") is None
        ):
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": DEFAULT_AFFINITY_TIMEOUT}
            }
        if not spec.get("type"):
            spec["type"] = "ClusterIP"
        for _, port in items(spec, "ports"):
            if not port.get("protocol"):
                port["protocol"] = "TCP"
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port", 0)
        if externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
            spec["externalTrafficPolicy"] = "Cluster"
        if spec.get("internalTrafficPolicy") is None and spec["type"] in (
            "NodePort",
            "LoadBalancer",
            "ClusterIP",
        ):
            spec["internalTrafficPolicy"] = "Cluster"
        if spec["type"] == "LoadBalancer":
            if spec.get("allocateLoadBalancerNodePorts") is None:
                spec["allocateLoadBalancerNodePorts"] = True
            for _, ingress in items(obj, "status", "loadBalancer", "ingress"):
                if ingress.get("ip") and ingress.get("ipMode") is None:
                    ingress["ipMode"] = "VIP"

    def validate(self, obj: Obj) -> list[FieldError]:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        errs = _validate_topology_annotations(meta.get("annotations") or {})
        errs += _validate_ports_and_type(spec)
        errs += (
            validate_labels(spec.get("selector"), "spec.selector")
            if spec.get("selector") is not None
            else []
        )
        errs += _validate_session_affinity(spec)
        errs += validate_cluster_ip_fields(spec)
        for i, ip in enumerate(spec.get("externalIPs") or []):
            ip_errs = validate_ip(ip, f"spec.externalIPs[{i}]")
            errs += ip_errs or validate_non_special_ip(ip, f"spec.externalIPs[{i}]")
        errs += _validate_type(spec)
        errs += _validate_duplicate_ports(spec)
        errs += _validate_source_ranges(spec, meta.get("annotations") or {})
        errs += _validate_load_balancer_fields(spec)
        errs += _validate_traffic_policies(spec)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        errs = _validate_cluster_ip_changes(old_spec, spec)
        errs += _validate_family_changes(old_spec, spec)
        if (
            old_spec.get("type") == "LoadBalancer"
            and spec.get("type") == "LoadBalancer"
            and old_spec.get("loadBalancerClass") != spec.get("loadBalancerClass")
        ):
            errs.append(
                invalid(
                    "spec.loadBalancerClass",
                    spec.get("loadBalancerClass"),
                    "may not change once set",
                )
            )
        if (
            needs_health_check(old_spec)
            and needs_health_check(spec)
            and old_spec.get("healthCheckNodePort") != spec.get("healthCheckNodePort")
        ):
            errs.append(forbidden("spec.healthCheckNodePort", "field is immutable"))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        spec = new.get("spec") or {}
        path = "status.loadBalancer.ingress"
        ingresses = list(items(new, "status", "loadBalancer", "ingress"))
        if spec.get("type") != "LoadBalancer" and ingresses:
            return [forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'")]
        errs: list[FieldError] = []
        for i, ingress in ingresses:
            item = f"{path}[{i}]"
            if ingress.get("ip"):
                errs += validate_ip(ingress["ip"], f"{item}.ip")
            mode = ingress.get("ipMode")
            if mode is None and ingress.get("ip"):
                errs.append(required(f"{item}.ipMode", "must be specified when `ip` is set"))
            elif mode is not None and not ingress.get("ip"):
                errs.append(
                    forbidden(f"{item}.ipMode", "may not be specified when `ip` is not set")
                )
            elif mode is not None and mode not in ("Proxy", "VIP"):
                errs.append(not_supported(f"{item}.ipMode", mode, ["Proxy", "VIP"]))
            hostname = ingress.get("hostname") or ""
            if hostname:
                errs += validate_dns1123_subdomain(hostname, f"{item}.hostname")
                if parse_ip(hostname) is not None:
                    errs.append(
                        invalid(
                            f"{item}.hostname", hostname, "must be a DNS name, not an IP address"
                        )
                    )
        return errs

    def field_labels(self, obj: Obj) -> dict[str, str]:
        spec = obj.get("spec") or {}
        return {"spec.clusterIP": spec.get("clusterIP") or "", "spec.type": spec.get("type") or ""}

    def init_ip_family_fields(
        self, obj: Obj, old: Obj | None = None, *, cluster_families: tuple[str, ...] = ("IPv4",)
    ) -> list[FieldError]:
        return init_ip_family_fields(obj, old, cluster_families=cluster_families)


# --- update preparation -------------------------------------------------------------------


def _patch_allocated_values(spec: Obj, old: Mapping[str, Any]) -> None:
    """Keep what the server allocated when a client sends the object without it."""
    if needs_cluster_ip(old) and needs_cluster_ip(spec):
        if not spec.get("clusterIP") and old.get("clusterIP"):
            spec["clusterIP"] = old["clusterIP"]
        if not spec.get("clusterIPs") and old.get("clusterIPs"):
            spec["clusterIPs"] = list(old["clusterIPs"])
    if needs_node_port(old) and needs_node_port(spec):
        new_ports = [p for _, p in items(spec, "ports")]
        used = {p.get("nodePort") for _, p in items(old, "ports") if p.get("nodePort")} & {
            p.get("nodePort") for p in new_ports if p.get("nodePort")
        }
        by_name = {p.get("name", ""): p.get("nodePort", 0) for _, p in items(old, "ports")}
        for port in new_ports:
            previous = by_name.get(port.get("name", ""), 0)
            if not port.get("nodePort") and previous and previous not in used:
                port["nodePort"] = previous
    if needs_health_check(old) and needs_health_check(spec) and not spec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = old.get("healthCheckNodePort", 0)


def _normalize_cluster_ips(spec: Obj, old: Mapping[str, Any]) -> None:
    old_ips, new_ips = old.get("clusterIPs") or [], spec.get("clusterIPs") or []
    old_ip, new_ip = old.get("clusterIP") or "", spec.get("clusterIP") or ""
    if old_ips and not new_ips and old_ip == new_ip:
        spec["clusterIPs"] = list(old_ips)
    if old_ip != new_ip:
        same = (spec.get("clusterIPs") or []) == old_ips
        if old_ip and not new_ip:
            if same:
                spec.pop("clusterIPs", None)
        elif same:
            spec["clusterIPs"] = [new_ip]


def _drop_type_dependent_fields(new: Obj, old: Mapping[str, Any]) -> None:
    spec = new["spec"]
    if needs_cluster_ip(old) and not needs_cluster_ip(spec):
        if (spec.get("clusterIPs") or []) == (old.get("clusterIPs") or []):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if (spec.get("ipFamilies") or []) == (old.get("ipFamilies") or []):
            spec.pop("ipFamilies", None)
        if spec.get("ipFamilyPolicy") == old.get("ipFamilyPolicy"):
            spec.pop("ipFamilyPolicy", None)
    if needs_node_port(old) and not needs_node_port(spec):
        old_ports = [p.get("nodePort", 0) for _, p in items(old, "ports")]
        if [p.get("nodePort", 0) for _, p in items(spec, "ports")] == old_ports:
            for _, port in items(spec, "ports"):
                port.pop("nodePort", None)
    if (
        needs_health_check(old)
        and not needs_health_check(spec)
        and spec.get("healthCheckNodePort") == old.get("healthCheckNodePort")
    ):
        spec.pop("healthCheckNodePort", None)
    if old.get("type") == "LoadBalancer" and spec.get("type") != "LoadBalancer":
        allocate = spec.get("allocateLoadBalancerNodePorts")
        if allocate is not None and allocate == old.get("allocateLoadBalancerNodePorts"):
            spec.pop("allocateLoadBalancerNodePorts", None)
        if spec.get("loadBalancerClass") == old.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if (
        externally_accessible(old)
        and not externally_accessible(spec)
        and spec.get("externalTrafficPolicy") == old.get("externalTrafficPolicy")
    ):
        spec.pop("externalTrafficPolicy", None)
    if spec.get("type") != "LoadBalancer" and isinstance(new.get("status"), dict):
        new["status"]["loadBalancer"] = {}


def init_ip_family_fields(
    obj: Obj, old: Obj | None = None, *, cluster_families: tuple[str, ...] = ("IPv4",)
) -> list[FieldError]:
    """initIPFamilyFields: default ipFamilyPolicy and ipFamilies from the request and the
    families the cluster serves. Returns the errors upstream turns into 422."""
    spec = ensure(obj, "spec")
    old_spec = (old or {}).get("spec") or {}
    if spec.get("type") == "ExternalName":
        return []
    if spec.get("ipFamilyPolicy") is None:
        if old_spec.get("ipFamilyPolicy") is not None:
            spec["ipFamilyPolicy"] = old_spec["ipFamilyPolicy"]
        elif spec.get("clusterIP") == "None" and not spec.get("selector"):
            spec["ipFamilyPolicy"] = "RequireDualStack"
        else:
            spec["ipFamilyPolicy"] = "SingleStack"
    errs = validate_cluster_ip_fields(spec)
    if errs:
        return errs
    policy = spec["ipFamilyPolicy"]
    families = spec.setdefault("ipFamilies", [])
    if policy == "SingleStack":
        if len(spec.get("clusterIPs") or []) == 2:
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    policy,
                    "must be 'RequireDualStack' or "
                    "'PreferDualStack' when multiple cluster IPs are specified",
                )
            )
        if len(families) == 2:
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    policy,
                    "must be 'RequireDualStack' or "
                    "'PreferDualStack' when multiple IP families are specified",
                )
            )
    for i, ip in enumerate(spec.get("clusterIPs") or []):
        if ip == "None":
            break
        family = "IPv6" if ":" in ip else "IPv4"
        if i >= len(families):
            if family in cluster_families:
                families.append(family)
            else:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        spec["clusterIPs"],
                        f"{family} is not configured on this cluster",
                    )
                )
    if errs:
        return errs
    if spec.get("clusterIP") == "None" and not spec.get("selector"):
        if not families:
            families.append(cluster_families[0])
        if len(families) < 2 and policy != "SingleStack":
            families.append("IPv6" if families[0] == "IPv4" else "IPv4")
        return []
    if policy == "RequireDualStack" and len(cluster_families) < 2:
        errs.append(
            invalid(
                "spec.ipFamilyPolicy",
                policy,
                "this cluster is not configured for dual-stack services",
            )
        )
    for i, family in enumerate(families):
        if family not in cluster_families:
            errs.append(invalid(f"spec.ipFamilies[{i}]", family, "not configured on this cluster"))
    if errs:
        return errs
    if not families:
        families.append(cluster_families[0])
    if policy != "SingleStack" and len(families) == 1 and len(cluster_families) == 2:
        families.append("IPv6" if families[0] == "IPv4" else "IPv4")
    return []


# --- validation ---------------------------------------------------------------------------


def _validate_topology_annotations(annotations: Mapping[str, str]) -> list[FieldError]:
    if (
        _TOPOLOGY_MODE in annotations
        and _TOPOLOGY_HINTS in annotations
        and annotations[_TOPOLOGY_MODE] != annotations[_TOPOLOGY_HINTS]
    ):
        return [
            invalid(
                f"metadata.annotations[{_TOPOLOGY_MODE}]",
                annotations[_TOPOLOGY_MODE],
                f"must match annotations[{_TOPOLOGY_HINTS}] when both are specified",
            )
        ]
    return []


def _validate_ports_and_type(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    kind = spec.get("type")
    headless = is_headless(spec)
    if not spec.get("ports") and not headless and kind != "ExternalName":
        errs.append(required("spec.ports"))
    if kind in ("LoadBalancer", "NodePort") and headless:
        errs.append(
            invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services")
        )
    if kind == "ExternalName":
        for key in ("clusterIPs", "ipFamilies"):
            if spec.get(key):
                errs.append(forbidden(f"spec.{key}", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(
                forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services")
            )
        cname = (spec.get("externalName") or "").removesuffix(".")
        errs += (
            validate_dns1123_subdomain(cname, "spec.externalName")
            if cname
            else [required("spec.externalName")]
        )
    names: set[str] = set()
    ports = list(items(spec, "ports"))
    for i, port in ports:
        errs += _validate_service_port(port, len(ports) > 1, names, f"spec.ports[{i}]")
    return errs


def _validate_service_port(
    port: Mapping[str, Any], require_name: bool, names: set[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs += validate_dns1123_label(name, f"{path}.name")
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
    number = port.get("port") or 0
    errs += [invalid(f"{path}.port", number, m) for m in is_valid_port_num(number)]
    errs += validate_protocol(port.get("protocol") or "", f"{path}.protocol")
    errs += validate_port_num_or_name(port.get("targetPort", 0), f"{path}.targetPort")
    if port.get("appProtocol") is not None:
        errs += validate_qualified_name(port["appProtocol"], f"{path}.appProtocol")
    return errs


def _validate_session_affinity(spec: Mapping[str, Any]) -> list[FieldError]:
    affinity = spec.get("sessionAffinity") or ""
    config_path = "spec.sessionAffinityConfig"
    if not affinity:
        return [required("spec.sessionAffinity")]
    if affinity not in ("ClientIP", "None"):
        return [not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"])]
    config = spec.get("sessionAffinityConfig")
    if affinity == "None":
        return (
            [forbidden(config_path, "must not be set when session affinity is None")]
            if config is not None
            else []
        )
    detail = "when session affinity type is ClientIP"
    if config is None:
        return [required(config_path, detail)]
    if config.get("clientIP") is None:
        return [required(f"{config_path}.clientIP", detail)]
    timeout = config["clientIP"].get("timeoutSeconds")
    if timeout is None:
        return [required(f"{config_path}.clientIP.timeoutSeconds", detail)]
    if not 0 < timeout <= MAX_AFFINITY_TIMEOUT:
        return [
            invalid(
                f"{config_path}.clientIP.timeoutSeconds",
                timeout,
                f"must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT}",
            )
        ]
    return []


def validate_cluster_ip_fields(spec: Mapping[str, Any]) -> list[FieldError]:
    """ValidateServiceClusterIPsRelatedFields."""
    if spec.get("type") == "ExternalName":
        return []
    errs: list[FieldError] = []
    cluster_ip, cluster_ips = spec.get("clusterIP") or "", spec.get("clusterIPs") or []
    if cluster_ip:
        if not cluster_ips:
            errs.append(required("spec.clusterIPs"))
        elif cluster_ips[0] != cluster_ip:
            errs.append(
                invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`")
            )
    elif cluster_ips:
        errs.append(
            invalid(
                "spec.clusterIPs", cluster_ips, "must be empty when `clusterIP` is not specified"
            )
        )
    seen: set[str] = set()
    for i, family in enumerate(spec.get("ipFamilies") or []):
        if family not in _FAMILIES:
            errs.append(not_supported(f"spec.ipFamilies[{i}]", family, _FAMILIES))
        if family in seen:
            errs.append(duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in _POLICIES:
        errs.append(not_supported("spec.ipFamilyPolicy", policy, _POLICIES))
    bad_ips = False
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                bad_ips = True
                errs.append(
                    invalid(
                        "spec.clusterIPs", cluster_ips, "'None' must be the first and only value"
                    )
                )
            continue
        ip_errs = validate_ip(ip, f"spec.clusterIPs[{i}]")
        bad_ips = bad_ips or bool(ip_errs)
        errs += ip_errs
    if len(cluster_ips) > 2:
        errs.append(invalid("spec.clusterIPs", cluster_ips, "may only hold up to 2 values"))
    if bad_ips:
        return errs
    if len(cluster_ips) > 1 and len({":" in ip for ip in cluster_ips}) != 2:
        errs.append(
            invalid(
                "spec.clusterIPs", cluster_ips, "may specify no more than one IP for each IP family"
            )
        )
    families = spec.get("ipFamilies") or []
    if not is_headless(spec):
        for i, ip in enumerate(cluster_ips[: len(families)]):
            v6 = ":" in ip
            if families[i] == "IPv4" and v6:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if families[i] == "IPv6" and not v6:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def validate_non_special_ip(address: str, path: str) -> list[FieldError]:
    """Endpoints, EndpointSlices and external IPs may not use unspecified, loopback or
    link-local addresses."""
    ip = parse_ip(address)
    if ip is None:
        return [invalid(path, address, "must be a valid IP address")]
    errs: list[FieldError] = []
    if ip.is_unspecified:
        errs.append(invalid(path, address, f"may not be unspecified ({address})"))
    if ip.is_loopback:
        errs.append(
            invalid(path, address, "may not be in the loopback range (127.0.0.0/8, ::1/128)")
        )
    if ip.is_link_local and not ip.is_multicast:
        errs.append(
            invalid(path, address, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    if _is_link_local_multicast(ip):
        errs.append(
            invalid(
                path,
                address,
                "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
            )
        )
    return errs


def _is_link_local_multicast(ip: Any) -> bool:
    if ip.version == 4:
        return ip in _LINK_LOCAL_MULTICAST_V4
    return ip.packed[0] == 0xFF and ip.packed[1] & 0x0F == 0x02


def _validate_type(spec: Mapping[str, Any]) -> list[FieldError]:
    kind = spec.get("type") or ""
    if not kind:
        return [required("spec.type")]
    if kind not in TYPES:
        return [not_supported("spec.type", kind, TYPES)]
    if kind == "ClusterIP":
        return [
            forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
            for i, port in items(spec, "ports")
            if port.get("nodePort")
        ]
    return []


def _validate_duplicate_ports(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    node_ports: set[tuple[str, int]] = set()
    for i, port in items(spec, "ports"):
        node_port = port.get("nodePort") or 0
        if not node_port:
            continue
        key = (port.get("protocol") or "", node_port)
        if key in node_ports:
            errs.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
        node_ports.add(key)
    ports: set[tuple[str, int]] = set()
    for i, port in items(spec, "ports"):
        key = (port.get("protocol") or "", port.get("port") or 0)
        if key in ports:
            # Upstream renders the internal ServicePort struct it compared.
            errs.append(
                duplicate(
                    f"spec.ports[{i}]",
                    {
                        "Name": "",
                        "Protocol": key[0],
                        "AppProtocol": None,
                        "Port": key[1],
                        "TargetPort": 0,
                        "NodePort": 0,
                    },
                )
            )
        ports.add(key)
    return errs


def _validate_source_ranges(
    spec: Mapping[str, Any], annotations: Mapping[str, str]
) -> list[FieldError]:
    errs: list[FieldError] = []
    ranges = spec.get("loadBalancerSourceRanges") or []
    is_lb = spec.get("type") == "LoadBalancer"
    if ranges:
        path = "spec.LoadBalancerSourceRanges"
        if not is_lb:
            errs.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
        for i, value in enumerate(ranges):
            errs += validate_cidr(value.strip(), f"{path}[{i}]")
    elif _SOURCE_RANGES_ANNOTATION in annotations:
        path = f"metadata.annotations[{_SOURCE_RANGES_ANNOTATION}]"
        if not is_lb:
            errs.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
        value = annotations[_SOURCE_RANGES_ANNOTATION].strip()
        for cidr in value.split(",") if value else []:
            errs += validate_cidr(cidr.strip(), path)
    return errs


def _validate_load_balancer_fields(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    is_lb = spec.get("type") == "LoadBalancer"
    if spec.get("allocateLoadBalancerNodePorts") is not None and not is_lb:
        errs.append(
            forbidden(
                "spec.allocateLoadBalancerNodePorts",
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    if is_lb and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.append(required("allocateLoadBalancerNodePorts"))
    lb_class = spec.get("loadBalancerClass")
    if lb_class is not None:
        if is_lb:
            errs += validate_qualified_name(lb_class, "spec.loadBalancerClass")
        else:
            errs.append(
                forbidden(
                    "spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"
                )
            )
    return errs


def _validate_traffic_policies(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    external = spec.get("externalTrafficPolicy") or ""
    if not externally_accessible(spec):
        if external:
            errs.append(
                invalid(
                    "spec.externalTrafficPolicy",
                    external,
                    "may only be set for externally-accessible services",
                )
            )
    elif not external:
        errs.append(required("spec.externalTrafficPolicy"))
    elif external not in ("Cluster", "Local"):
        errs.append(not_supported("spec.externalTrafficPolicy", external, ["Cluster", "Local"]))
    health = spec.get("healthCheckNodePort") or 0
    if not needs_health_check(spec):
        if health:
            errs.append(
                invalid(
                    "spec.healthCheckNodePort",
                    health,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
                )
            )
    elif not health:
        errs.append(required("spec.healthCheckNodePort"))
    else:
        errs += [invalid("spec.healthCheckNodePort", health, m) for m in is_valid_port_num(health)]
    internal = spec.get("internalTrafficPolicy")
    if internal is None and spec.get("type") in ("NodePort", "LoadBalancer", "ClusterIP"):
        errs.append(required("spec.internalTrafficPolicy"))
    if internal is not None and internal not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", internal, ["Cluster", "Local"]))
    distribution = spec.get("trafficDistribution")
    if distribution is not None and distribution != "PreferClose":
        errs.append(not_supported("spec.trafficDistribution", distribution, ["PreferClose"]))
    return errs


def _validate_cluster_ip_changes(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[FieldError]:
    if "ExternalName" in (old.get("type"), new.get("type")):
        return []
    if is_headless(old) and is_headless(new):
        return []
    old_ips, new_ips = old.get("clusterIPs") or [], new.get("clusterIPs") or []
    errs: list[FieldError] = []
    if len(old_ips) == len(new_ips):
        errs += [
            invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set")
            for i, ip in enumerate(old_ips)
            if ip != new_ips[i]
        ]
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(
                invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset")
            )
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            errs.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
        if len(new_ips) == 1 and new.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    new.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
    return errs


def _validate_family_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldError]:
    if "ExternalName" in (old.get("type"), new.get("type")):
        return []
    if is_headless(old) or is_headless(new):
        return []
    old_families, families = old.get("ipFamilies") or [], new.get("ipFamilies") or []
    errs: list[FieldError] = []
    if len(old_families) == len(families):
        errs += [
            invalid("spec.ipFamilies[0]", families, "may not change once set")
            for i, family in enumerate(old_families)
            if family != families[i]
        ]
    elif len(old_families) > len(families):
        if not new.get("clusterIPs"):
            errs.append(
                invalid("spec.ipFamilies[0]", families, "primary ipFamily can not be unset")
            )
        if families and families[0] != old_families[0]:
            errs.append(
                invalid("spec.ipFamilies[0]", new.get("clusterIPs"), "may not change once set")
            )
        if len(families) == 1 and new.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    new.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                )
            )
    elif old_families and families and families[0] != old_families[0]:
        errs.append(invalid("spec.ipFamilies[0]", new.get("clusterIPs"), "may not change once set"))
    return errs
