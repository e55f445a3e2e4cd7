"""The node agent: everything that makes this machine (or network namespace) a node.

``Agent.start()`` joins the cluster and registers the node, then returns while the rest comes
up in the background, in this order:

1. credentials: reused from DATA_DIR/credentials, or obtained once with the join token
   (:mod:`.bootstrap`); from then on the agent talks to the API only with its node identity;
2. the container runtime and image service (runtime/oci), with the pod network plug-in not
   yet initialized, so the node reports its runtime version at once;
3. the Node object (:mod:`.nodestatus`) and its Lease (:mod:`.nodelease`), kept current;
4. the node network once the server assigned a pod CIDR, and host-gw routes to the other
   nodes (:mod:`.nodenetwork`); until then the node is NotReady;
5. then the runtime's crash recovery, and the pods: the kubelet with its volume manager and
   its HTTPS server (logs, exec, attach, port-forward), which trusts clients of the cluster CA.

``stop()`` stops the agent's own work only. Containers are children of their conmon
monitors, not of the agent, and the node network stays: pods keep running through an agent
restart (or a kill -9), and the next agent adopts them.

The runtime and the pod machinery are built by factories (``open_runtime``, ``start_pods``)
so that tests can run an agent with a fake runtime or without pods; the defaults are the
real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from pilothouse.client import APIClient, Informer
from pilothouse.kubelet import machine
from pilothouse.kubelet.bootstrap import NodeCredentials, ensure_credentials
from pilothouse.kubelet.config import KubeletConfig
from pilothouse.kubelet.nodelease import NodeLease
from pilothouse.kubelet.nodenetwork import NodeNetworkManager
from pilothouse.kubelet.nodestatus import KUBELET_VERSION, NodeFacts, NodeStatusReporter
from pilothouse.kubelet.sandboxnetwork import SandboxNetwork
from pilothouse.runtime.interface import ImageService, RuntimeService

log = logging.getLogger(__name__)


class NodeAddressError(Exception):
    """The node's address could not be found; --node-ip names it."""


@dataclass(frozen=True)
class NodeRuntime:
    runtime: RuntimeService
    images: ImageService
    # Cleans up what a crash of an earlier agent left half-made; run once the pod network
    # works, before the kubelet starts.
    recover: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class PodsContext:
    """What the pod machinery is built from."""

    config: KubeletConfig
    client: APIClient
    runtime: RuntimeService
    images: ImageService
    credentials: NodeCredentials
    node_ip: str
    # The node's allocatable resources as last reported (defaults of resource limits).
    node_allocatable: Callable[[], Mapping[str, str]]


class Stoppable(Protocol):
    async def stop(self) -> None: ...


RuntimeFactory = Callable[[KubeletConfig, SandboxNetwork], Awaitable[NodeRuntime]]
PodsFactory = Callable[[PodsContext], Awaitable[Stoppable]]


async def open_local_runtime(config: KubeletConfig, network: SandboxNetwork) -> NodeRuntime:
    """The real runtime: crun under conmon, this node's image store and registries."""
    from pilothouse.runtime.image_service import LocalImageService
    from pilothouse.runtime.images.registry.config import load_registries_yaml
    from pilothouse.runtime.images.snapshots import Snapshotter
    from pilothouse.runtime.images.store import ImageStore
    from pilothouse.runtime.oci.context import RuntimeSettings
    from pilothouse.runtime.oci.runtime import LocalRuntime

    def open_sync() -> NodeRuntime:
        store = ImageStore(config.images_root,
                           registry_config=load_registries_yaml(config.registries_file))
        runtime = LocalRuntime(
            RuntimeSettings(root=config.runtime_root, cgroup_parent=config.pods_cgroup_parent),
            images=store,
            snapshots=Snapshotter(config.runtime_root / "snapshots", store),
            network=network,
        )
        return NodeRuntime(runtime=runtime, images=LocalImageService(store),
                           recover=runtime.recover)

    return await asyncio.to_thread(open_sync)


class _PodStack:
    """The kubelet and its server, stopped in reverse order of start."""

    def __init__(self) -> None:
        self.started: list[Stoppable] = []

    async def stop(self) -> None:
        for component in reversed(self.started):
            await component.stop()


async def start_kubelet(ctx: PodsContext) -> Stoppable:
    """The kubelet, its volume manager and its HTTPS server."""
    from pilothouse.kubelet.kubelet import Kubelet
    from pilothouse.kubelet.server import KubeletServer
    from pilothouse.kubelet.volumes import VolumeManager

    stack = _PodStack()
    try:
        server = KubeletServer(
            runtime=ctx.runtime,
            ssl_context=ctx.credentials.serving_ssl_context(),
            client_ca=ctx.credentials.ca_file,
            host=ctx.node_ip,
            port=ctx.config.port,
        )
        await server.start()
        stack.started.append(server)
        kubelet = Kubelet(
            ctx.config,
            client=ctx.client,
            runtime=ctx.runtime,
            images=ctx.images,
            volumes=VolumeManager(ctx.config.pods_dir, client=ctx.client,
                                  allocatable=ctx.node_allocatable),
            node_name=ctx.config.node_name,
        )
        await kubelet.start()
        stack.started.append(kubelet)
    except BaseException:
        await stack.stop()
        raise
    return stack


class Agent:
    def __init__(
        self,
        config: KubeletConfig,
        *,
        server: str,
        token: str | None = None,
        open_runtime: RuntimeFactory = open_local_runtime,
        start_pods: PodsFactory = start_kubelet,
    ):
        self.config = config
        self.server = server
        self.token = token
        self.open_runtime = open_runtime
        self.start_pods = start_pods
        self.node_ip = ""
        self.client: APIClient | None = None
        self.node_runtime: NodeRuntime | None = None
        self.network: NodeNetworkManager | None = None
        self.reporter: NodeStatusReporter | None = None
        self.pods: Stoppable | None = None
        self._machine: machine.MachineInfo | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Joins and registers the node; everything else continues in the background."""
        self.node_ip = self.config.node_ip or await asyncio.to_thread(
            node_address, urlsplit(self.server).hostname or ""
        )
        self.config = dataclasses.replace(self.config, node_ip=self.node_ip)
        credentials = await ensure_credentials(
            self.config, server=self.server, token=self.token, addresses=[self.node_ip]
        )
        self._apply_cluster_network(credentials)
        self.client = APIClient(credentials.client_config(
            self.server, user_agent=f"kubelet/{KUBELET_VERSION} (linux/{machine.go_architecture()})"
        ))
        self._machine = await asyncio.to_thread(machine.read_machine_info)
        sandbox_network = SandboxNetwork()
        self.node_runtime = await self.open_runtime(self.config, sandbox_network)
        nodes = Informer(self.client.resource("", "v1", "nodes"))
        self._spawn(nodes.run(), "node informer")
        self.reporter = NodeStatusReporter(self.config, client=self.client, facts=self._facts)
        self.network = NodeNetworkManager(self.config, nodes=nodes, sandbox_network=sandbox_network,
                                          on_change=self.reporter.poke)
        node = await self.reporter.register()
        lease = NodeLease(
            client=self.client, node_name=self.config.node_name, node_uid=node["metadata"]["uid"],
            duration_seconds=self.config.lease_duration_seconds,
            renew_seconds=self.config.lease_renew_seconds,
        )
        self._spawn(lease.run(), "node lease")
        self._spawn(self.reporter.run(), "node status")
        self._spawn(self.network.run(), "node network")
        self._spawn(self._start_pods_when_networked(credentials), "pods")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.pods is not None:
            await self.pods.stop()
            self.pods = None
        if self.client is not None:
            await self.client.close()

    async def wait(self) -> None:
        """Waits while the agent runs; raises the error of a part that failed for good."""
        pending = set(self._tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    task.result()
        raise asyncio.CancelledError  # stopped: nothing failed

    def _spawn(self, coroutine: Awaitable[Any], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coroutine))
        self._tasks[-1].set_name(name)

    def _apply_cluster_network(self, credentials: NodeCredentials) -> None:
        cluster = credentials.cluster_network()
        self.config = dataclasses.replace(
            self.config,
            cluster_cidr=cluster.cluster_cidr,
            service_cidr=cluster.service_cidr,
            cluster_dns=list(cluster.cluster_dns),
            cluster_domain=cluster.cluster_domain,
        )

    async def _start_pods_when_networked(self, credentials: NodeCredentials) -> None:
        assert self.network is not None and self.node_runtime is not None
        assert self.client is not None
        await self.network.ready.wait()
        await self.node_runtime.recover()
        self.pods = await self.start_pods(PodsContext(
            config=self.config, client=self.client, runtime=self.node_runtime.runtime,
            images=self.node_runtime.images, credentials=credentials, node_ip=self.node_ip,
            node_allocatable=self._allocatable,
        ))
        log.info("node %s runs pods", self.config.node_name)

    def _allocatable(self) -> Mapping[str, str]:
        assert self.reporter is not None and self.reporter.node is not None
        return self.reporter.node["status"]["allocatable"]

    async def _facts(self) -> NodeFacts:
        assert self.node_runtime is not None and self._machine is not None
        assert self.network is not None
        runtime, images = self.node_runtime.runtime, self.node_runtime.images
        version = await runtime.version()
        return NodeFacts(
            machine=self._machine,
            usage=await asyncio.to_thread(machine.read_usage, self.config.data_dir),
            node_ip=self.node_ip,
            runtime_version=f"{version.runtime_name}://{version.runtime_version}",
            images=await images.list_images(),
            not_ready=await self._not_ready(),
        )

    async def _not_ready(self) -> list[str]:
        assert self.node_runtime is not None and self.network is not None
        reasons = []
        status = await self.node_runtime.runtime.status()
        runtime_ready = next((c for c in status.conditions if c.type == "RuntimeReady"), None)
        if runtime_ready is None or not runtime_ready.status:
            detail = (f"reason:{runtime_ready.reason} message:{runtime_ready.message}"
                      if runtime_ready else "")
            reasons.append(f"container runtime not ready: RuntimeReady=false {detail}".strip())
        network_problem = self.network.problem()
        if network_problem:
            reasons.append(network_problem)
        return reasons


def node_address(server_host: str) -> str:
    """The address this node is reached at: the source address of the route to the API
    server, or, when that is loopback (the server on this machine), of the default route.
    Only routes are looked up: connecting a UDP socket sends nothing."""
    targets = [server_host] if server_host else []
    gateway = _default_gateway()
    if gateway:
        targets.append(gateway)
    for target in targets:
        address = _source_address(target)
        if address and not address.startswith("127."):
            return address
    raise NodeAddressError("cannot find this node's address (no route but loopback): "
                           "pass --node-ip")


def _source_address(host: str) -> str:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((socket.gethostbyname(host), 9))
        return str(probe.getsockname()[0])
    return ""


def _default_gateway() -> str:
    """The IPv4 default gateway of the main table, from /proc/net/route."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "00000000" and fields[2] != "00000000":
                return socket.inet_ntoa(int(fields[2], 16).to_bytes(4, "little"))
    return ""
