"""A container's runtime configuration (upstream's generateContainerConfig).

Given the resolved environment and mounts, the container gets: its name and attempt (the
restart count), the image, command and args with ``$(VAR)`` references to its environment
expanded (the runtime combines them with the image's Entrypoint and Cmd as Kubernetes
defines), the working directory, the CRI labels and annotations, its log path
``<container>/<restartCount>.log`` under the pod's log directory, stdin/tty settings, the
security context and the resources in cgroup terms.

The extra mounts the kubelet itself provides are made here too: the managed /etc/hosts,
and a fresh file for the termination message (``pods/<uid>/containers/<name>/<random>``)
bind-mounted at terminationMessagePath.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    ImageSpec,
    KeyValue,
    LinuxContainerConfig,
    Mount,
)

from . import labels, podutil, resources, security
from .expansion import expand_command_and_args

Obj = dict[str, Any]
ETC_HOSTS = "/etc/hosts"


def pod_dir(pods_dir: Path, pod: Obj) -> Path:
    return pods_dir / podutil.uid(pod)


def etc_hosts_path(pods_dir: Path, pod: Obj) -> Path:
    return pod_dir(pods_dir, pod) / "etc-hosts"


def log_path(container: Obj, restart_count: int) -> str:
    return f"{container['name']}/{restart_count}.log"


def container_config(
    pod: Obj,
    container: Obj,
    *,
    restart_count: int,
    env: list[tuple[str, str]],
    mounts: list[Mount],
    memory_capacity: int,
) -> ContainerConfig:
    command, args = expand_command_and_args(
        list(container.get("command") or []), list(container.get("args") or []), dict(env)
    )
    return ContainerConfig(
        metadata=ContainerMetadata(name=container["name"], attempt=restart_count),
        image=ImageSpec(image=container.get("image", ""), user_specified_image=container.get("image", "")),
        command=command,
        args=args,
        working_dir=container.get("workingDir") or "",
        envs=[KeyValue(key, value) for key, value in env],
        mounts=mounts,
        labels=labels.container_labels(pod, container),
        annotations=labels.container_annotations(pod, container, restart_count),
        log_path=log_path(container, restart_count),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        tty=bool(container.get("tty")),
        linux=LinuxContainerConfig(
            resources=resources.container_resources(pod, container, memory_capacity=memory_capacity),
            security_context=security.container_security(pod, container),
        ),
    )


def kubelet_mounts(pods_dir: Path, pod: Obj, container: Obj, volume_mounts: list[Mount], pod_ips: tuple[str, ...]) -> list[Mount]:
    """The volume mounts, plus the managed /etc/hosts (unless a volume is mounted there or
    the pod has no IP yet) and the termination message file."""
    mounts = list(volume_mounts)
    taken = {m.container_path.rstrip("/") for m in mounts}
    hosts = etc_hosts_path(pods_dir, pod)
    if ETC_HOSTS not in taken and pod_ips and hosts.exists():
        mounts.append(Mount(container_path=ETC_HOSTS, host_path=str(hosts)))
    path = container.get("terminationMessagePath")
    if path and path.rstrip("/") not in taken:
        mounts.append(Mount(container_path=path, host_path=str(new_termination_file(pods_dir, pod, container))))
    return mounts


def new_termination_file(pods_dir: Path, pod: Obj, container: Obj) -> Path:
    directory = pod_dir(pods_dir, pod) / "containers" / container["name"]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / secrets.token_hex(4)
    path.touch()
    os.chmod(path, 0o666)  # whatever user the container runs as writes it
    return path
