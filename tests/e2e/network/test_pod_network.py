"""Sandboxes wired by the real reference plugins on a test node in the host namespace."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import HostNode
from nethelpers import ping, sh

from pilothouse.network import PodNetwork, PortMapping
from pilothouse.network.cni import InvalidNetns, PluginError

MakeSandbox = Callable[[], Awaitable[str]]


async def wire(host_node: HostNode, sandbox: str, **kwargs):  # type: ignore[no-untyped-def]
    return await host_node.pods.setup_sandbox(
        sandbox, f"/run/netns/{sandbox}", pod_name=sandbox, pod_namespace="default", **kwargs
    )


async def link_exists(name: str, netns: str | None = None) -> bool:
    argv = ("ip", "link", "show", "dev", name)
    completed = await sh(*(("ip", "-n", netns, *argv[1:]) if netns else argv), check=False)
    return completed.returncode == 0


async def link_vanishes(name: str, timeout: float = 10.0) -> bool:
    """Whether a host link goes away within ``timeout``: the kernel destroys the veths of a
    deleted network namespace in the background, a moment after the namespace is gone."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await link_exists(name):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def leases(host_node: HostNode) -> list[str]:
    directory = host_node.config.ipam_dir / host_node.config.network_name
    if not directory.exists():
        return []
    return sorted(name for name in os.listdir(directory) if name[0].isdigit())


async def test_sandboxes_get_addresses_and_reach_each_other_and_the_gateway(
    host_node: HostNode, make_sandbox: MakeSandbox
) -> None:
    first, second = await make_sandbox(), await make_sandbox()

    a = await wire(host_node, first)
    b = await wire(host_node, second)

    assert a.ip != b.ip
    assert a.ip in host_node.config.pod_cidr and b.ip in host_node.config.pod_cidr
    assert a.gateway == b.gateway == host_node.config.gateway
    assert leases(host_node) == sorted([str(a.ip), str(b.ip)])
    assert await ping(first, b.ip)
    assert await ping(second, a.ip)
    assert await ping(first, host_node.config.gateway)
    assert await ping(first, a.ip)  # itself, through its own eth0
    loopback = await sh("ip", "-n", first, "-br", "link", "show", "lo")
    assert b"UP" in loopback.stdout


async def test_setup_is_idempotent(host_node: HostNode, make_sandbox: MakeSandbox) -> None:
    sandbox = await make_sandbox()

    first = await wire(host_node, sandbox)
    again = await wire(host_node, sandbox)

    assert again == first
    assert leases(host_node) == [str(first.ip)]


async def test_teardown_removes_the_veth_and_releases_the_address_and_can_repeat(
    host_node: HostNode, make_sandbox: MakeSandbox
) -> None:
    sandbox = await make_sandbox()
    status = await wire(host_node, sandbox)
    assert await link_exists(status.host_interface)

    await host_node.pods.teardown_sandbox(sandbox)

    assert not await link_exists(status.host_interface)
    assert not await link_exists("eth0", sandbox)
    assert leases(host_node) == []
    assert await host_node.pods.attached_sandboxes() == []
    await host_node.pods.teardown_sandbox(sandbox)
    await host_node.pods.teardown_sandbox("never-wired")


async def test_teardown_after_the_sandbox_namespace_is_gone(
    host_node: HostNode, make_sandbox: MakeSandbox
) -> None:
    sandbox = await make_sandbox()
    status = await wire(host_node, sandbox)
    await sh("ip", "netns", "delete", sandbox)

    await host_node.pods.teardown_sandbox(sandbox)

    assert await link_vanishes(status.host_interface)
    assert leases(host_node) == []


async def test_a_restarted_caller_reads_status_checks_and_tears_down(
    host_node: HostNode, make_sandbox: MakeSandbox
) -> None:
    sandbox = await make_sandbox()
    status = await wire(host_node, sandbox)

    restarted = PodNetwork(host_node.config)

    assert await restarted.sandbox_status(sandbox) == status
    await restarted.check_sandbox(sandbox)
    await restarted.teardown_sandbox(sandbox)
    assert leases(host_node) == []


async def test_check_notices_a_sandbox_that_lost_its_interface(
    host_node: HostNode, make_sandbox: MakeSandbox
) -> None:
    sandbox = await make_sandbox()
    await wire(host_node, sandbox)
    await sh("ip", "-n", sandbox, "link", "delete", "eth0")

    with pytest.raises(PluginError):
        await host_node.pods.check_sandbox(sandbox)
    status = await wire(host_node, sandbox)  # rewired
    assert await link_exists("eth0", sandbox)
    assert leases(host_node) == [str(status.ip)]


async def test_a_failed_setup_leaves_nothing_behind(
    host_node: HostNode, make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    """portmap fails after bridge and host-local succeeded: the half-wired sandbox is undone."""
    failing = tmp_path / "failing-plugins"
    failing.mkdir()
    portmap = failing / "portmap"
    portmap.write_text(
        "#!/bin/sh\n"
        'if [ "$CNI_COMMAND" = ADD ]; then\n'
        '  echo \'{"cniVersion":"1.0.0","code":11,"msg":"injected failure"}\'; exit 1\n'
        "fi\n"
        "exec /usr/lib/cni/portmap\n"
    )
    portmap.chmod(0o755)
    config = host_node.config
    pods = PodNetwork(replace(config, cni_bin_dirs=(failing, *config.cni_bin_dirs)))
    sandbox = await make_sandbox()

    with pytest.raises(PluginError, match="injected failure"):
        await pods.setup_sandbox(sandbox, f"/run/netns/{sandbox}", pod_name="x",
                                 pod_namespace="default", port_mappings=(PortMapping(18080, 80),))

    assert not await link_exists("eth0", sandbox)
    assert leases(host_node) == []
    assert await pods.attached_sandboxes() == []
    veths = await sh("ip", "-br", "link", "show", "master", config.bridge)
    assert veths.stdout.strip() == b""


async def test_the_nodes_own_namespace_is_refused(host_node: HostNode) -> None:
    with pytest.raises(InvalidNetns):
        await host_node.pods.setup_sandbox(
            "host", f"/proc/{os.getpid()}/ns/net", pod_name="x", pod_namespace="default"
        )
    assert leases(host_node) == []
