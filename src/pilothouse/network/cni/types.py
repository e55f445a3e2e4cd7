"""The CNI 1.0 result as dataclasses, parsed from a plugin's JSON output.

Parsing is strict about the fields this package relies on (addresses, prefixes, interface
indexes) and ignores fields it does not know, as the specification asks of consumers. The
plugin's JSON is kept verbatim in ``Result.raw`` because it, not a re-serialisation, is what
the specification requires as ``prevResult`` for the next plugin and for DEL and CHECK.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str = ""
    # Path of the network namespace holding the interface; empty for the host side.
    sandbox: str = ""
    mtu: int | None = None


@dataclass(frozen=True)
class IPConfig:
    address: IPInterface
    gateway: IPAddress | None = None
    # Index into Result.interfaces of the interface holding the address.
    interface: int | None = None


@dataclass(frozen=True)
class Route:
    dst: IPNetwork
    gw: IPAddress | None = None


@dataclass(frozen=True)
class DNS:
    nameservers: tuple[str, ...] = ()
    domain: str = ""
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    cni_version: str
    interfaces: tuple[Interface, ...] = ()
    ips: tuple[IPConfig, ...] = ()
    routes: tuple[Route, ...] = ()
    dns: DNS = DNS()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def ips_on(self, interface_index: int) -> tuple[IPConfig, ...]:
        return tuple(ip for ip in self.ips if ip.interface == interface_index)

    def sandbox_interface(self, name: str) -> int | None:
        """Index of the interface called ``name`` inside the sandbox, if the result has one."""
        for index, interface in enumerate(self.interfaces):
            if interface.name == name and interface.sandbox:
                return index
        return None


def parse_result(data: Mapping[str, Any]) -> Result:
    """Parses a CNI 1.0 result; raises InvalidResult when a field has the wrong shape."""
    try:
        interfaces = tuple(_interface(item) for item in data.get("interfaces") or ())
        ips = tuple(_ip_config(item, len(interfaces)) for item in data.get("ips") or ())
        routes = tuple(_route(item) for item in data.get("routes") or ())
        dns = _dns(data.get("dns") or {})
        version = data["cniVersion"]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidResult(f"malformed CNI result: {exc!r}") from exc
    if not isinstance(version, str):
        raise InvalidResult(f"malformed CNI result: cniVersion {version!r}")
    return Result(version, interfaces, ips, routes, dns, raw=data)


def _interface(item: Mapping[str, Any]) -> Interface:
    mtu = item.get("mtu")
    return Interface(
        name=_string(item["name"]),
        mac=_string(item.get("mac", "")),
        sandbox=_string(item.get("sandbox", "")),
        mtu=int(mtu) if mtu is not None else None,
    )


def _ip_config(item: Mapping[str, Any], interface_count: int) -> IPConfig:
    index = item.get("interface")
    if index is not None and (not isinstance(index, int) or not 0 <= index < interface_count):
        raise ValueError(f"interface index {index!r} outside the interfaces list")
    gateway = item.get("gateway")
    return IPConfig(
        address=ipaddress.ip_interface(_string(item["address"])),
        gateway=ipaddress.ip_address(gateway) if gateway else None,
        interface=index,
    )


def _route(item: Mapping[str, Any]) -> Route:
    gw = item.get("gw")
    return Route(
        dst=ipaddress.ip_network(_string(item["dst"]), strict=False),
        gw=ipaddress.ip_address(gw) if gw else None,
    )


def _dns(item: Mapping[str, Any]) -> DNS:
    return DNS(
        nameservers=tuple(_string(value) for value in item.get("nameservers") or ()),
        domain=_string(item.get("domain", "")),
        search=tuple(_string(value) for value in item.get("search") or ()),
        options=tuple(_string(value) for value in item.get("options") or ()),
    )


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value
