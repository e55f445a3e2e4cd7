"""Node network settings, the pod network's CNI configuration and the node's nftables table."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from pilothouse.network import NodeNetworkConfig, PortMapping
from pilothouse.network.nftables import node_table_body
from pilothouse.network.podconfig import loopback_network, plugin_types, pod_network


def config(**overrides: object) -> NodeNetworkConfig:
    values: dict[str, object] = {
        "pod_cidr": IPv4Network("10.244.3.0/24"),
        "data_dir": Path("/var/lib/pilothouse/network"),
    }
    values.update(overrides)
    return NodeNetworkConfig(**values)  # type: ignore[arg-type]


def test_defaults_follow_the_cluster_layout() -> None:
    node = config()
    assert node.cluster_cidr == IPv4Network("10.244.0.0/16")
    assert node.service_cidr == IPv4Network("10.96.0.0/12")
    assert node.gateway == IPv4Address("10.244.3.1")
    assert str(node.gateway_interface) == "10.244.3.1/24"
    assert node.nft_table == "pilothouse_ph0"
    assert node.ipam_dir == Path("/var/lib/pilothouse/network/cni/networks")
    assert node.state_file == Path("/var/lib/pilothouse/network/node-network.json")


def test_internal_destinations_are_merged() -> None:
    node = config(internal_cidrs=(IPv4Network("172.31.255.0/24"), IPv4Network("10.244.7.0/24")))
    assert node.internal_destinations == (
        IPv4Network("10.96.0.0/12"),
        IPv4Network("10.244.0.0/16"),
        IPv4Network("172.31.255.0/24"),
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"pod_cidr": IPv4Network("10.245.0.0/24")},
        {"pod_cidr": IPv4Network("10.244.0.0/31")},
        {"service_cidr": IPv4Network("10.244.128.0/20")},
        {"bridge": "a-very-long-bridge-name"},
        {"bridge": "bad name"},
        {"bridge": "0starts-with-digit"},
    ],
    ids=lambda overrides: next(iter(overrides)),
)
def test_inconsistent_settings_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        config(**overrides)


def test_pod_network_conflist() -> None:
    network = pod_network(config(bridge="ph1", mtu=1400))

    assert network.to_json() == {
        "cniVersion": "1.0.0",
        "name": "pilothouse",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "ph1",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": "10.244.3.0/24", "gateway": "10.244.3.1"}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": "/var/lib/pilothouse/network/cni/networks",
                },
                "mtu": 1400,
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }


def test_loopback_is_a_network_of_its_own() -> None:
    assert loopback_network().to_json() == {
        "cniVersion": "1.0.0",
        "name": "cni-loopback",
        "plugins": [{"type": "loopback"}],
    }


def test_plugin_types_include_delegated_ipam() -> None:
    assert plugin_types(config()) == ("loopback", "bridge", "host-local", "portmap")


def test_port_mapping_in_cni_form() -> None:
    assert PortMapping(8080, 80).to_cni() == {
        "hostPort": 8080, "containerPort": 80, "protocol": "tcp"
    }
    assert PortMapping(53, 5353, "UDP", "172.31.255.2").to_cni() == {
        "hostPort": 53, "containerPort": 5353, "protocol": "udp", "hostIP": "172.31.255.2"
    }


@pytest.mark.parametrize(
    "args", [(0, 80), (80, 70000), (80, 80, "tcp"), (80, 80, "ICMP"), (80, 80, "TCP", "nowhere")]
)
def test_invalid_port_mappings_are_rejected(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        PortMapping(*args)  # type: ignore[arg-type]


def test_node_table_masquerades_pod_egress_outside_the_cluster() -> None:
    body = node_table_body(
        pod_cidr=IPv4Network("10.244.3.0/24"),
        internal=(IPv4Network("10.96.0.0/12"), IPv4Network("10.244.0.0/16")),
        block_pod_egress=False,
    )
    assert "elements = { 10.96.0.0/12, 10.244.0.0/16 }" in body
    assert "type nat hook postrouting priority srcnat" in body
    assert "ip saddr 10.244.3.0/24 ip daddr != @internal masquerade" in body
    assert "drop" not in body


def test_node_table_can_block_pod_egress() -> None:
    body = node_table_body(
        pod_cidr=IPv4Network("10.244.3.0/24"),
        internal=(IPv4Network("10.244.0.0/16"),),
        block_pod_egress=True,
    )
    assert "type filter hook forward priority filter" in body
    assert "ip saddr 10.244.3.0/24 ip daddr != @internal counter drop" in body
