"""The CNI invoker against fake plugins: the execution protocol, the cache, and the safety
rules for DEL and for network namespaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakeplugins import FakePlugins

from pilothouse.network.cni import (
    CNIInvoker,
    InvalidConfig,
    InvalidNetns,
    InvalidResult,
    NetworkConfigList,
    NotAttached,
    PluginError,
    PluginNotFound,
    PluginTimeout,
    RuntimeConf,
)
from pilothouse.network.cni.netns import OWN_NETNS

NETWORK = NetworkConfigList(
    "testnet",
    "1.0.0",
    (
        {"type": "bridge", "bridge": "br0", "ipam": {"type": "host-local"}},
        {"type": "tuning"},
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ),
)
PORTS = {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}


def runtime(netns: Path | str, **overrides: object) -> RuntimeConf:
    values: dict[str, object] = {
        "container_id": "sandbox1",
        "netns": str(netns),
        "ifname": "eth0",
        "args": (("IgnoreUnknown", "1"), ("K8S_POD_NAME", "web")),
        "capability_args": PORTS,
    }
    values.update(overrides)
    return RuntimeConf(**values)  # type: ignore[arg-type]


async def test_add_runs_plugins_in_order_passing_each_result_on(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    result = await invoker.add(NETWORK, runtime(netns))

    assert plugins.sequence() == [("bridge", "ADD"), ("tuning", "ADD"), ("portmap", "ADD")]
    bridge, tuning, portmap = plugins.calls()
    assert "prevResult" not in bridge["config"]
    assert tuning["config"]["prevResult"] == portmap["config"]["prevResult"] == dict(result.raw)
    assert str(result.ips[0].address) == "10.244.0.2/24"
    assert result.interfaces[2].sandbox == str(netns)


async def test_each_plugin_gets_the_list_name_version_and_only_its_capabilities(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    await invoker.add(NETWORK, runtime(netns))

    for call in plugins.calls():
        assert call["config"]["name"] == "testnet"
        assert call["config"]["cniVersion"] == "1.0.0"
    bridge, tuning, portmap = plugins.calls()
    assert "runtimeConfig" not in bridge["config"]
    assert "runtimeConfig" not in tuning["config"]
    assert portmap["config"]["runtimeConfig"] == PORTS


async def test_plugins_see_the_cni_environment_and_nothing_else(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNI_ARGS", "leaked=1")
    monkeypatch.setenv("SECRET_TOKEN", "x")
    await invoker.add(NETWORK, runtime(netns))

    call = plugins.calls()[0]
    assert call["env"] == {
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "sandbox1",
        "CNI_NETNS": str(netns),
        "CNI_IFNAME": "eth0",
        "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=web",
        "CNI_PATH": str(plugins.directory),
    }
    assert "SECRET_TOKEN" not in call["environ"]


async def test_del_runs_in_reverse_order_with_the_cached_result(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    result = await invoker.add(NETWORK, runtime(netns))
    plugins.clear_calls()

    await invoker.delete(NETWORK, runtime(netns, capability_args={}))

    assert plugins.sequence() == [("portmap", "DEL"), ("tuning", "DEL"), ("bridge", "DEL")]
    for call in plugins.calls():
        assert call["config"]["prevResult"] == dict(result.raw)
        assert call["env"]["CNI_NETNS"] == str(netns)
    # The port mappings come from the cache even though the caller no longer passes them.
    assert plugins.calls()[0]["config"]["runtimeConfig"] == PORTS
    assert plugins.leases() == []
    assert await invoker.cached("testnet", "sandbox1", "eth0") is None


async def test_del_uses_the_configuration_cached_at_add(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    await invoker.add(NETWORK, runtime(netns))
    plugins.clear_calls()
    changed = NetworkConfigList("testnet", "1.0.0", ({"type": "bridge", "bridge": "other"},))

    await invoker.delete(changed, runtime(netns))

    assert plugins.sequence() == [("portmap", "DEL"), ("tuning", "DEL"), ("bridge", "DEL")]
    assert plugins.calls()[2]["config"]["bridge"] == "br0"


async def test_del_without_add_runs_every_plugin_and_succeeds(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    await invoker.delete(NETWORK, runtime(netns))
    await invoker.delete(NETWORK, runtime(netns))

    assert plugins.sequence() == [
        ("portmap", "DEL"), ("tuning", "DEL"), ("bridge", "DEL"),
    ] * 2
    assert all("prevResult" not in call["config"] for call in plugins.calls())


async def test_del_after_the_namespace_is_gone_passes_an_empty_netns(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    await invoker.add(NETWORK, runtime(netns))
    os.unlink(netns)
    plugins.clear_calls()

    await invoker.delete(NETWORK, runtime(netns))

    assert [call["env"]["CNI_NETNS"] for call in plugins.calls()] == ["", "", ""]
    assert plugins.leases() == []


async def test_del_never_enters_a_namespace_other_than_the_one_add_wired(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path, tmp_path: Path
) -> None:
    """The path now names another namespace (like /proc/<pid>/ns/net after pid reuse)."""
    await invoker.add(NETWORK, runtime(netns))
    impostor = tmp_path / "impostor"
    impostor.touch()
    os.replace(impostor, netns)
    plugins.clear_calls()

    await invoker.delete(NETWORK, runtime(netns))

    assert [call["env"]["CNI_NETNS"] for call in plugins.calls()] == ["", "", ""]


async def test_del_without_cache_never_enters_the_nodes_own_namespace(
    invoker: CNIInvoker, plugins: FakePlugins
) -> None:
    await invoker.delete(NETWORK, runtime(OWN_NETNS))

    assert [call["env"]["CNI_NETNS"] for call in plugins.calls()] == ["", "", ""]


@pytest.mark.parametrize("path", [OWN_NETNS, "/proc/1/ns/net-missing", ""], ids=str)
async def test_add_refuses_the_nodes_own_or_a_missing_namespace(
    invoker: CNIInvoker, plugins: FakePlugins, path: str
) -> None:
    with pytest.raises(InvalidNetns):
        await invoker.add(NETWORK, runtime(path))
    assert plugins.calls() == []


async def test_failed_add_is_rolled_back_and_leaves_no_cache(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    plugins.fail("portmap", "ADD", code=11, msg="port in use")

    with pytest.raises(PluginError) as raised:
        await invoker.add(NETWORK, runtime(netns))

    assert (raised.value.plugin, raised.value.code, raised.value.msg) == (
        "portmap", 11, "port in use"
    )
    assert plugins.sequence() == [
        ("bridge", "ADD"), ("tuning", "ADD"), ("portmap", "ADD"),
        ("portmap", "DEL"), ("tuning", "DEL"), ("bridge", "DEL"),
    ]
    assert plugins.leases() == []
    assert await invoker.cached("testnet", "sandbox1", "eth0") is None


async def test_failed_rollback_keeps_the_cache_for_a_later_del(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    plugins.fail("portmap", "ADD")
    plugins.fail("tuning", "DEL")

    with pytest.raises(PluginError) as raised:
        await invoker.add(NETWORK, runtime(netns))
    assert any("rolling back" in note for note in raised.value.__notes__)
    pending = await invoker.cached("testnet", "sandbox1", "eth0")
    assert pending is not None and pending.result is None
    assert pending.capability_args == PORTS

    plugins.reset("tuning", "DEL")
    await invoker.delete(NETWORK, runtime(netns, capability_args={}))
    assert plugins.leases() == []
    assert await invoker.cached("testnet", "sandbox1", "eth0") is None


async def test_del_stops_at_the_first_error_and_keeps_the_cache(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    await invoker.add(NETWORK, runtime(netns))
    plugins.fail("tuning", "DEL")
    plugins.clear_calls()

    with pytest.raises(PluginError):
        await invoker.delete(NETWORK, runtime(netns))

    assert plugins.sequence() == [("portmap", "DEL"), ("tuning", "DEL")]
    assert await invoker.cached("testnet", "sandbox1", "eth0") is not None


async def test_add_over_an_existing_attachment_deletes_it_first(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    await invoker.add(NETWORK, runtime(netns))
    plugins.clear_calls()

    await invoker.add(NETWORK, runtime(netns))

    assert plugins.sequence()[:3] == [("portmap", "DEL"), ("tuning", "DEL"), ("bridge", "DEL")]
    assert plugins.sequence()[3:] == [("bridge", "ADD"), ("tuning", "ADD"), ("portmap", "ADD")]
    assert plugins.leases() == ["sandbox1"]


async def test_check_runs_in_order_with_the_cached_result(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    result = await invoker.add(NETWORK, runtime(netns))
    plugins.clear_calls()

    await invoker.check(NETWORK, runtime(netns))

    assert plugins.sequence() == [("bridge", "CHECK"), ("tuning", "CHECK"), ("portmap", "CHECK")]
    assert all(call["config"]["prevResult"] == dict(result.raw) for call in plugins.calls())


async def test_check_fails_without_add_or_after_the_namespace_went_away(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    with pytest.raises(NotAttached):
        await invoker.check(NETWORK, runtime(netns))
    await invoker.add(NETWORK, runtime(netns))
    os.unlink(netns)
    with pytest.raises(InvalidNetns):
        await invoker.check(NETWORK, runtime(netns))


async def test_check_reports_a_plugin_error(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    await invoker.add(NETWORK, runtime(netns))
    plugins.fail("tuning", "CHECK", code=5, msg="interface changed")

    with pytest.raises(PluginError, match="interface changed"):
        await invoker.check(NETWORK, runtime(netns))


async def test_check_is_skipped_when_the_list_disables_it(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    network = NetworkConfigList("testnet", "1.0.0", NETWORK.plugins, disable_check=True)
    await invoker.check(network, runtime(netns))
    assert plugins.calls() == []


async def test_the_cache_survives_a_new_invoker(
    tmp_path: Path, invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    result = await invoker.add(NETWORK, runtime(netns))
    restarted = CNIInvoker(plugin_dirs=[plugins.directory], cache_dir=tmp_path / "cache")

    cached = await restarted.cached("testnet", "sandbox1", "eth0")
    assert cached is not None
    assert cached.result == dict(result.raw)
    assert [a.container_id for a in await restarted.cached_attachments("testnet")] == [
        "sandbox1"
    ]
    cache_file = tmp_path / "cache" / "results" / "testnet-sandbox1-eth0"
    assert cache_file.exists()


async def test_a_plugin_that_hangs_is_killed_at_the_deadline(
    tmp_path: Path, plugins: FakePlugins, netns: Path
) -> None:
    invoker = CNIInvoker(plugin_dirs=[plugins.directory], cache_dir=tmp_path / "c", timeout=0.5)
    plugins.answer("bridge", "ADD", hang=True)

    with pytest.raises(PluginTimeout):
        await invoker.add(NETWORK, runtime(netns))
    assert await invoker.cached("testnet", "sandbox1", "eth0") is None


async def test_a_missing_plugin_is_reported_by_name(
    invoker: CNIInvoker, netns: Path
) -> None:
    network = NetworkConfigList("testnet", "1.0.0", ({"type": "nonexistent"},))
    with pytest.raises(PluginNotFound, match="nonexistent"):
        await invoker.delete(network, runtime(netns))


async def test_a_non_conforming_error_is_reported_with_stderr(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    plugins.answer("bridge", "ADD", stdout="", stderr="panic: boom", exit=2)
    with pytest.raises(PluginError, match="panic: boom"):
        await invoker.add(NETWORK, runtime(netns))


async def test_garbage_output_is_an_invalid_result(
    invoker: CNIInvoker, plugins: FakePlugins, netns: Path
) -> None:
    plugins.answer("bridge", "ADD", stdout="not json")
    with pytest.raises(InvalidResult):
        await invoker.add(NETWORK, runtime(netns))


async def test_version_lists_the_supported_versions(invoker: CNIInvoker) -> None:
    assert await invoker.supported_versions("bridge", "1.0.0") == ("0.4.0", "1.0.0")


@pytest.mark.parametrize("container_id", ["../escape", "a/b", ""], ids=repr)
async def test_container_ids_cannot_escape_the_cache(
    invoker: CNIInvoker, netns: Path, container_id: str
) -> None:
    with pytest.raises(InvalidConfig):
        await invoker.delete(NETWORK, runtime(netns, container_id=container_id))
