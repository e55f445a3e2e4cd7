"""Builders for the runtime end-to-end tests."""

# ruff: noqa: ASYNC240 (tests read small files on the event loop; nothing else runs on it)

from __future__ import annotations

import secrets
from pathlib import Path

from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    ImageSpec,
    LinuxContainerConfig,
    LinuxContainerResources,
    LinuxContainerSecurityContext,
    LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext,
    Mount,
    NamespaceOption,
    PodSandboxConfig,
    PodSandboxMetadata,
)
from pilothouse.runtime.logs import parse_entry
from pilothouse.runtime.oci.runtime import LocalRuntime


def pod(name: str = "", *, hostname: str = "", namespaces: NamespaceOption | None = None) -> PodSandboxConfig:
    name = name or f"pod-{secrets.token_hex(3)}"
    security = LinuxSandboxSecurityContext(namespace_options=namespaces or NamespaceOption())
    return PodSandboxConfig(
        metadata=PodSandboxMetadata(name=name, uid=secrets.token_hex(8), namespace="test"),
        hostname=hostname or name,
        linux=LinuxPodSandboxConfig(security_context=security),
    )


def container(
    *command: str,
    name: str = "app",
    resources: LinuxContainerResources | None = None,
    security: LinuxContainerSecurityContext | None = None,
    mounts: list[Mount] | None = None,
    tty: bool = False,
    stdin: bool = False,
    image: str = "busybox",
) -> ContainerConfig:
    return ContainerConfig(
        metadata=ContainerMetadata(name=name),
        image=ImageSpec(image=image),
        command=list(command),
        mounts=mounts or [],
        tty=tty,
        stdin=stdin,
        stdin_once=stdin,
        linux=LinuxContainerConfig(
            resources=resources or LinuxContainerResources(),
            security_context=security or LinuxContainerSecurityContext(),
        ),
    )


async def start(
    runtime: LocalRuntime, config: ContainerConfig, sandbox: PodSandboxConfig | None = None
) -> tuple[str, str]:
    """Runs a new sandbox (of ``sandbox``, or a default pod) and starts ``config`` in it."""
    sandbox = sandbox or pod()
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    container_id = await runtime.create_container(sandbox_id, config, sandbox)
    await runtime.start_container(container_id)
    return sandbox_id, container_id


async def output(runtime: LocalRuntime, container_id: str, *command: str) -> str:
    response = await runtime.exec_sync(container_id, list(command), timeout=30)
    assert response.exit_code == 0, response
    return response.stdout.decode()


async def logged(runtime: LocalRuntime, container_id: str) -> str:
    """What the container wrote (stdout and stderr), from its CRI log."""
    status = await runtime.container_status(container_id)
    entries = [parse_entry(line) for line in Path(status.log_path).read_bytes().splitlines()]
    return "".join(e.content.decode() + ("" if e.partial else "\n") for e in entries)
