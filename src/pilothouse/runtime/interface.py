"""The runtime interface: CRI-shaped sandbox, container and image services.

This mirrors the Kubernetes Container Runtime Interface (``k8s.io/cri-api``
``pkg/apis/runtime/v1/api.proto``) in Python: messages are dataclasses with the CRI field names,
RPCs are async methods that take and return ids. The kubelet talks to containers only
through these two services; :mod:`pilothouse.runtime.fake` implements them in memory for
its unit tests and :mod:`pilothouse.runtime.oci` with real containers.

Differences from the CRI, each deliberate:

- Protobuf's "unset" is ``None`` where the CRI uses wrapper messages (``Int64Value``) or
  where an empty list and an absent one differ (``masked_paths``: ``None`` means the runtime's
  defaults, ``[]`` means none).
- ``NamespaceOption.pid`` defaults to ``CONTAINER`` (the Kubernetes default), not ``POD``.
- ``LinuxContainerResources.pids_limit`` limits a container's (or, in a sandbox config, a
  pod's) number of processes; the CRI leaves that to the kubelet's own cgroup code.
- ``exec`` and ``attach`` return a :class:`StreamingSession` instead of the URL of a
  streaming server: the kubelet serves the streams itself and bridges the session's
  stdin, stdout, stderr, resize and exit code to WebSocket or SPDY channels.
- ``port_forward`` returns a connection to a port of the sandbox's loopback interface.
- ``PodSandboxStatus.network_namespace_path`` names the sandbox's network namespace, and a
  :class:`PodNetwork` given to the runtime plugs it into the pod network (CNI) when the
  sandbox is created and unplugs it when it stops, as containerd and CRI-O do.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio

# -- enums ---------------------------------------------------------------------------------


class NamespaceMode(enum.IntEnum):
    POD = 0  # shared by the pod's containers
    CONTAINER = 1  # the container's own
    NODE = 2  # the host's
    TARGET = 3  # another container's (NamespaceOption.target_id)


class MountPropagation(enum.IntEnum):
    PRIVATE = 0  # rprivate
    HOST_TO_CONTAINER = 1  # rslave
    BIDIRECTIONAL = 2  # rshared


class PortProtocol(enum.IntEnum):
    TCP = 0
    UDP = 1
    SCTP = 2


class PodSandboxState(enum.IntEnum):
    READY = 0
    NOTREADY = 1


class ContainerState(enum.IntEnum):
    CREATED = 0
    RUNNING = 1
    EXITED = 2
    UNKNOWN = 3


# -- sandbox configuration -------------------------------------------------------------------


@dataclass
class PodSandboxMetadata:
    """Identifies a sandbox: the pod's name, uid, namespace and the attempt number."""

    name: str = ""
    uid: str = ""
    namespace: str = ""
    attempt: int = 0


@dataclass
class DNSConfig:
    """The resolv.conf of a sandbox."""

    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


@dataclass
class PortMapping:
    """A port of the sandbox published on the host."""

    protocol: PortProtocol = PortProtocol.TCP
    container_port: int = 0
    host_port: int = 0
    host_ip: str = ""


@dataclass
class NamespaceOption:
    """Which namespaces are the pod's, the container's own, the host's or another container's."""

    network: NamespaceMode = NamespaceMode.POD
    pid: NamespaceMode = NamespaceMode.CONTAINER
    ipc: NamespaceMode = NamespaceMode.POD
    target_id: str = ""


@dataclass
class LinuxContainerResources:
    """Resource limits; 0 (or empty) means not specified."""

    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    memory_limit_in_bytes: int = 0
    oom_score_adj: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    memory_swap_limit_in_bytes: int = 0
    pids_limit: int = 0
    unified: dict[str, str] = field(default_factory=dict)  # raw cgroup v2 files


@dataclass
class LinuxSandboxSecurityContext:
    """Security settings of a sandbox (its infra process, if any)."""

    namespace_options: NamespaceOption = field(default_factory=NamespaceOption)
    run_as_user: int | None = None
    run_as_group: int | None = None
    readonly_rootfs: bool = False
    supplemental_groups: list[int] = field(default_factory=list)
    privileged: bool = False


@dataclass
class LinuxPodSandboxConfig:
    """Linux settings of a sandbox: cgroup parent, security, sysctls, pod-level limits."""

    cgroup_parent: str = ""  # relative to the runtime's cgroup root; default pod-<sandbox id>
    security_context: LinuxSandboxSecurityContext = field(default_factory=LinuxSandboxSecurityContext)
    sysctls: dict[str, str] = field(default_factory=dict)
    resources: LinuxContainerResources | None = None  # applied to the pod's cgroup


@dataclass
class PodSandboxConfig:
    """Everything needed to create a sandbox; immutable for the pod's life."""

    metadata: PodSandboxMetadata = field(default_factory=PodSandboxMetadata)
    hostname: str = ""
    log_directory: str = ""
    dns_config: DNSConfig | None = None  # None: the host's /etc/resolv.conf
    port_mappings: list[PortMapping] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    linux: LinuxPodSandboxConfig = field(default_factory=LinuxPodSandboxConfig)


# -- container configuration -----------------------------------------------------------------


@dataclass
class ImageSpec:
    """An image reference (tag, digest or id)."""

    image: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    user_specified_image: str = ""


@dataclass
class KeyValue:
    """One environment variable."""

    key: str = ""
    value: str = ""


@dataclass
class Mount:
    """A host path bind-mounted into a container."""

    container_path: str = ""
    host_path: str = ""
    readonly: bool = False
    propagation: MountPropagation = MountPropagation.PRIVATE


@dataclass
class Device:
    """A host device made available in a container."""

    container_path: str = ""
    host_path: str = ""
    permissions: str = "rwm"


@dataclass
class Capability:
    """Capabilities to add to or drop from the runtime's default set."""

    add_capabilities: list[str] = field(default_factory=list)  # "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL"
    drop_capabilities: list[str] = field(default_factory=list)
    add_ambient_capabilities: list[str] = field(default_factory=list)


@dataclass
class LinuxContainerSecurityContext:
    """Security settings of a container."""

    capabilities: Capability = field(default_factory=Capability)
    privileged: bool = False
    namespace_options: NamespaceOption = field(default_factory=NamespaceOption)
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_username: str = ""
    readonly_rootfs: bool = False
    supplemental_groups: list[int] = field(default_factory=list)
    no_new_privs: bool = False
    masked_paths: list[str] | None = None  # None: the runtime's defaults
    readonly_paths: list[str] | None = None  # None: the runtime's defaults


@dataclass
class LinuxContainerConfig:
    """Linux settings of a container: resources and security."""

    resources: LinuxContainerResources = field(default_factory=LinuxContainerResources)
    security_context: LinuxContainerSecurityContext = field(
        default_factory=LinuxContainerSecurityContext
    )


@dataclass
class ContainerMetadata:
    """Identifies a container in its sandbox: its name and attempt number."""

    name: str = ""
    attempt: int = 0


@dataclass
class ContainerConfig:
    """Everything needed to create a container."""

    metadata: ContainerMetadata = field(default_factory=ContainerMetadata)
    image: ImageSpec = field(default_factory=ImageSpec)
    command: list[str] = field(default_factory=list)  # replaces the image's Entrypoint
    args: list[str] = field(default_factory=list)  # replaces the image's Cmd
    working_dir: str = ""
    envs: list[KeyValue] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""  # relative to PodSandboxConfig.log_directory
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    linux: LinuxContainerConfig = field(default_factory=LinuxContainerConfig)


# -- filters -----------------------------------------------------------------------------------


@dataclass
class PodSandboxFilter:
    """Selects sandboxes; all fields must match (an empty field matches all)."""

    id: str = ""
    state: PodSandboxState | None = None
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerFilter:
    """Selects containers; all fields must match (an empty field matches all)."""

    id: str = ""
    state: ContainerState | None = None
    pod_sandbox_id: str = ""
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStatsFilter:
    """Selects containers whose stats to report."""

    id: str = ""
    pod_sandbox_id: str = ""
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageFilter:
    """Selects images."""

    image: ImageSpec | None = None


# -- statuses ----------------------------------------------------------------------------------


@dataclass
class PodSandboxNetworkStatus:
    """The sandbox's IP addresses."""

    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)


@dataclass
class PodSandbox:
    """A sandbox as listed."""

    id: str
    metadata: PodSandboxMetadata
    state: PodSandboxState
    created_at: int  # nanoseconds since the epoch
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    runtime_handler: str = ""


@dataclass
class PodSandboxStatus:
    """The status of one sandbox."""

    id: str
    metadata: PodSandboxMetadata
    state: PodSandboxState
    created_at: int
    network: PodSandboxNetworkStatus
    namespace_options: NamespaceOption
    network_namespace_path: str  # "" when the sandbox uses the host's network
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    runtime_handler: str = ""


@dataclass
class Container:
    """A container as listed."""

    id: str
    pod_sandbox_id: str
    metadata: ContainerMetadata
    image: ImageSpec
    image_ref: str
    state: ContainerState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    image_id: str = ""


@dataclass
class ContainerStatus:
    """The status of one container; times are nanoseconds since the epoch (0: not yet)."""

    id: str
    metadata: ContainerMetadata
    state: ContainerState
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    image: ImageSpec = field(default_factory=ImageSpec)
    image_ref: str = ""
    image_id: str = ""
    reason: str = ""  # "OOMKilled", "Completed", "Error"
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    log_path: str = ""
    resources: LinuxContainerResources | None = None
    pid: int = 0  # on the host, while running


@dataclass
class ExecSyncResponse:
    """What a command run by exec_sync wrote, and how it exited."""

    stdout: bytes
    stderr: bytes
    exit_code: int


# -- stats -------------------------------------------------------------------------------------


@dataclass
class CpuUsage:
    """CPU time used, cumulative and as a rate."""

    timestamp: int
    usage_core_nano_seconds: int
    usage_nano_cores: int | None = None  # None until two samples exist


@dataclass
class MemoryUsage:
    """Memory used, in bytes."""

    timestamp: int
    working_set_bytes: int
    usage_bytes: int
    rss_bytes: int
    page_faults: int
    major_page_faults: int
    available_bytes: int | None = None  # None without a memory limit


@dataclass
class ProcessUsage:
    """Number of processes."""

    timestamp: int
    process_count: int


@dataclass
class FilesystemUsage:
    """Disk used, on the filesystem at ``mountpoint``."""

    timestamp: int
    mountpoint: str
    used_bytes: int
    inodes_used: int | None = None


@dataclass
class ContainerAttributes:
    """Which container a stats record is about."""

    id: str
    metadata: ContainerMetadata
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStats:
    """Resource usage of one container."""

    attributes: ContainerAttributes
    cpu: CpuUsage
    memory: MemoryUsage
    process: ProcessUsage
    writable_layer: FilesystemUsage | None = None


@dataclass
class PodSandboxStats:
    """Resource usage of one sandbox (its pod cgroup) and its containers."""

    id: str
    metadata: PodSandboxMetadata
    cpu: CpuUsage
    memory: MemoryUsage
    process: ProcessUsage
    containers: list[ContainerStats] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


# -- runtime-level information -----------------------------------------------------------------


@dataclass
class VersionInfo:
    """The runtime's name and versions."""

    version: str  # of the kubelet runtime API
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


@dataclass
class RuntimeCondition:
    """One condition of the runtime (RuntimeReady, NetworkReady)."""

    type: str  # "RuntimeReady", "NetworkReady"
    status: bool
    reason: str = ""
    message: str = ""


@dataclass
class RuntimeStatus:
    """The runtime's conditions."""

    conditions: list[RuntimeCondition]


# -- images ------------------------------------------------------------------------------------


@dataclass
class Image:
    """A local image."""

    id: str
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    size: int = 0
    uid: int | None = None  # the image's USER when numeric
    username: str = ""  # the image's USER when a name
    spec: ImageSpec = field(default_factory=ImageSpec)
    pinned: bool = False


@dataclass
class AuthConfig:
    """Credentials for a registry."""

    username: str = ""
    password: str = ""
    auth: str = ""  # base64("username:password")
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""


# -- streaming ---------------------------------------------------------------------------------


class StreamingSession(abc.ABC):
    """One exec or attach session, for the kubelet to bridge to WebSocket or SPDY channels.

    ``stdout`` and ``stderr`` are readers that end (EOF) when the process closes them; with
    a TTY everything arrives on ``stdout`` and ``stderr`` is None. ``wait`` returns the exit
    code: the exec'd command's, or for attach the container's once it exits (None if the
    session was closed while the container kept running).
    """

    def __init__(
        self,
        *,
        tty: bool,
        stdin: bool,
        stdout: asyncio.StreamReader | None,
        stderr: asyncio.StreamReader | None,
    ):
        self.tty = tty
        self.has_stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    @abc.abstractmethod
    async def write_stdin(self, data: bytes) -> None: ...

    @abc.abstractmethod
    async def close_stdin(self) -> None: ...

    @abc.abstractmethod
    async def resize(self, width: int, height: int) -> None: ...

    @abc.abstractmethod
    async def wait(self) -> int | None: ...

    @abc.abstractmethod
    async def close(self) -> None:
        """Ends the session: detaches from an attached container, kills an exec'd command."""


# -- plug-ins ----------------------------------------------------------------------------------


class PodNetwork(Protocol):
    """Wires a sandbox's network namespace into the pod network (CNI), and unwires it."""

    async def setup(
        self, sandbox_id: str, netns_path: Path, config: PodSandboxConfig
    ) -> PodSandboxNetworkStatus: ...

    async def teardown(self, sandbox_id: str, netns_path: Path, config: PodSandboxConfig) -> None: ...


# -- services ----------------------------------------------------------------------------------


class RuntimeService(abc.ABC):
    """Sandboxes and containers (the CRI's RuntimeService)."""

    @abc.abstractmethod
    async def version(self) -> VersionInfo: ...

    @abc.abstractmethod
    async def status(self) -> RuntimeStatus: ...

    # sandboxes

    @abc.abstractmethod
    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str:
        """Creates and starts a sandbox; returns its id. It is READY on return."""

    @abc.abstractmethod
    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """Kills the sandbox's containers and infra process, unplugs its network. Idempotent."""

    @abc.abstractmethod
    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        """Removes the sandbox and its containers. Idempotent (no error if already gone)."""

    @abc.abstractmethod
    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus: ...

    @abc.abstractmethod
    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]: ...

    # containers

    @abc.abstractmethod
    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig
    ) -> str:
        """Creates a container in a sandbox; returns its id. It is CREATED on return."""

    @abc.abstractmethod
    async def start_container(self, container_id: str) -> None: ...

    @abc.abstractmethod
    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 (CRI grace period)
        """Sends the stop signal, and SIGKILL after ``timeout`` seconds. Idempotent."""

    @abc.abstractmethod
    async def remove_container(self, container_id: str) -> None:
        """Removes a container, killing it if it runs. Idempotent."""

    @abc.abstractmethod
    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]: ...

    @abc.abstractmethod
    async def container_status(self, container_id: str) -> ContainerStatus: ...

    @abc.abstractmethod
    async def update_container_resources(
        self, container_id: str, resources: LinuxContainerResources
    ) -> None: ...

    @abc.abstractmethod
    async def reopen_container_log(self, container_id: str) -> None:
        """Makes the container write to a new file at its log path (after a rotation)."""

    # streaming

    @abc.abstractmethod
    async def exec_sync(
        self,
        container_id: str,
        cmd: list[str],
        timeout: float = 0,  # noqa: ASYNC109 (the CRI's: the command is killed when it expires)
    ) -> ExecSyncResponse:
        """Runs ``cmd`` in the container; raises ExecTimeout after ``timeout`` s (0: no limit)."""

    @abc.abstractmethod
    async def exec(
        self,
        container_id: str,
        cmd: list[str],
        *,
        tty: bool = False,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
    ) -> StreamingSession: ...

    @abc.abstractmethod
    async def attach(
        self,
        container_id: str,
        *,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
    ) -> StreamingSession:
        """Attaches to the container's own stdio (its TTY if it was created with one)."""

    @abc.abstractmethod
    async def port_forward(
        self, sandbox_id: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connects to ``port`` on the loopback interface of the sandbox's network."""

    # stats

    @abc.abstractmethod
    async def container_stats(self, container_id: str) -> ContainerStats: ...

    @abc.abstractmethod
    async def list_container_stats(
        self, filter: ContainerStatsFilter | None = None
    ) -> list[ContainerStats]:
        """Stats of the running containers that match ``filter``."""

    @abc.abstractmethod
    async def pod_sandbox_stats(self, sandbox_id: str) -> PodSandboxStats: ...


class ImageService(abc.ABC):
    """Images (the CRI's ImageService)."""

    @abc.abstractmethod
    async def list_images(self, filter: ImageFilter | None = None) -> list[Image]: ...

    @abc.abstractmethod
    async def image_status(self, image: ImageSpec) -> Image | None:
        """The image, or None if it is not present."""

    @abc.abstractmethod
    async def pull_image(
        self,
        image: ImageSpec,
        auth: AuthConfig | None = None,
        sandbox_config: PodSandboxConfig | None = None,
    ) -> str:
        """Pulls the image; returns its reference (the image id)."""

    @abc.abstractmethod
    async def remove_image(self, image: ImageSpec) -> None:
        """Removes the image. Idempotent."""

    @abc.abstractmethod
    async def image_fs_info(self) -> list[FilesystemUsage]: ...


def matches_labels(labels: dict[str, str], selector: dict[str, str]) -> bool:
    """The CRI's label filter: every selector pair is present in ``labels``."""
    return all(labels.get(key) == value for key, value in selector.items())
