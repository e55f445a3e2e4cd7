"""A node for the streaming tests: the real runtime and the kubelet's HTTPS server, with pods
made by hand the way the kubelet makes them.

The runtime and the server live on their own event loop in a thread, so that tests can drive
them with blocking clients (kubectl subprocesses, the synchronous Python client). A pod is
created in the API (bound to this node, then marked Running, as kubectl port-forward and attach
want), and its sandbox and containers in the runtime with the CRI labels and log paths the
kubelet uses, so the server finds them as it would find the kubelet's.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cluster import ServerProcess, free_port

from pilothouse import pki
from pilothouse.kubelet import labels
from pilothouse.kubelet.server import KubeletServer
from pilothouse.runtime.images.snapshots import Snapshotter
from pilothouse.runtime.images.store import ImageStore
from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    ImageSpec,
    PodSandboxConfig,
    PodSandboxMetadata,
)
from pilothouse.runtime.oci.cgroups import Cgroups, detect
from pilothouse.runtime.oci.context import RuntimeSettings
from pilothouse.runtime.oci.runtime import LocalRuntime

T = TypeVar("T")


def register_node(api: Any, name: str, *, address: str, port: int) -> None:
    """Creates Node ``name`` with its kubelet at ``address``:``port``, as a kubelet registers."""
    from kubernetes import client

    api.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name)))
    status = {"status": {
        "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
    }}
    # The node controllers write a new node too: a lost race is a 409 worth retrying.
    for _ in range(20):
        try:
            api.patch_node_status(name, status)
            return
        except client.ApiException as error:
            if error.status != 409:
                raise
    raise RuntimeError(f"could not write the status of node {name}")


class LoopThread:
    """An event loop running in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="node-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


@dataclass
class PodContainer:
    """A container of a test pod: its spec in the API, and how it runs."""

    name: str
    command: list[str]
    tty: bool = False
    stdin: bool = False


class StreamingNode:
    def __init__(self, directory: Path, images: ImageStore, server: ServerProcess, api: Any, *, name: str = "streaming-node"):
        self.directory = directory
        self.images = images
        self.server = server
        self.api = api  # kubernetes.client.CoreV1Api
        self.name = name
        self.port = free_port()
        self.cgroup_parent = f"/pilothouse-test-{secrets.token_hex(6)}"
        self.logs_dir = directory / "logs"
        self.loop = LoopThread()
        self.runtime: LocalRuntime | None = None
        self.kubelet_server: KubeletServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        cert, key = self._serving_credentials()
        self.runtime = LocalRuntime(
            RuntimeSettings(root=self.directory / "runtime", cgroup_parent=self.cgroup_parent),
            images=self.images,
            snapshots=Snapshotter(self.directory / "runtime" / "snapshots", self.images),
        )
        self.loop.run(self._start_server(cert, key))
        self._register()

    async def _start_server(self, cert: Path, key: Path) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        assert self.runtime is not None
        self.kubelet_server = KubeletServer(
            runtime=self.runtime,
            ssl_context=context,
            client_ca=self.server.data_dir / "tls" / "ca.crt",
            host="127.0.0.1",
            port=self.port,
        )
        await self.kubelet_server.start()

    def stop(self) -> None:
        try:
            if self.kubelet_server is not None:
                self.loop.run(self.kubelet_server.stop())
            if self.runtime is not None:
                self.loop.run(self.runtime.remove_all())
        finally:
            self.loop.stop()
        assert not Cgroups(detect()).exists(self.cgroup_parent)

    def _serving_credentials(self) -> tuple[Path, Path]:
        tls = self.server.data_dir / "tls"
        ca = pki.KeyPair.read(tls / "ca.crt", tls / "ca.key")
        pair = pki.issue(ca, common_name=f"system:node:{self.name}", organizations=["system:nodes"],
                         server_names=["127.0.0.1"])
        assert isinstance(pair, pki.KeyPair)
        cert, key = self.directory / "kubelet.crt", self.directory / "kubelet.key"
        pair.write(cert, key)
        return cert, key

    def _register(self) -> None:
        register_node(self.api, self.name, address="127.0.0.1", port=self.port)

    # -- pods -----------------------------------------------------------------------------------

    def run_pod(self, name: str, containers: list[PodContainer], *, namespace: str = "default",
                previous: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """Creates the pod in the API and runs it; ``previous`` gives containers an earlier
        instance (restart count 0) that ran the given command to its end first."""
        spec = {"nodeName": self.name, "containers": [
            {"name": c.name, "image": "busybox", "command": c.command, "tty": c.tty, "stdin": c.stdin}
            for c in containers
        ]}
        pod = self.api.create_namespaced_pod(namespace, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec,
        }).to_dict()
        self.loop.run(self._run_in_runtime(pod["metadata"], containers, previous or {}))
        self.api.patch_namespaced_pod_status(name, namespace, {"status": {"phase": "Running"}})
        return pod

    async def _run_in_runtime(self, meta: dict[str, Any], containers: list[PodContainer],
                              previous: dict[str, list[str]]) -> None:
        assert self.runtime is not None
        identity = {labels.POD_NAME: meta["name"], labels.POD_NAMESPACE: meta["namespace"],
                    labels.POD_UID: meta["uid"]}
        sandbox = PodSandboxConfig(
            metadata=PodSandboxMetadata(name=meta["name"], uid=meta["uid"], namespace=meta["namespace"]),
            hostname=meta["name"],
            log_directory=str(self.logs_dir / f"{meta['namespace']}_{meta['name']}_{meta['uid']}"),
            labels=identity,
        )
        sandbox_id = await self.runtime.run_pod_sandbox(sandbox)
        for spec in containers:
            attempt = 0
            if spec.name in previous:
                earlier = PodContainer(spec.name, previous[spec.name])
                await self.runtime.wait_container(await self._run_container(sandbox_id, sandbox, identity, earlier, 0))
                attempt = 1
            await self._run_container(sandbox_id, sandbox, identity, spec, attempt)

    async def _run_container(self, sandbox_id: str, sandbox: PodSandboxConfig, identity: dict[str, str],
                             spec: PodContainer, attempt: int) -> str:
        assert self.runtime is not None
        config = ContainerConfig(
            metadata=ContainerMetadata(name=spec.name, attempt=attempt),
            image=ImageSpec(image="busybox"),
            command=spec.command,
            labels={**identity, labels.CONTAINER_NAME: spec.name},
            annotations={labels.RESTART_COUNT: str(attempt)},
            log_path=f"{spec.name}/{attempt}.log",
            tty=spec.tty,
            stdin=spec.stdin,
            stdin_once=spec.stdin,
        )
        container_id = await self.runtime.create_container(sandbox_id, config, sandbox)
        await self.runtime.start_container(container_id)
        return container_id

    def wait_for_exit(self, pod: dict[str, Any], container: str) -> int:
        """Waits until the pod's (newest) ``container`` has exited; its exit code."""
        return self.loop.run(self._wait_for_exit(pod["metadata"]["uid"], container))

    async def _wait_for_exit(self, uid: str, container: str) -> int:
        assert self.runtime is not None
        instances = [c for c in await self.runtime.list_containers()
                     if c.labels.get(labels.POD_UID) == uid and c.metadata.name == container]
        newest = max(instances, key=lambda c: c.metadata.attempt)
        return await self.runtime.wait_container(newest.id)

    def delete_pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        self.loop.run(self._remove_sandboxes(meta["uid"]))
        self.api.delete_namespaced_pod(meta["name"], meta["namespace"], grace_period_seconds=0)

    async def _remove_sandboxes(self, uid: str) -> None:
        assert self.runtime is not None
        for sandbox in await self.runtime.list_pod_sandbox():
            if sandbox.labels.get(labels.POD_UID) == uid:
                await self.runtime.remove_pod_sandbox(sandbox.id)
