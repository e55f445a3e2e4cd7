"""Parsing CNI 1.0 results into dataclasses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, ip_interface

import pytest

from pilothouse.network.cni import DNS, Interface, InvalidResult, IPConfig, Route
from pilothouse.network.cni.types import parse_result

# What Debian's bridge plugin 1.1.1 printed on this machine (with a DNS section added).
BRIDGE_RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "ph0", "mac": "ea:bc:38:49:59:e3"},
        {"name": "vethb8d04945", "mac": "f2:7a:5a:e4:88:f8"},
        {"name": "eth0", "mac": "ae:ba:42:92:78:61", "sandbox": "/run/netns/pod1"},
    ],
    "ips": [{"interface": 2, "address": "10.244.250.2/24", "gateway": "10.244.250.1"}],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.96.0.0/12", "gw": "10.244.250.1"}],
    "dns": {"nameservers": ["10.96.0.10"], "search": ["default.svc.cluster.local"]},
}


def test_a_bridge_result_parses_into_dataclasses() -> None:
    result = parse_result(BRIDGE_RESULT)

    assert result.cni_version == "1.0.0"
    assert result.interfaces == (
        Interface("ph0", "ea:bc:38:49:59:e3"),
        Interface("vethb8d04945", "f2:7a:5a:e4:88:f8"),
        Interface("eth0", "ae:ba:42:92:78:61", sandbox="/run/netns/pod1"),
    )
    assert result.ips == (
        IPConfig(ip_interface("10.244.250.2/24"), IPv4Address("10.244.250.1"), 2),
    )
    assert result.routes == (
        Route(IPv4Network("0.0.0.0/0")),
        Route(IPv4Network("10.96.0.0/12"), IPv4Address("10.244.250.1")),
    )
    assert result.dns == DNS(nameservers=("10.96.0.10",), search=("default.svc.cluster.local",))
    assert result.raw is BRIDGE_RESULT


def test_sandbox_interface_and_its_addresses() -> None:
    result = parse_result(BRIDGE_RESULT)

    assert result.sandbox_interface("eth0") == 2
    assert result.sandbox_interface("ph0") is None  # a host-side interface
    assert [str(ip.address.ip) for ip in result.ips_on(2)] == ["10.244.250.2"]


def test_a_minimal_result_has_empty_sections() -> None:
    result = parse_result({"cniVersion": "1.0.0", "dns": {}})
    assert (result.interfaces, result.ips, result.routes, result.dns) == ((), (), (), DNS())


def test_unknown_fields_are_ignored() -> None:
    data = {**BRIDGE_RESULT, "future": 1, "interfaces": [{"name": "x", "pciID": "0000:00:01"}]}
    data["ips"] = [{"address": "10.0.0.2/8"}]
    assert parse_result(data).interfaces == (Interface("x"),)


@pytest.mark.parametrize(
    "broken",
    [
        {"ips": [{"address": "not-an-ip/24"}]},
        {"ips": [{"address": "10.0.0.2/24", "interface": 7}]},
        {"ips": [{"address": "10.0.0.2/24", "interface": "2"}]},
        {"interfaces": [{"mac": "no name"}]},
        {"routes": [{"gw": "10.0.0.1"}]},
        {"cniVersion": 1},
        {"interfaces": "eth0"},
    ],
    ids=lambda case: next(iter(case)),
)
def test_malformed_results_are_rejected(broken: dict[str, object]) -> None:
    with pytest.raises(InvalidResult):
        parse_result({**BRIDGE_RESULT, **broken})


def test_a_result_without_version_is_rejected() -> None:
    data = dict(BRIDGE_RESULT)
    del data["cniVersion"]
    with pytest.raises(InvalidResult):
        parse_result(data)
