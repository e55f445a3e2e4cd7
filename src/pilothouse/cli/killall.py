"""``pilothouse killall``: stop everything a node left running and undo its setup (what
k3s-killall.sh does for k3s).

The agent never stops pods when it exits (a restarted agent adopts them), and keeps the node
network in place. Once the server or agent is stopped for good, this removes, for the node
whose state is in DATA_DIR/agent: every container and sandbox with their cgroups and
overlay mounts, the pods' network attachments (veths, IP leases, hostPort rules), the pods'
volume mounts, and the node network (bridge, routes, nftables table). Data (the store,
certificates, images) stays: delete the data dir to start over.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from pilothouse.cli.server import data_dir_option


@click.command()
@data_dir_option
def killall(data_dir: Path) -> None:
    """Stop every pod of this machine's node and remove the node's network setup."""
    node_dir = data_dir / "agent"
    if not node_dir.is_dir():
        raise click.ClickException(f"{node_dir} does not exist: no node ran with this data dir")
    asyncio.run(_killall(node_dir))
    click.echo(f"removed the pods and the network of the node in {node_dir}")


async def _killall(node_dir: Path) -> None:
    from pilothouse.kubelet.volumes import VolumeManager
    from pilothouse.network.cni.invoker import CNIInvoker
    from pilothouse.network.config import DEFAULT_CNI_BIN_DIRS, DEFAULT_NETWORK_NAME
    from pilothouse.network.node import teardown_recorded
    from pilothouse.network.podconfig import LOOPBACK_NETWORK
    from pilothouse.runtime.images.snapshots import Snapshotter
    from pilothouse.runtime.images.store import ImageStore
    from pilothouse.runtime.oci.context import RuntimeSettings
    from pilothouse.runtime.oci.runtime import LocalRuntime

    network_dir = node_dir / "network"
    invoker = CNIInvoker(plugin_dirs=DEFAULT_CNI_BIN_DIRS, cache_dir=network_dir / "cni")
    # Detach the pods from the network first, while their namespaces still exist.
    for network in (DEFAULT_NETWORK_NAME, LOOPBACK_NETWORK):
        await invoker.delete_cached(network)
    store = ImageStore(node_dir / "images")
    runtime = LocalRuntime(
        RuntimeSettings(root=node_dir / "runtime", cgroup_parent=_cgroup_parent(node_dir)),
        images=store, snapshots=Snapshotter(node_dir / "runtime" / "snapshots", store),
    )
    await runtime.remove_all()
    volumes = VolumeManager(node_dir / "pods", client=None)  # type: ignore[arg-type]
    for pod_uid in volumes.pods_on_disk():
        await volumes.teardown(pod_uid)
    await teardown_recorded(network_dir / "node-network.json")


def _cgroup_parent(node_dir: Path) -> str:
    """The node's cgroup parent, as the agent chose it (KubeletConfig.pods_cgroup_parent)."""
    from pilothouse.kubelet.bootstrap import NodeCredentials

    name = NodeCredentials(node_dir / "credentials").node_name()
    return f"/pilothouse-nodes/{name}"
