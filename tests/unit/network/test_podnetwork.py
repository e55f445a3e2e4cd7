"""PodNetwork (what the kubelet calls) over fake plugins: status, idempotency, teardown."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from fakeplugins import FakePlugins

from pilothouse.network import NodeNetworkConfig, PodNetwork, PortMapping
from pilothouse.network.cni import CNIError, PluginError


@pytest.fixture
def node_plugins(tmp_path: Path) -> FakePlugins:
    return FakePlugins(tmp_path / "plugins", ("bridge", "host-local", "portmap", "loopback"))


@pytest.fixture
def config(tmp_path: Path, node_plugins: FakePlugins) -> NodeNetworkConfig:
    return NodeNetworkConfig(
        pod_cidr=IPv4Network("10.244.0.0/24"),
        data_dir=tmp_path / "network",
        bridge="br0",
        cni_bin_dirs=(node_plugins.directory,),
    )


@pytest.fixture
def pods(config: NodeNetworkConfig) -> PodNetwork:
    return PodNetwork(config)


async def setup(pods: PodNetwork, netns: Path, *ports: PortMapping):  # type: ignore[no-untyped-def]
    return await pods.setup_sandbox(
        "sandbox1", str(netns), pod_name="web", pod_namespace="shop", pod_uid="uid-1",
        port_mappings=ports,
    )


async def test_setup_wires_loopback_then_eth0_and_reports_the_pod_ip(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    status = await setup(pods, netns, PortMapping(8080, 80))

    assert status.ip == IPv4Address("10.244.0.3")
    assert status.ips == (IPv4Address("10.244.0.3"),)
    assert status.gateway == IPv4Address("10.244.0.1")
    assert (status.interface, status.host_interface) == ("eth0", "vethsandbox1")
    assert status.netns == str(netns)
    assert node_plugins.sequence() == [
        ("loopback", "ADD"), ("bridge", "ADD"), ("portmap", "ADD"),
    ]
    loopback, bridge, portmap = node_plugins.calls()
    assert loopback["env"]["CNI_IFNAME"] == "lo"
    assert bridge["env"]["CNI_IFNAME"] == "eth0"
    assert bridge["env"]["CNI_ARGS"] == (
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;"
        "K8S_POD_INFRA_CONTAINER_ID=sandbox1;K8S_POD_UID=uid-1"
    )
    assert portmap["config"]["runtimeConfig"] == {
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]
    }


async def test_setup_again_only_checks(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    first = await setup(pods, netns)
    node_plugins.clear_calls()

    again = await setup(pods, netns)

    assert again == first
    assert node_plugins.sequence() == [("bridge", "CHECK")]


async def test_a_pod_without_host_ports_never_runs_portmap(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    await setup(pods, netns)
    await pods.teardown_sandbox("sandbox1")

    assert node_plugins.sequence() == [
        ("loopback", "ADD"), ("bridge", "ADD"), ("bridge", "DEL"), ("loopback", "DEL"),
    ]
    assert node_plugins.leases() == []


async def test_setup_with_other_ports_rewires(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    await setup(pods, netns)
    node_plugins.clear_calls()

    await setup(pods, netns, PortMapping(9090, 90))

    assert ("bridge", "DEL") in node_plugins.sequence()
    assert node_plugins.sequence()[-1] == ("portmap", "ADD")
    assert node_plugins.calls()[-1]["config"]["runtimeConfig"]["portMappings"][0]["hostPort"] == 9090


async def test_setup_rewires_when_check_fails(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    await setup(pods, netns, PortMapping(8080, 80))
    node_plugins.fail("bridge", "CHECK", msg="veth missing")
    node_plugins.clear_calls()

    await setup(pods, netns, PortMapping(8080, 80))

    assert node_plugins.sequence()[-2:] == [("bridge", "ADD"), ("portmap", "ADD")]


async def test_teardown_releases_both_attachments_and_is_idempotent(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    await setup(pods, netns, PortMapping(8080, 80))
    node_plugins.clear_calls()

    await pods.teardown_sandbox("sandbox1")
    await pods.teardown_sandbox("sandbox1")

    assert node_plugins.sequence()[:3] == [
        ("portmap", "DEL"), ("bridge", "DEL"), ("loopback", "DEL"),
    ]
    assert node_plugins.calls()[1]["env"]["CNI_NETNS"] == str(netns)
    assert node_plugins.leases() == []
    assert await pods.attached_sandboxes() == []
    assert await pods.sandbox_status("sandbox1") is None


async def test_teardown_tries_loopback_even_when_the_pod_network_fails(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    await setup(pods, netns, PortMapping(8080, 80))
    node_plugins.fail("portmap", "DEL", msg="iptables locked")
    node_plugins.clear_calls()

    with pytest.raises(PluginError, match="iptables locked"):
        await pods.teardown_sandbox("sandbox1")

    assert node_plugins.sequence() == [("portmap", "DEL"), ("loopback", "DEL")]
    assert await pods.attached_sandboxes() == ["sandbox1"]


async def test_failed_setup_leaves_nothing_behind(
    pods: PodNetwork, node_plugins: FakePlugins, netns: Path
) -> None:
    node_plugins.fail("portmap", "ADD", msg="port taken")

    with pytest.raises(PluginError, match="port taken"):
        await setup(pods, netns, PortMapping(8080, 80))

    assert node_plugins.leases() == []
    assert await pods.attached_sandboxes() == []
    cache = pods.config.cni_dir / "results"
    assert list(cache.iterdir()) == []


async def test_status_survives_a_restart_of_the_caller(
    pods: PodNetwork, config: NodeNetworkConfig, netns: Path
) -> None:
    status = await setup(pods, netns)

    restarted = PodNetwork(config)

    assert await restarted.sandbox_status("sandbox1") == status
    assert await restarted.attached_sandboxes() == ["sandbox1"]


async def test_verify_plugins_accepts_cni_1_0_plugins(pods: PodNetwork) -> None:
    await pods.verify_plugins()


async def test_verify_plugins_rejects_an_old_plugin(
    pods: PodNetwork, node_plugins: FakePlugins
) -> None:
    old = {"cniVersion": "0.4.0", "supportedVersions": ["0.3.1", "0.4.0"]}
    node_plugins.answer("host-local", "VERSION", stdout=json.dumps(old))

    with pytest.raises(CNIError, match="host-local"):
        await pods.verify_plugins()
