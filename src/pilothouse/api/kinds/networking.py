"""Ingresses, IngressClasses and NetworkPolicies (networking.k8s.io/v1).

Ingress paths must be absolute; pathType is required and Exact/Prefix paths must be plain
paths; a backend names a service (with a port number or name) or a resource, not both; hosts
are DNS subdomains (a leading "*." wildcard allowed) and not IP addresses. NetworkPolicy ports
default to TCP and policyTypes to Ingress (plus Egress when egress rules are given).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pilothouse.api.errors import FieldError, forbidden, invalid, not_supported, required
from pilothouse.api.kinds.base import KindStrategy, dig, ensure, items, validate_selector
from pilothouse.api.kinds.containers import PROTOCOLS, validate_port_num_or_name
from pilothouse.api.validation import (
    is_dns1123_subdomain,
    is_valid_port_num,
    is_wildcard_dns1123_subdomain,
    name_is_dns1035_label,
    name_is_dns_subdomain,
    parse_cidr,
    parse_ip,
    too_long,
    validate_cidr,
    validate_immutable,
)

Obj = dict[str, Any]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")


class IngressStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs: list[FieldError] = []
        rules = spec.get("rules") or []
        if not rules and spec.get("defaultBackend") is None:
            errs.append(
                invalid("spec.rules", rules, "either `defaultBackend` or `rules` must be specified")
            )
        if spec.get("defaultBackend") is not None:
            errs += _validate_backend(spec["defaultBackend"], "spec.defaultBackend")
        for i, rule in enumerate(rules):
            errs += _validate_rule(rule or {}, f"spec.rules[{i}]")
        for i, tls in items(spec, "tls"):
            for j, host in enumerate(tls.get("hosts") or []):
                errs += _validate_host(host, f"spec.tls[{i}].hosts[{j}]")
            secret = tls.get("secretName") or ""
            if secret:
                errs += [
                    invalid(f"spec.tls[{i}].secretName", secret, m)
                    for m in name_is_dns_subdomain(secret)
                ]
        class_name = spec.get("ingressClassName")
        if class_name is not None:
            errs += [
                invalid("spec.ingressClassName", class_name, m)
                for m in name_is_dns_subdomain(class_name)
            ]
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, ingress in items(new, "status", "loadBalancer", "ingress"):
            if ingress.get("ip"):
                ip = parse_ip(ingress["ip"])
                if ip is None:
                    errs.append(
                        invalid(
                            f"status.loadBalancer.ingress[{i}].ip",
                            ingress["ip"],
                            "must be a valid IP address",
                        )
                    )
            if ingress.get("hostname"):
                errs += [
                    invalid(f"status.loadBalancer.ingress[{i}].hostname", ingress["hostname"], m)
                    for m in is_dns1123_subdomain(ingress["hostname"])
                ]
        return errs


def _validate_host(host: str, path: str) -> list[FieldError]:
    if host.startswith("*."):
        errs = [invalid(path, host, m) for m in is_wildcard_dns1123_subdomain(host)]
    else:
        errs = [invalid(path, host, m) for m in is_dns1123_subdomain(host)]
    if parse_ip(host) is not None:
        errs.append(invalid(path, host, "must be a DNS name, not an IP address"))
    return errs


def _validate_rule(rule: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    host = rule.get("host") or ""
    if host:
        errs += _validate_host(host, f"{path}.host")
    http = rule.get("http")
    if http is None:
        return errs
    paths = http.get("paths") or []
    if not paths:
        errs.append(required(f"{path}.http.paths"))
    for i, entry in enumerate(paths):
        errs += _validate_path(entry or {}, f"{path}.http.paths[{i}]")
    return errs


def _validate_path(entry: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    value = entry.get("path") or ""
    kind = entry.get("pathType")
    if kind is None:
        return [required(f"{path}.pathType", "pathType must be specified")]
    if kind in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid(f"{path}.path", value, "must be an absolute path"))
        for sequence in _INVALID_PATH_SEQUENCES:
            if sequence in value:
                errs.append(invalid(f"{path}.path", value, f"must not contain '{sequence}'"))
        for suffix in _INVALID_PATH_SUFFIXES:
            if value.endswith(suffix):
                errs.append(invalid(f"{path}.path", value, f"cannot end with '{suffix}'"))
    elif kind == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid(f"{path}.path", value, "must be an absolute path"))
    else:
        errs.append(not_supported(f"{path}.pathType", kind, PATH_TYPES))
    return errs + _validate_backend(entry.get("backend") or {}, f"{path}.backend")


def _validate_backend(backend: dict[str, Any], path: str) -> list[FieldError]:
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        errs: list[FieldError] = []
        for key in ("kind", "name"):
            if not resource.get(key):
                errs.append(required(f"{path}.resource.{key}"))
        return errs
    if service is None:
        return [invalid(path, "", "resource or service backend is required")]
    errs = []
    name = service.get("name") or ""
    if not name:
        errs.append(required(f"{path}.service.name"))
    else:
        errs += [invalid(f"{path}.service.name", name, m) for m in name_is_dns1035_label(name)]
    port = service.get("port") or {}
    number, port_name = port.get("number") or 0, port.get("name") or ""
    if number and port_name:
        errs.append(
            invalid(f"{path}.service.port", port, "cannot set both port name & port number")
        )
    elif port_name:
        errs += validate_port_num_or_name(port_name, f"{path}.service.port.name")
    elif number:
        errs += [
            invalid(f"{path}.service.port.number", number, m) for m in is_valid_port_num(number)
        ]
    else:
        errs.append(required(f"{path}.service.port", "port name or number is required"))
    return errs


class IngressClassStrategy(KindStrategy):
    has_status = False

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        controller = spec.get("controller") or ""
        errs: list[FieldError] = []
        if not controller:
            errs.append(required("spec.controller"))
        else:
            errs += _validate_controller(controller)
        parameters = spec.get("parameters")
        if isinstance(parameters, dict):
            errs += _validate_parameters(parameters)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_immutable(
            dig(new, "spec", "controller"), dig(old, "spec", "controller"), "spec.controller"
        )


def _validate_controller(controller: str) -> list[FieldError]:
    errs: list[FieldError] = []
    host, sep, rest = controller.partition("/")
    if not sep or not host or not rest:
        errs.append(
            invalid(
                "spec.controller",
                controller,
                'must be a domain-prefixed path (such as "acme.io/foo")',
            )
        )
    else:
        errs += [invalid("spec.controller", host, m) for m in is_dns1123_subdomain(host)]
    if len(controller) > 250:
        errs.append(too_long("spec.controller", 250))
    return errs


def _validate_parameters(parameters: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    path = "spec.parameters"
    if not parameters.get("kind"):
        errs.append(required(f"{path}.kind"))
    if not parameters.get("name"):
        errs.append(required(f"{path}.name"))
    scope = parameters.get("scope")
    if scope is not None and scope not in ("Cluster", "Namespace"):
        errs.append(not_supported(f"{path}.scope", scope, ["Cluster", "Namespace"]))
    if scope == "Namespace" and not parameters.get("namespace"):
        errs.append(required(f"{path}.namespace", "`parameters.scope` is set to 'Namespace'"))
    if scope in (None, "Cluster") and parameters.get("namespace"):
        errs.append(forbidden(f"{path}.namespace", "`parameters.scope` is set to 'Cluster'"))
    return errs


class NetworkPolicyStrategy(KindStrategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        spec = ensure(obj, "spec")
        for direction in ("ingress", "egress"):
            for _, rule in items(spec, direction):
                for _, port in items(rule, "ports"):
                    if not port.get("protocol"):
                        port["protocol"] = "TCP"
        if not spec.get("policyTypes"):
            types = ["Ingress"]
            if spec.get("egress"):
                types.append("Egress")
            spec["policyTypes"] = types

    def validate(self, obj: Obj) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = validate_selector(spec.get("podSelector") or {}, "spec.podSelector")
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for i, rule in items(spec, direction):
                path = f"spec.{direction}[{i}]"
                for j, port in items(rule, "ports"):
                    errs += _validate_policy_port(port, f"{path}.ports[{j}]")
                for j, peer in items(rule, peers_key):
                    errs += _validate_peer(peer, f"{path}.{peers_key}[{j}]")
        types = spec.get("policyTypes") or []
        if len(types) > 2:
            errs.append(
                invalid("spec.policyTypes", types, "may not specify more than two policyTypes")
            )
        for i, kind in enumerate(types):
            if kind not in ("Ingress", "Egress"):
                errs.append(not_supported(f"spec.policyTypes[{i}]", kind, ["Egress", "Ingress"]))
        return errs


def _validate_policy_port(port: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    value, end = port.get("port"), port.get("endPort")
    if value is not None:
        errs += validate_port_num_or_name(value, f"{path}.port")
    if end is not None:
        if value is None or isinstance(value, str):
            errs.append(
                required(f"{path}.port", "must specify a numeric port when endPort is specified")
            )
        elif end < value:
            errs.append(invalid(f"{path}.endPort", end, "must be greater than or equal to `port`"))
        else:
            errs += [invalid(f"{path}.endPort", end, m) for m in is_valid_port_num(end)]
    return errs


def _validate_peer(peer: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for key in ("podSelector", "namespaceSelector"):
        if peer.get(key) is not None:
            count += 1
            errs += validate_selector(peer[key], f"{path}.{key}")
    block = peer.get("ipBlock")
    if block is not None:
        count += 1
        errs += _validate_ip_block(block, f"{path}.ipBlock")
    if count == 0:
        errs.append(required(path, "must specify a peer"))
    elif block is not None and count > 1:
        errs.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errs


def _validate_ip_block(block: dict[str, Any], path: str) -> list[FieldError]:
    cidr = block.get("cidr") or ""
    if not cidr:
        return [required(f"{path}.cidr")]
    errs = validate_cidr(cidr, f"{path}.cidr")
    network = parse_cidr(cidr)
    for i, excluded in enumerate(block.get("except") or []):
        item = f"{path}.except[{i}]"
        exclusion_errs = validate_cidr(excluded, item)
        errs += exclusion_errs
        inner = parse_cidr(excluded)
        if (
            not exclusion_errs
            and network is not None
            and inner is not None
            and not _strict_subnet(inner, network)
        ):
            errs.append(invalid(item, excluded, "must be a strict subset of `cidr`"))
    return errs


def _strict_subnet(inner: IPNetwork, outer: IPNetwork) -> bool:
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner != outer and inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner != outer and inner.subnet_of(outer)
    return False
