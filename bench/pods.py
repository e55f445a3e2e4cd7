"""Pod benchmark: prints JSON.

- startup latency as SIG Scalability defines it: from pod creation to all of its containers
  running, observed through a watch, the image present. p50 and p99 over ``--pods`` pods
  created at 5 per second and at 20 per second on one node. Targets: p99 <= 1 s at 5/s,
  <= 2 s at 20/s (the Kubernetes SLO is 5 s).
- the physical floor, in the same run: making the same sandbox (with its pod network) and
  container by calling the runtime directly, one pod after another.
- the node process idle with ``--idle-pods`` running pods: resident memory and CPU (share of
  one core) over ``--idle-seconds``, on a fresh node and again after the latency runs (200
  pods started and deleted). Targets: <= 80 MB, < 2 %.

The API server runs as ``pilothouse server --disable-agent``; the node runs in a process of
its own (this script's ``node`` command): the real runtime (crun, conmon), the pod network
(a bridge of its own, pod egress blocked), the volume manager and the Kubelet with its
default settings, i.e. the pod side of the agent without node registration and lease.
Everything lives under a temporary directory and is removed at the end. Needs root and
``../shared/tools/egress-guard on``.

Usage: python bench/pods.py [--pods 100] [--idle-pods 20] [--idle-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pilothouse.client import APIClient, ClientConfig
from pilothouse.network.nftables import table_exists

REPO = Path(__file__).resolve().parents[1]
RATES = (5, 20)
NAMESPACE = "bench"


# -- the node process ---------------------------------------------------------------------------


async def run_node(args: argparse.Namespace) -> None:
    """Floor measurement, then a Kubelet until SIGTERM; everything removed on the way out."""
    from pilothouse.kubelet.config import KubeletConfig
    from pilothouse.kubelet.kubelet import Kubelet
    from pilothouse.kubelet.sandboxnetwork import SandboxNetwork
    from pilothouse.kubelet.volumes import VolumeManager
    from pilothouse.network import NodeNetwork, NodeNetworkConfig, PodNetwork
    from pilothouse.runtime.image_service import LocalImageService
    from pilothouse.runtime.images.busybox import ensure_busybox_image
    from pilothouse.runtime.images.snapshots import Snapshotter
    from pilothouse.runtime.images.store import ImageStore
    from pilothouse.runtime.oci.context import RuntimeSettings
    from pilothouse.runtime.oci.runtime import LocalRuntime

    data = Path(args.data_dir)
    cluster = IPv4Network(args.cluster_cidr)
    network = NodeNetworkConfig(
        pod_cidr=next(cluster.subnets(new_prefix=23)), cluster_cidr=cluster,
        service_cidr=IPv4Network(args.service_cidr), bridge=args.bridge,
        data_dir=data / "network", block_pod_egress=True,
    )
    config = KubeletConfig(node_name=args.name, data_dir=data, node_ip=str(network.gateway),
                           cgroup_parent=f"/pilothouse-bench-{args.bridge}")
    store = ImageStore(config.images_root)
    ensure_busybox_image(store)
    sandbox_network = SandboxNetwork()
    runtime = LocalRuntime(
        RuntimeSettings(root=config.runtime_root, cgroup_parent=config.pods_cgroup_parent),
        images=store, snapshots=Snapshotter(config.runtime_root / "snapshots", store), network=sandbox_network,
    )
    node_network = NodeNetwork(network)
    pods = PodNetwork(network)
    client = APIClient(ClientConfig.from_kubeconfig(args.kubeconfig))
    volumes = VolumeManager(config.pods_dir, client=client)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    kubelet = None
    try:
        await node_network.ensure()
        sandbox_network.use(pods)
        floor = await measure_floor(runtime, args.floor_pods)
        await client["nodes"].create({
            "metadata": {"name": args.name},
            "status": {"addresses": [{"type": "InternalIP", "address": str(network.gateway)}],
                       "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "250"}},
        })
        kubelet = Kubelet(config, client=client, runtime=runtime, images=LocalImageService(store),
                          volumes=volumes, node_name=args.name)
        await kubelet.start()
        print(json.dumps({"ready": True, "floor": floor}), flush=True)
        await stopped.wait()
    finally:
        if kubelet is not None:
            await kubelet.stop()
        await runtime.remove_all()
        for uid in volumes.pods_on_disk():
            await volumes.teardown(uid)
        for sandbox in await pods.attached_sandboxes():
            await pods.teardown_sandbox(sandbox)
        await node_network.teardown()
        await client.close()


async def measure_floor(runtime: Any, count: int) -> dict[str, Any]:
    """Sandbox with network plus one started container, straight through the runtime."""
    from pilothouse.runtime.interface import (
        ContainerConfig,
        ContainerMetadata,
        ImageSpec,
        PodSandboxConfig,
        PodSandboxMetadata,
    )

    times = []
    sandboxes = []
    for index in range(count):
        sandbox = PodSandboxConfig(
            metadata=PodSandboxMetadata(name=f"floor-{index}", uid=secrets.token_hex(8), namespace=NAMESPACE),
            hostname=f"floor-{index}",
        )
        config = ContainerConfig(
            metadata=ContainerMetadata(name="app"), image=ImageSpec(image="busybox"), command=["sleep", "3600"]
        )
        started = time.monotonic()
        sandbox_id = await runtime.run_pod_sandbox(sandbox)
        container_id = await runtime.create_container(sandbox_id, config, sandbox)
        await runtime.start_container(container_id)
        times.append(time.monotonic() - started)
        sandboxes.append(sandbox_id)
    for sandbox_id in sandboxes:
        await runtime.stop_pod_sandbox(sandbox_id)
        await runtime.remove_pod_sandbox(sandbox_id)
    return summary(times)


# -- the benchmark ------------------------------------------------------------------------------


def summary(times: list[float]) -> dict[str, Any]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "pods": len(ordered),
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(p99, 3),
        "max_s": round(ordered[-1], 3),
    }


def pod_body(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            # Deleted gracefully, so that a pod object goes only once the kubelet removed
            # everything of it: the next measurement starts on an idle node.
            "nodeName": node, "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "app", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                            "command": ["sleep", "3600"]}],
        },
    }


def all_running(pod: dict[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all("running" in (s.get("state") or {}) for s in statuses)


async def startup_latencies(client: APIClient, node: str, count: int, rate: int, prefix: str) -> list[float]:
    pods = client["pods"]
    listed = await pods.list(namespace=NAMESPACE)
    created: dict[str, float] = {}
    latencies: dict[str, float] = {}
    done = asyncio.Event()

    async def watch() -> None:
        async for event in pods.watch(namespace=NAMESPACE, resource_version=listed.resource_version):
            if event.type == "BOOKMARK":
                continue
            name = event.object["metadata"]["name"]
            if name in created and name not in latencies and all_running(event.object):
                latencies[name] = time.monotonic() - created[name]
                if len(latencies) == count:
                    done.set()
                    return

    watcher = asyncio.create_task(watch())
    start = time.monotonic()
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))  # pacing, not waiting
        name = f"{prefix}-{index}"
        created[name] = time.monotonic()
        await pods.create(pod_body(name, node))
    await asyncio.wait_for(done.wait(), 120)
    watcher.cancel()
    return list(latencies.values())


async def delete_all(client: APIClient) -> None:
    pods = client["pods"]
    for pod in (await pods.list(namespace=NAMESPACE)).items:
        await pods.delete(pod["metadata"]["name"], namespace=NAMESPACE)
    deadline = time.monotonic() + 300
    while (await pods.list(namespace=NAMESPACE)).items:
        if time.monotonic() > deadline:
            raise TimeoutError("pods were not deleted")
        await asyncio.sleep(0.5)


def process_usage(pid: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds (user + system) of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


async def idle_usage(
    client: APIClient, node: str, node_pid: int, count: int, seconds: float, prefix: str
) -> dict[str, Any]:
    await startup_latencies(client, node, count, 20, prefix)
    await asyncio.sleep(5)  # let the start-up work settle before measuring idleness
    _, cpu_before = process_usage(node_pid)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    rss, cpu_after = process_usage(node_pid)
    elapsed = time.monotonic() - started
    return {
        "pods": count,
        "rss_mb": round(rss / 2**20, 1),
        "cpu_percent_of_core": round(100 * (cpu_after - cpu_before) / elapsed, 2),
        "seconds": round(elapsed, 1),
    }


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    log = open(data.parent / "server.log", "ab")  # noqa: SIM115 - kept open for the child's life
    return subprocess.Popen(
        [sys.executable, "-m", "pilothouse.cli.main", "server", "--data-dir", str(data),
         "--https-listen-port", str(port), "--disable-agent"],
        stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
    )


async def wait_for_api(kubeconfig: Path) -> APIClient:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await asyncio.to_thread(kubeconfig.exists):
            client = APIClient(ClientConfig.from_kubeconfig(kubeconfig))
            try:
                await client["namespaces"].list()
                return client
            except OSError:
                await client.close()
        await asyncio.sleep(0.2)
    raise TimeoutError("the API server did not start")


def free_subnet(candidates: list[IPv4Network]) -> IPv4Network:
    """The first candidate that no route of the machine overlaps."""
    listed = json.loads(subprocess.run(
        ["ip", "-j", "-4", "route", "show", "table", "main"], capture_output=True, check=True
    ).stdout)
    routes = [IPv4Network(r["dst"]) for r in listed if r["dst"] != "default"]
    for candidate in candidates:
        if not any(route.overlaps(candidate) for route in routes):
            return candidate
    raise SystemExit("no free subnet for the benchmark's node")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    if not await table_exists("inet", "pilothouse_egress_guard"):
        raise SystemExit("the egress guard is off: run ../shared/tools/egress-guard on")
    cluster = free_subnet(list(IPv4Network("10.244.0.0/16").subnets(new_prefix=20))[::-1])
    services = free_subnet(list(IPv4Network("10.96.0.0/12").subnets(new_prefix=24))[::-1])
    root = Path(tempfile.mkdtemp(prefix="pilothouse-bench-pods-"))
    suffix = secrets.token_hex(3)
    server = start_server(root / "server", args.port)
    node_process = None
    client = None
    try:
        kubeconfig = root / "server" / "admin.kubeconfig"
        client = await wait_for_api(kubeconfig)
        await client["namespaces"].create({"metadata": {"name": NAMESPACE}})
        node_name = f"bench-{suffix}"
        node_process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "node", "--kubeconfig", str(kubeconfig), "--data-dir", str(root / "node"),
            "--name", node_name, "--bridge", f"phb{suffix}", "--cluster-cidr", str(cluster),
            "--service-cidr", str(services), "--floor-pods", str(args.floor_pods),
            stdout=asyncio.subprocess.PIPE,
        )
        assert node_process.stdout is not None
        line = await asyncio.wait_for(node_process.stdout.readline(), 300)
        floor = json.loads(line)["floor"]
        result: dict[str, Any] = {"startup_latency": {}, "floor": floor}
        idle = (client, node_name, node_process.pid, args.idle_pods, args.idle_seconds)
        result["idle"] = await idle_usage(*idle, "idle")
        await delete_all(client)
        for rate in RATES:
            times = await startup_latencies(client, node_name, args.pods, rate, f"r{rate}")
            result["startup_latency"][f"{rate}_per_s"] = summary(times)
            await delete_all(client)
        result["idle_after_churn"] = await idle_usage(*idle, "churned")
        await delete_all(client)
        result["targets"] = {"p99_5_per_s_s": 1.0, "p99_20_per_s_s": 2.0, "idle_rss_mb": 80, "idle_cpu_percent": 2}
        result["command"] = "python bench/pods.py " + " ".join(sys.argv[1:])
        return result
    finally:
        if client is not None:
            await client.close()
        if node_process is not None and node_process.returncode is None:
            node_process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(node_process.wait(), 300)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    node = sub.add_parser("node")
    node.add_argument("--kubeconfig", required=True)
    node.add_argument("--data-dir", required=True)
    node.add_argument("--name", required=True)
    node.add_argument("--bridge", required=True)
    node.add_argument("--cluster-cidr", required=True)
    node.add_argument("--service-cidr", required=True)
    node.add_argument("--floor-pods", type=int, default=30)
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--floor-pods", type=int, default=30)
    parser.add_argument("--idle-pods", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=16443)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (namespaces, cgroups, bridges)")
    if args.command == "node":
        asyncio.run(run_node(args))
        return
    print(json.dumps(asyncio.run(bench(args)), indent=2))


if __name__ == "__main__":
    main()
