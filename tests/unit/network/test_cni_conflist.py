"""Network configuration lists and the per-plugin configuration derived from them."""

from __future__ import annotations

import json

import pytest

from pilothouse.network.cni import InvalidConfig, NetworkConfigList
from pilothouse.network.cni.conflist import plugin_config

PORTMAP = {"type": "portmap", "capabilities": {"portMappings": True, "bandwidth": False}}


def test_the_list_name_and_version_replace_the_plugins_own() -> None:
    network = NetworkConfigList("net", "1.0.0", ({"type": "x", "name": "mine", "cniVersion": "0.3.1"},))

    config = json.loads(plugin_config(network, network.plugins[0], capability_args={}, prev_result=None))

    assert config == {"type": "x", "name": "net", "cniVersion": "1.0.0"}


def test_runtime_config_carries_only_declared_capabilities() -> None:
    network = NetworkConfigList("net", "1.0.0", (PORTMAP,))
    args = {"portMappings": [{"hostPort": 1}], "bandwidth": {"rate": 1}, "ips": ["10.0.0.9"]}

    config = json.loads(plugin_config(network, PORTMAP, capability_args=args, prev_result=None))

    assert config["runtimeConfig"] == {"portMappings": [{"hostPort": 1}]}


def test_a_plugin_without_matching_capability_gets_no_runtime_config() -> None:
    plugin = {"type": "bridge", "runtimeConfig": {"stale": True}}
    network = NetworkConfigList("net", "1.0.0", (plugin,))

    config = json.loads(plugin_config(network, plugin, capability_args={"portMappings": []}, prev_result=None))

    assert "runtimeConfig" not in config


def test_prev_result_is_passed_verbatim() -> None:
    network = NetworkConfigList("net", "1.0.0", (PORTMAP,))
    previous = {"cniVersion": "1.0.0", "ips": [], "vendorField": {"kept": True}}

    config = json.loads(plugin_config(network, PORTMAP, capability_args={}, prev_result=previous))

    assert config["prevResult"] == previous


def test_round_trip_through_bytes() -> None:
    network = NetworkConfigList("net", "1.0.0", ({"type": "bridge"}, PORTMAP), disable_check=True)
    assert NetworkConfigList.from_bytes(network.to_bytes()) == network


def test_disable_check_accepts_the_specs_string_form() -> None:
    data = b'{"name": "n", "cniVersion": "1.0.0", "disableCheck": "true", "plugins": [{"type": "x"}]}'
    assert NetworkConfigList.from_bytes(data).disable_check


@pytest.mark.parametrize(
    ("name", "plugins"),
    [("-bad", ({"type": "x"},)), ("ok", ()), ("ok", ({"notype": 1},)), ("a b", ({"type": "x"},))],
)
def test_invalid_lists_are_rejected(name: str, plugins: tuple[dict[str, object], ...]) -> None:
    with pytest.raises(InvalidConfig):
        NetworkConfigList(name, "1.0.0", plugins)


def test_malformed_bytes_are_rejected() -> None:
    with pytest.raises(InvalidConfig):
        NetworkConfigList.from_bytes(b'{"name": "n"}')
