"""Settings of one node's agent and kubelet.

Paths all live under ``data_dir`` (DATA_DIR/agent for the agent embedded in the server), so
several nodes can share one machine (multi-node clusters in network namespaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class KubeletConfig:
    node_name: str
    data_dir: Path  # everything of this node: credentials, runtime, images, pods, logs
    node_ip: str = ""  # "" : the address of the interface holding the default route
    node_labels: dict[str, str] = field(default_factory=dict)
    node_taints: list[dict[str, str]] = field(default_factory=list)  # {key, value, effect}
    control_plane: bool = False  # the server's own node: labelled node-role control-plane
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    cluster_domain: str = "cluster.local"
    cluster_dns: list[str] = field(default_factory=lambda: ["10.96.0.10"])
    max_pods: int = 110
    port: int = 10250  # the kubelet's HTTPS server (logs, exec, attach, port-forward)
    node_status_update_seconds: float = 10.0
    # An unchanged status is still posted this often (upstream's nodeStatusReportFrequency).
    node_status_report_seconds: float = 60.0
    lease_duration_seconds: int = 40
    lease_renew_seconds: float = 10.0
    sync_frequency_seconds: float = 60.0  # periodic resync of every pod (the safety net)
    relist_seconds: float = 1.0  # how often runtime state is relisted to detect exits
    # Restart back-off of crashing containers and failed image pulls: starts at
    # backoff_seconds, doubles up to backoff_max_seconds (upstream: 10 s and 5 min). Also
    # how soon a pod whose sync failed without a back-off (a missing ConfigMap) is retried.
    backoff_seconds: float = 10.0
    backoff_max_seconds: float = 300.0
    housekeeping_seconds: float = 2.0  # orphaned pods, containers and volumes are cleaned up
    manifests_check_seconds: float = 5.0  # how often the static pod manifests are re-read
    resolv_conf: Path = Path("/etc/resolv.conf")  # the node's DNS, for dnsPolicy Default
    # Static pod manifests and registry settings; default to files in data_dir. The agent
    # embedded in the server uses the server's DATA_DIR/manifests and DATA_DIR/registries.yaml.
    manifests_path: Path | None = None
    registries_path: Path | None = None
    # The node's pod bridge. Nodes in their own network namespaces may all use the default;
    # two nodes sharing one namespace need different bridges.
    bridge: str = "ph0"
    # Drop pod traffic to destinations outside the cluster instead of masquerading it.
    block_pod_egress: bool = False
    # cgroup under which this node's pods run; "" : /pilothouse-nodes/<node name>, so that
    # nodes sharing a machine (and `pilothouse run` under /pilothouse) never collect each
    # other's cgroups as strays.
    cgroup_parent: str = ""

    @property
    def pods_cgroup_parent(self) -> str:
        return self.cgroup_parent or f"/pilothouse-nodes/{self.node_name}"

    @property
    def credentials_dir(self) -> Path:
        return self.data_dir / "credentials"

    @property
    def runtime_root(self) -> Path:
        return self.data_dir / "runtime"

    @property
    def images_root(self) -> Path:
        return self.data_dir / "images"

    @property
    def pods_dir(self) -> Path:
        """Per-pod state: volumes, etc-hosts (pods/<uid>/...)."""
        return self.data_dir / "pods"

    @property
    def logs_dir(self) -> Path:
        """Container logs: logs/<namespace>_<pod>_<uid>/<container>/<restart>.log."""
        return self.data_dir / "logs"

    @property
    def manifests_dir(self) -> Path:
        """Static pod manifests."""
        return self.manifests_path or self.data_dir / "manifests"

    @property
    def registries_file(self) -> Path:
        return self.registries_path or self.data_dir / "registries.yaml"

    @property
    def network_dir(self) -> Path:
        return self.data_dir / "network"
