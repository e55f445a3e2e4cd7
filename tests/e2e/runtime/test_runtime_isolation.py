"""Isolation, seen from inside real containers: processes, hostname, filesystem, network."""

# ruff: noqa: ASYNC240 (tests read small files on the event loop; nothing else runs on it)

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from runtime_helpers import container, output, pod, start

from pilothouse.runtime.interface import (
    LinuxContainerSecurityContext,
    Mount,
    NamespaceMode,
    NamespaceOption,
)
from pilothouse.runtime.oci.runtime import LocalRuntime


async def test_a_container_sees_its_own_processes_hostname_and_loopback_only(runtime: LocalRuntime) -> None:
    _, container_id = await start(runtime, container("sleep", "300"), pod(hostname="isolated-host"))

    processes = await output(runtime, container_id, "ps", "-o", "pid,args")
    interfaces = await output(runtime, container_id, "ls", "/sys/class/net")
    hostname = await output(runtime, container_id, "hostname")
    masked = await output(runtime, container_id, "cat", "/proc/timer_list")

    rows = [line.split(None, 1) for line in processes.splitlines()[1:]]
    assert rows[0] == ["1", "sleep 300"]
    assert [args for _, args in rows[1:]] == ["ps -o pid,args"]
    assert interfaces.split() == ["lo"]
    assert hostname.strip() == "isolated-host"
    assert masked == "" and Path("/proc/timer_list").read_text() != ""
    assert os.uname().nodename != "isolated-host"


async def test_a_container_has_the_image_filesystem_not_the_hosts(runtime: LocalRuntime) -> None:
    _, container_id = await start(runtime, container("sleep", "300"))

    listing = await output(runtime, container_id, "ls", "/")
    response = await runtime.exec_sync(container_id, ["cat", "/etc/debian_version"], timeout=10)

    assert "work" not in listing.split()
    assert Path("/etc/debian_version").exists()
    assert response.exit_code != 0


async def test_the_writable_layer_is_private_and_the_image_layers_stay_unchanged(
    runtime: LocalRuntime,
) -> None:
    image = runtime.ctx.images.resolve("busybox")
    layers_before = _tree_digest(runtime.ctx.images.layer_dirs(image))
    _, writer = await start(runtime, container("sleep", "300"))
    _, reader = await start(runtime, container("sleep", "300"))

    await output(runtime, writer, "sh", "-c", "echo mine > /etc/marker; rm /bin/true")
    seen_by_other = await runtime.exec_sync(reader, ["cat", "/etc/marker"], timeout=10)
    true_in_other = await runtime.exec_sync(reader, ["ls", "/bin/true"], timeout=10)

    assert await output(runtime, writer, "cat", "/etc/marker") == "mine\n"
    assert seen_by_other.exit_code != 0
    assert true_in_other.exit_code == 0
    assert _tree_digest(runtime.ctx.images.layer_dirs(image)) == layers_before


async def test_containers_of_a_pod_share_network_ipc_and_hostname_but_not_processes(
    runtime: LocalRuntime,
) -> None:
    sandbox = pod(hostname="shared")
    sandbox_id, server = await start(runtime, container("sh", "-c", "while true; do echo pong | nc -l -p 7777; done", name="server"), sandbox)
    client = await runtime.create_container(sandbox_id, container("sleep", "300", name="client"), sandbox)
    await runtime.start_container(client)

    answer = await _retry_until_answered(runtime, client)
    server_ipc = await output(runtime, server, "readlink", "/proc/self/ns/ipc")
    client_ipc = await output(runtime, client, "readlink", "/proc/self/ns/ipc")
    client_processes = await output(runtime, client, "ps", "-o", "args")

    assert answer == "pong\n"
    assert server_ipc == client_ipc
    assert await output(runtime, client, "hostname") == "shared\n"
    assert "nc -l" not in client_processes


async def test_a_shared_process_namespace_shows_the_pods_processes(runtime: LocalRuntime) -> None:
    shared = NamespaceOption(pid=NamespaceMode.POD)
    sandbox = pod(namespaces=shared)
    security = LinuxContainerSecurityContext(namespace_options=shared)
    sandbox_id, first = await start(runtime, container("sleep", "301", name="a", security=security), sandbox)
    second = await runtime.create_container(sandbox_id, container("sleep", "302", name="b", security=security), sandbox)
    await runtime.start_container(second)

    processes = await output(runtime, second, "ps", "-o", "pid,args")

    assert "1 /pause -P" in processes
    assert "sleep 301" in processes and "sleep 302" in processes


async def test_security_settings_are_applied(runtime: LocalRuntime, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "file").write_text("from the host\n")
    security = LinuxContainerSecurityContext(run_as_username="nobody", readonly_rootfs=True)
    mounts = [Mount(container_path="/data", host_path=str(shared), readonly=True)]
    _, container_id = await start(runtime, container("sleep", "300", security=security, mounts=mounts))

    identity = await output(runtime, container_id, "id")
    root_write = await runtime.exec_sync(container_id, ["touch", "/newfile"], timeout=10)
    volume_write = await runtime.exec_sync(container_id, ["touch", "/data/newfile"], timeout=10)
    sysctl_write = await runtime.exec_sync(container_id, ["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"], timeout=10)

    assert identity.startswith("uid=65534(nobody) gid=65534(nobody)")
    assert await output(runtime, container_id, "cat", "/data/file") == "from the host\n"
    assert root_write.exit_code != 0 and volume_write.exit_code != 0
    assert sysctl_write.exit_code != 0


def _tree_digest(directories: list[Path]) -> str:
    digest = hashlib.sha256()
    for directory in directories:
        for parent, subdirectories, files in sorted(os.walk(directory)):
            subdirectories.sort()
            for name in sorted(files):
                path = Path(parent, name)
                digest.update(str(path).encode())
                if path.is_file() and not path.is_symlink():
                    digest.update(path.read_bytes())
    return digest.hexdigest()


async def _retry_until_answered(runtime: LocalRuntime, client: str) -> str:
    """nc in the server may not listen yet: ask again until it answers (bounded)."""
    for _ in range(200):
        response = await runtime.exec_sync(client, ["sh", "-c", "nc 127.0.0.1 7777 </dev/null"], timeout=10)
        if response.exit_code == 0 and response.stdout:
            return response.stdout.decode()
    raise AssertionError("the server never answered on localhost:7777")
