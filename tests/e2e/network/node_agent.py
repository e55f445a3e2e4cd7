"""Drives NodeNetwork and PodNetwork inside a namespace node, as the agent will.

Run as ``ip netns exec <node netns> python node_agent.py CONFIG_JSON COMMAND [ARGS]``; each
call is a fresh process, so everything it relies on between calls comes from the node's data
directory (the node state record, the CNI cache), as after an agent restart. Prints JSON.

Commands: ``ensure``, ``teardown``, ``add-route POD_CIDR VIA``, ``setup SANDBOX NETNS
[HOSTPORT:CONTAINERPORT ...]``, ``teardown-sandbox SANDBOX``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from pilothouse.network import NodeNetwork, NodeNetworkConfig, PodNetwork, PortMapping


def load_config(text: str) -> NodeNetworkConfig:
    data = json.loads(text)
    return NodeNetworkConfig(
        pod_cidr=IPv4Network(data["pod_cidr"]),
        cluster_cidr=IPv4Network(data["cluster_cidr"]),
        service_cidr=IPv4Network(data["service_cidr"]),
        bridge=data["bridge"],
        data_dir=Path(data["data_dir"]),
        internal_cidrs=tuple(IPv4Network(cidr) for cidr in data["internal_cidrs"]),
        block_pod_egress=data["block_pod_egress"],
    )


def dump_config(config: NodeNetworkConfig) -> str:
    return json.dumps({
        "pod_cidr": str(config.pod_cidr),
        "cluster_cidr": str(config.cluster_cidr),
        "service_cidr": str(config.service_cidr),
        "bridge": config.bridge,
        "data_dir": str(config.data_dir),
        "internal_cidrs": [str(cidr) for cidr in config.internal_cidrs],
        "block_pod_egress": config.block_pod_egress,
    })


async def main(config: NodeNetworkConfig, command: str, args: list[str]) -> object:
    node, pods = NodeNetwork(config), PodNetwork(config)
    if command == "ensure":
        await node.ensure()
    elif command == "teardown":
        for sandbox in await pods.attached_sandboxes():
            await pods.teardown_sandbox(sandbox)
        await node.teardown()
    elif command == "add-route":
        await node.add_node_route(IPv4Network(args[0]), IPv4Address(args[1]))
    elif command == "setup":
        ports = [PortMapping(*map(int, spec.split(":"))) for spec in args[2:]]
        status = await pods.setup_sandbox(
            args[0], args[1], pod_name=args[0], pod_namespace="default", port_mappings=ports
        )
        return {"ip": str(status.ip), "host_interface": status.host_interface}
    elif command == "teardown-sandbox":
        await pods.teardown_sandbox(args[0])
    else:
        raise SystemExit(f"unknown command {command}")
    return {}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(load_config(sys.argv[1]), sys.argv[2], sys.argv[3:]))))
