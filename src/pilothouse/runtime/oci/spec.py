"""The OCI bundle writer: runtime-spec ``config.json`` as containerd's CRI plugin writes it.

Pure functions from the CRI configuration (and what the runtime resolved: image config,
user, namespace paths, sandbox files) to the ``config.json`` dictionary, so that every rule
can be unit-tested without root:

- namespaces: a container joins the sandbox's (pinned) network, IPC and UTS namespaces by
  path, and gets its own PID namespace unless the pod shares one (POD: the infra process's)
  or it targets another container's (TARGET). NODE means the host's namespace (no entry);
  a host-network sandbox also keeps the host's UTS namespace (no hostname). A sandbox's
  infra process exists only to be PID 1 of a shared PID namespace.
- the process: command and args combine with the image's Entrypoint and Cmd as Kubernetes
  says; environment is PATH, HOSTNAME, the image's, then the container's (later wins);
  working directory; the resolved user and groups; containerd's capabilities with
  add/drop/ALL; no_new_privs; oom_score_adj (raised to what this process may set).
- mounts: the standard ones, the sandbox's /etc/hostname, /etc/hosts, /etc/resolv.conf and
  /dev/shm, then the container's bind mounts (read-only and propagation as asked). A
  container mount replaces a standard one at the same destination.
- masked and read-only /proc paths, read-only root filesystem, device rules, resources
  (CPU shares, quota and period, cpuset, memory and swap, pids, cgroup v2 files) and an
  explicit ``cgroupsPath``. Privileged containers get every capability and host device and
  no masked paths.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from ..interface import (
    Capability,
    ContainerConfig,
    LinuxContainerResources,
    MountPropagation,
    NamespaceMode,
    NamespaceOption,
)
from . import defaults
from .devices import DeviceNode
from .users import ProcessUser

OCI_VERSION = "1.0.2"
PROPAGATION_OPTIONS = {
    MountPropagation.PRIVATE: "rprivate",
    MountPropagation.HOST_TO_CONTAINER: "rslave",
    MountPropagation.BIDIRECTIONAL: "rshared",
}


@dataclass(frozen=True)
class SandboxNamespaces:
    """Paths of a sandbox's namespaces: pinned files, and the infra process's PID namespace
    (``/proc/<pid>/ns/pid``); "" for those it does not have."""

    network: str
    ipc: str
    uts: str
    pid: str


@dataclass(frozen=True)
class SandboxFiles:
    """Files and directories a sandbox shares with its containers (None: not provided)."""

    hostname: Path | None = None
    hosts: Path | None = None
    resolv_conf: Path | None = None
    shm: Path | None = None


def container_spec(
    config: ContainerConfig,
    *,
    image_config: dict[str, Any],
    rootfs: Path,
    user: ProcessUser,
    hostname: str,
    namespaces: list[dict[str, str]],
    sandbox_files: SandboxFiles,
    cgroups_path: str,
    devices: list[DeviceNode] | None = None,
    min_oom_score_adj: int = -1000,
) -> dict[str, Any]:
    """The ``config.json`` of a container of a sandbox.

    ``devices`` are the host devices to create in the container: those of the config, and
    every host device when privileged (see :mod:`.devices`).
    """
    security = config.linux.security_context
    privileged = security.privileged
    uts_shared = any(ns["type"] == "uts" for ns in namespaces)
    process: dict[str, Any] = {
        "terminal": config.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": process_args(config, image_config),
        "env": process_env(config, image_config, hostname if uts_shared else ""),
        "cwd": config.working_dir or image_config.get("WorkingDir") or "/",
        "capabilities": capabilities(security.capabilities, privileged=privileged),
        "noNewPrivileges": security.no_new_privs,
    }
    oom_score_adj = config.linux.resources.oom_score_adj
    if oom_score_adj:
        process["oomScoreAdj"] = max(oom_score_adj, min_oom_score_adj)
    resources = resources_spec(config.linux.resources)
    nodes = devices or []
    if privileged:
        resources["devices"] = defaults.PRIVILEGED_DEVICE_RULES
    else:
        resources["devices"] = defaults.DEVICE_RULES + [node.cgroup_rule() for node in nodes]
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "cgroupsPath": cgroups_path,
        "resources": resources,
        "devices": [node.spec() for node in nodes],
    }
    if not privileged:
        linux["maskedPaths"] = _or_default(security.masked_paths, defaults.MASKED_PATHS)
        linux["readonlyPaths"] = _or_default(security.readonly_paths, defaults.READONLY_PATHS)
    propagation = _rootfs_propagation(config)
    if propagation:
        linux["rootfsPropagation"] = propagation
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": str(rootfs), "readonly": security.readonly_rootfs},
        "mounts": container_mounts(config, sandbox_files, privileged=privileged),
        "linux": linux,
    }
    if uts_shared and hostname:
        spec["hostname"] = hostname
    return spec


def infra_spec(
    *,
    rootfs: Path,
    args: list[str],
    hostname: str,
    namespaces: list[dict[str, str]],
    cgroups_path: str,
    sysctls: dict[str, str],
    user: ProcessUser,
    oom_score_adj: int,
) -> dict[str, Any]:
    """The ``config.json`` of a sandbox's infra process, which only holds its namespaces."""
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
            "args": args,
            "env": [defaults.DEFAULT_PATH],
            "cwd": "/",
            "capabilities": {name: [] for name in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
            "oomScoreAdj": oom_score_adj,
        },
        "root": {"path": str(rootfs), "readonly": True},
        "mounts": [m for m in defaults.standard_mounts(privileged=False) if m["destination"] in ("/proc", "/dev")],
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": cgroups_path,
            "sysctl": dict(sysctls),
            "resources": {"devices": defaults.DEVICE_RULES},
            "maskedPaths": defaults.MASKED_PATHS,
            "readonlyPaths": defaults.READONLY_PATHS,
        },
    }
    if any(ns["type"] == "uts" for ns in namespaces) and hostname:
        spec["hostname"] = hostname
    return spec


def infra_namespaces(options: NamespaceOption, sandbox: SandboxNamespaces) -> list[dict[str, str]]:
    """The pod's shared PID namespace (new) and mount namespace, in the pinned ones."""
    return container_namespaces(replace(options, pid=NamespaceMode.CONTAINER), sandbox)


def container_namespaces(
    options: NamespaceOption,
    sandbox: SandboxNamespaces,
    *,
    target_pid: str = "",
    cgroup_namespace: bool = False,
) -> list[dict[str, str]]:
    """The namespaces a container of a sandbox joins (by path) or gets (new)."""
    namespaces = [{"type": "mount"}]
    if options.pid == NamespaceMode.CONTAINER:
        namespaces.append({"type": "pid"})
    elif options.pid == NamespaceMode.POD:
        namespaces.append({"type": "pid", "path": sandbox.pid})
    elif options.pid == NamespaceMode.TARGET:
        if not target_pid:
            raise InvalidArgument(f"target container {options.target_id!r} of the PID namespace is not running")
        namespaces.append({"type": "pid", "path": target_pid})
    if options.ipc != NamespaceMode.NODE:
        namespaces.append({"type": "ipc", "path": sandbox.ipc})
    if options.network != NamespaceMode.NODE:
        namespaces += [{"type": "uts", "path": sandbox.uts}, {"type": "network", "path": sandbox.network}]
    if cgroup_namespace:
        namespaces.append({"type": "cgroup"})
    return namespaces


def process_args(config: ContainerConfig, image_config: dict[str, Any]) -> list[str]:
    """Kubernetes' rule: a command replaces Entrypoint and Cmd, args alone replace Cmd."""
    command, args = list(config.command), list(config.args)
    if not command:
        if not args:
            args = list(image_config.get("Cmd") or [])
        entrypoint = list(image_config.get("Entrypoint") or [])
        if entrypoint != [""]:
            command = entrypoint
    argv = command + args
    if not argv:
        raise InvalidArgument("no command specified")
    return argv


def process_env(config: ContainerConfig, image_config: dict[str, Any], hostname: str) -> list[str]:
    env: dict[str, str] = {}
    layers = [defaults.DEFAULT_PATH]
    if hostname:
        layers.append(f"HOSTNAME={hostname}")
    layers += list(image_config.get("Env") or [])
    layers += [f"{kv.key}={kv.value}" for kv in config.envs]
    for entry in layers:
        key, _, value = entry.partition("=")
        env[key] = value
    return [f"{key}={value}" for key, value in env.items()]


def capabilities(spec: Capability, *, privileged: bool) -> dict[str, list[str]]:
    """containerd's sets: bounding, effective and permitted alike; ambient only when asked."""
    if privileged:
        caps = list(defaults.ALL_CAPABILITIES)
    else:
        add = [_cap_name(c) for c in spec.add_capabilities]
        drop = [_cap_name(c) for c in spec.drop_capabilities]
        caps = [] if "CAP_ALL" in drop else list(defaults.DEFAULT_CAPABILITIES)
        caps = list(defaults.ALL_CAPABILITIES) if "CAP_ALL" in add else caps
        caps = [c for c in caps if c not in drop] + [c for c in add if c not in caps and c != "CAP_ALL"]
    ambient = [_cap_name(c) for c in spec.add_ambient_capabilities]
    caps += [c for c in ambient if c not in caps]
    return {"bounding": caps, "effective": caps, "permitted": caps, "ambient": ambient}


def _cap_name(name: str) -> str:
    upper = name.upper()
    return upper if upper.startswith("CAP_") else f"CAP_{upper}"


def container_mounts(
    config: ContainerConfig, files: SandboxFiles, *, privileged: bool
) -> list[dict[str, Any]]:
    taken = {m.container_path.rstrip("/") or "/" for m in config.mounts}
    readonly = config.linux.security_context.readonly_rootfs
    mounts = [m for m in defaults.standard_mounts(privileged=privileged) if m["destination"] not in taken]
    shared = [
        ("/etc/hostname", files.hostname, readonly),
        ("/etc/hosts", files.hosts, readonly),
        ("/etc/resolv.conf", files.resolv_conf, readonly),
        ("/dev/shm", files.shm, False),
    ]
    for destination, source, ro in shared:
        if source is None or destination in taken:
            continue
        mounts = [m for m in mounts if m["destination"] != destination]
        mounts.append(_bind(source, destination, readonly=ro, propagation="rprivate"))
    for mount in config.mounts:
        mounts.append(
            _bind(
                Path(mount.host_path),
                mount.container_path,
                readonly=mount.readonly,
                propagation=PROPAGATION_OPTIONS[mount.propagation],
            )
        )
    return mounts


def _bind(source: Path, destination: str, *, readonly: bool, propagation: str) -> dict[str, Any]:
    return {
        "destination": destination,
        "type": "bind",
        "source": str(source),
        "options": ["rbind", propagation, "ro" if readonly else "rw"],
    }


def _rootfs_propagation(config: ContainerConfig) -> str:
    modes = {m.propagation for m in config.mounts}
    if MountPropagation.BIDIRECTIONAL in modes:
        return "rshared"
    if MountPropagation.HOST_TO_CONTAINER in modes:
        return "rslave"
    return ""


def resources_spec(resources: LinuxContainerResources) -> dict[str, Any]:
    """``linux.resources`` (without devices) in the runtime spec's cgroup v1 terms."""
    out: dict[str, Any] = {}
    cpu: dict[str, Any] = {}
    if resources.cpu_shares:
        cpu["shares"] = resources.cpu_shares
    if resources.cpu_quota:
        cpu["quota"] = resources.cpu_quota
    if resources.cpu_period:
        cpu["period"] = resources.cpu_period
    if resources.cpuset_cpus:
        cpu["cpus"] = resources.cpuset_cpus
    if resources.cpuset_mems:
        cpu["mems"] = resources.cpuset_mems
    if cpu:
        out["cpu"] = cpu
    memory: dict[str, Any] = {}
    if resources.memory_limit_in_bytes:
        memory["limit"] = resources.memory_limit_in_bytes
    if resources.memory_swap_limit_in_bytes:
        memory["swap"] = resources.memory_swap_limit_in_bytes
    if memory:
        out["memory"] = memory
    if resources.pids_limit:
        out["pids"] = {"limit": resources.pids_limit}
    if resources.unified:
        out["unified"] = dict(resources.unified)
    return out


def _or_default(value: list[str] | None, default: list[str]) -> list[str]:
    return list(default) if value is None else list(value)
