"""Endpoints (core/v1) and EndpointSlices (discovery.k8s.io/v1).

Endpoint addresses may not be unspecified, loopback or link-local. An EndpointSlice's
addressType is required and immutable ("IP" is accepted only on update, for old objects);
its ports default to protocol TCP and name "", and its generation follows changes to
endpoints, ports and addressType.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.errors import FieldError, duplicate, invalid, not_supported, required
from pilothouse.api.kinds.base import KindStrategy, NoStatusStrategy, items
from pilothouse.api.kinds.containers import PROTOCOLS, validate_protocol
from pilothouse.api.kinds.service import validate_non_special_ip
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_num,
    name_is_dns_subdomain,
    parse_ip,
    too_many,
    validate_dns1123_label,
    validate_immutable,
    validate_ip,
    validate_labels,
    validate_qualified_name,
)

ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]


class EndpointsStrategy(NoStatusStrategy):
    def default(self, obj: Obj) -> None:
        for _, subset in items(obj, "subsets"):
            for _, port in items(subset, "ports"):
                if not port.get("protocol"):
                    port["protocol"] = "TCP"

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, subset in items(obj, "subsets"):
            path = f"subsets[{i}]"
            if not subset.get("addresses") and not subset.get("notReadyAddresses"):
                errs.append(required(path, "must specify `addresses` or `notReadyAddresses`"))
            for key in ("addresses", "notReadyAddresses"):
                for j, address in items(subset, key):
                    errs += _validate_address(address, f"{path}.{key}[{j}]")
            ports = list(items(subset, "ports"))
            for j, port in ports:
                errs += _validate_port(port, len(ports) > 1, f"{path}.ports[{j}]")
        return errs


def _validate_address(address: dict[str, Any], path: str) -> list[FieldError]:
    ip = address.get("ip") or ""
    errs = validate_ip(ip, f"{path}.ip")
    if address.get("hostname"):
        errs += validate_dns1123_label(address["hostname"], f"{path}.hostname")
    node_name = address.get("nodeName")
    if node_name is not None:
        errs += [
            invalid(f"{path}.nodeName", node_name, m) for m in name_is_dns_subdomain(node_name)
        ]
    return errs + validate_non_special_ip(ip, f"{path}.ip")


def _validate_port(port: dict[str, Any], require_name: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs += validate_dns1123_label(name, f"{path}.name")
    number = port.get("port") or 0
    errs += [invalid(f"{path}.port", number, m) for m in is_valid_port_num(number)]
    errs += validate_protocol(port.get("protocol") or "", f"{path}.protocol")
    if port.get("appProtocol") is not None:
        errs += validate_qualified_name(port["appProtocol"], f"{path}.appProtocol")
    return errs


class EndpointSliceStrategy(KindStrategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        for _, port in items(obj, "ports"):
            if port.get("name") is None:
                port["name"] = ""
            if port.get("protocol") is None:
                port["protocol"] = "TCP"

    def validate(self, obj: Obj) -> list[FieldError]:
        # Updates still accept the deprecated "IP" address type of old objects.
        return _validate_slice(obj, sorted([*ADDRESS_TYPES, "IP"]))

    def validate_create(self, obj: Obj) -> list[FieldError]:
        return _validate_slice(obj, ADDRESS_TYPES)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_immutable(new.get("addressType"), old.get("addressType"), "addressType")


def _validate_slice(obj: Obj, address_types: list[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    address_type = obj.get("addressType") or ""
    if not address_type:
        errs.append(required("addressType"))
    elif address_type not in address_types:
        errs.append(not_supported("addressType", address_type, address_types))
    endpoints = obj.get("endpoints") or []
    if len(endpoints) > 1000:
        errs.append(too_many("endpoints", len(endpoints), 1000))
    else:
        for i, endpoint in items(obj, "endpoints"):
            errs += _validate_endpoint(endpoint, address_type, f"endpoints[{i}]")
    ports = obj.get("ports") or []
    if len(ports) > 100:
        return errs + [too_many("ports", len(ports), 100)]
    names: set[str] = set()
    for i, port in items(obj, "ports"):
        path = f"ports[{i}]"
        name = port.get("name") or ""
        if name:
            errs += validate_dns1123_label(name, f"{path}.name")
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            errs.append(required(f"{path}.protocol"))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
        if port.get("appProtocol") is not None:
            errs += [
                invalid(f"{path}.appProtocol", port["appProtocol"], m)
                for m in is_qualified_name(port["appProtocol"])
            ]
    return errs


def _validate_endpoint(endpoint: dict[str, Any], address_type: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    addresses = endpoint.get("addresses") or []
    if not addresses:
        errs.append(required(f"{path}.addresses", "must contain at least 1 address"))
    elif len(addresses) > 100:
        errs.append(too_many(f"{path}.addresses", len(addresses), 100))
    for i, address in enumerate(addresses):
        errs += _validate_slice_address(address, address_type, f"{path}.addresses[{i}]")
    topology = endpoint.get("deprecatedTopology") or {}
    if len(topology) > 16:
        errs.append(too_many(f"{path}.topology", len(topology), 16))
    errs += validate_labels(topology, f"{path}.topology")
    if endpoint.get("hostname") is not None:
        errs += validate_dns1123_label(endpoint["hostname"], f"{path}.hostname")
    return errs


def _validate_slice_address(address: str, address_type: str, path: str) -> list[FieldError]:
    if address_type == "IP":
        return validate_ip(address, path)
    if address_type in ("IPv4", "IPv6"):
        ip = parse_ip(address)
        version = 4 if address_type == "IPv4" else 6
        if ip is None or ip.version != version:
            return [invalid(path, address, f"must be a valid {address_type} address")]
        return validate_non_special_ip(address, path)
    if address_type == "FQDN":
        return _validate_fqdn(address, path)
    return []


def _validate_fqdn(name: str, path: str) -> list[FieldError]:
    if not name:
        return [required(path)]
    name = name.removesuffix(".")
    messages = is_dns1123_subdomain(name)
    if messages:
        return [invalid(path, name, ",".join(messages))]
    if len(name.split(".")) < 2:
        return [
            invalid(path, name, "should be a domain with at least two segments separated by dots")
        ]
    for label in name.split("."):
        messages = is_dns1123_label(label)
        if messages:
            return [invalid(path, label, ",".join(messages))]
    return []
