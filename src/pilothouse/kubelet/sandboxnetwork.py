"""The runtime's pod network plug-in (``runtime.interface.PodNetwork``) over the node's CNI
network (``network.PodNetwork``).

The runtime is created when the agent starts, but the pod network exists only once the node
has a pod CIDR and its bridge is up. Until then ``setup`` fails as containerd's CRI does when
no CNI configuration is loaded ("cni plugin not initialized"), and ``problem`` says why, for
the node's Ready condition. Teardown is refused likewise (the agent starts pods only once the
network is up, so only a sandbox of an earlier run could meet this, and it is kept until its
network can be released).
"""

from __future__ import annotations

from pathlib import Path

from pilothouse.network import PodNetwork, PortMapping
from pilothouse.runtime.errors import FailedPrecondition
from pilothouse.runtime.interface import PodSandboxConfig, PodSandboxNetworkStatus, PortProtocol

NOT_INITIALIZED = "cni plugin not initialized"


class SandboxNetwork:
    def __init__(self) -> None:
        self._pods: PodNetwork | None = None

    def use(self, pods: PodNetwork) -> None:
        """The node network is up: wire sandboxes through ``pods`` from now on."""
        self._pods = pods

    @property
    def ready(self) -> bool:
        return self._pods is not None

    def problem(self) -> str:
        """Why sandboxes cannot be wired yet ("" when they can), in the kubelet's words."""
        if self._pods is not None:
            return ""
        return ("container runtime network not ready: NetworkReady=false "
                "reason:NetworkPluginNotReady message:Network plugin returns error: "
                f"{NOT_INITIALIZED}")

    async def setup(
        self, sandbox_id: str, netns_path: Path, config: PodSandboxConfig
    ) -> PodSandboxNetworkStatus:
        if self._pods is None:
            raise FailedPrecondition(NOT_INITIALIZED)
        meta = config.metadata
        status = await self._pods.setup_sandbox(
            sandbox_id, str(netns_path),
            pod_name=meta.name, pod_namespace=meta.namespace, pod_uid=meta.uid,
            port_mappings=[
                PortMapping(host_port=p.host_port, container_port=p.container_port,
                            protocol=PortProtocol(p.protocol).name, host_ip=p.host_ip)
                for p in config.port_mappings if p.host_port
            ],
        )
        return PodSandboxNetworkStatus(
            ip=str(status.ip),
            additional_ips=[str(ip) for ip in status.ips if str(ip) != str(status.ip)],
        )

    async def teardown(self, sandbox_id: str, netns_path: Path, config: PodSandboxConfig) -> None:
        # Refused rather than skipped: the runtime keeps the sandbox until its network is
        # really released, so nothing (veth, address lease) is forgotten.
        if self._pods is None:
            raise FailedPrecondition(NOT_INITIALIZED)
        await self._pods.teardown_sandbox(sandbox_id, str(netns_path))
