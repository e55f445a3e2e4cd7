"""Pod network benchmark: prints JSON figures for node setup and per-sandbox wiring.

    sudo .venv/bin/python bench/network.py [--sandboxes 50] [--concurrent 20]

The benchmark re-executes itself in a private network namespace (``unshare --net``), so it
never touches the machine's own interfaces, routes or firewall. Sandboxes are what the
runtime will hand the kubelet: the network namespace of an infra process
(``/proc/<pid>/ns/net`` of an ``unshare --net sleep``); making them is not timed.

Figures: node ``ensure`` and ``teardown``; setup and teardown latency per sandbox
(p50/p99/mean) one at a time without and with a hostPort (portmap's iptables-nft rules);
the same with ``--concurrent`` sandboxes at once (wall time and per-sandbox latency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Network
from pathlib import Path

from pilothouse.network import NodeNetwork, NodeNetworkConfig, PodNetwork, PortMapping

INSIDE = "PILOTHOUSE_BENCH_PRIVATE_NETNS"


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(ordered[len(ordered) // 2] * 1000, 2),
        "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
        "mean": round(statistics.fmean(ordered) * 1000, 2),
    }


async def timed(operation: Awaitable[object]) -> float:
    start = time.perf_counter()
    await operation
    return time.perf_counter() - start


class InfraProcesses:
    """Holders of empty network namespaces, like the runtime's pod infra processes."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, count: int) -> list[str]:
        paths = []
        for _ in range(count):
            # unshare and sh exec in place: the pid is the holder's, in its own namespace
            # by the time it speaks.
            process = await asyncio.create_subprocess_exec(
                "unshare", "--net", "sh", "-c", "echo ready; exec sleep infinity",
                stdout=asyncio.subprocess.PIPE,
            )
            self.processes.append(process)
            assert process.stdout is not None
            await process.stdout.readline()
            paths.append(f"/proc/{process.pid}/ns/net")
        return paths

    async def stop(self) -> None:
        for process in self.processes:
            process.kill()
            await process.wait()


async def wire_one_at_a_time(
    pods: PodNetwork, paths: list[str], ports: Callable[[int], list[PortMapping]]
) -> dict[str, object]:
    setups, teardowns = [], []
    for index, path in enumerate(paths):
        sandbox = f"seq{index}"
        setups.append(await timed(pods.setup_sandbox(
            sandbox, path, pod_name=sandbox, pod_namespace="bench", port_mappings=ports(index)
        )))
    for index in range(len(paths)):
        teardowns.append(await timed(pods.teardown_sandbox(f"seq{index}")))
    return {"sandboxes": len(paths), "setup_ms": summary(setups), "teardown_ms": summary(teardowns)}


async def wire_concurrently(pods: PodNetwork, paths: list[str]) -> dict[str, object]:
    start = time.perf_counter()
    setups = await asyncio.gather(*(
        timed(pods.setup_sandbox(f"par{i}", path, pod_name=f"par{i}", pod_namespace="bench"))
        for i, path in enumerate(paths)
    ))
    setup_wall = time.perf_counter() - start
    start = time.perf_counter()
    teardowns = await asyncio.gather(*(
        timed(pods.teardown_sandbox(f"par{i}")) for i in range(len(paths))
    ))
    return {
        "sandboxes": len(paths),
        "setup_wall_ms": round(setup_wall * 1000, 2),
        "setup_ms": summary(list(setups)),
        "teardown_wall_ms": round((time.perf_counter() - start) * 1000, 2),
        "teardown_ms": summary(list(teardowns)),
    }


async def run(sandboxes: int, concurrent: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="pilothouse-bench-net-") as data_dir:
        config = NodeNetworkConfig(pod_cidr=IPv4Network("10.244.0.0/24"), data_dir=Path(data_dir))
        node, pods = NodeNetwork(config), PodNetwork(config)
        infra = InfraProcesses()
        try:
            ensure = await timed(node.ensure())
            ensure_again = await timed(node.ensure())
            await pods.verify_plugins()
            figures: dict[str, object] = {
                "node_ensure_ms": round(ensure * 1000, 2),
                "node_ensure_again_ms": round(ensure_again * 1000, 2),
            }
            paths = await infra.start(sandboxes)
            figures["one_at_a_time"] = await wire_one_at_a_time(pods, paths, lambda i: [])
            figures["one_at_a_time_with_host_port"] = await wire_one_at_a_time(
                pods, paths, lambda i: [PortMapping(20000 + i, 80)]
            )
            figures["concurrent"] = await wire_concurrently(pods, paths[:concurrent])
        finally:
            await infra.stop()
            for sandbox in await pods.attached_sandboxes():
                await pods.teardown_sandbox(sandbox)
            figures["node_teardown_ms"] = round(await timed(node.teardown()) * 1000, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandboxes", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=20)
    options = parser.parse_args()
    if os.environ.get(INSIDE) != "1":
        os.environ[INSIDE] = "1"
        os.execvp("unshare", ["unshare", "--net", sys.executable, *sys.argv])
    figures = asyncio.run(run(options.sandboxes, options.concurrent))
    print(json.dumps({"benchmark": "network", **figures}, indent=2))


if __name__ == "__main__":
    main()
