"""Pods on a real node: running, status, networking, deletion, nothing left behind."""

from __future__ import annotations

import asyncio
import socket

from kubelet_e2e import (
    condition,
    container,
    create_pod,
    delete_and_wait_gone,
    exec_in,
    running,
    running_container_id,
    wait_pod,
    wait_until,
)

from pilothouse.runtime.interface import ContainerFilter


async def test_pod_runs_and_reports_status(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "web", container("app", "sleep", "3600"))
    pod = await wait_pod(node, "web", running)
    status = pod["status"]
    assert status["podIP"].startswith(str(node.network.pod_cidr.network_address)[:-1])
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["hostIP"] == str(node.network.gateway)
    assert status["qosClass"] == "BestEffort"
    assert status["startTime"]
    app = status["containerStatuses"][0]
    assert app["ready"] is True and app["started"] is True and app["restartCount"] == 0
    assert app["image"] == "docker.io/library/busybox:latest"
    assert app["containerID"].startswith("pilothouse://")
    assert app["imageID"]
    for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
        assert condition(pod, kind)["status"] == "True", kind
    assert (await exec_in(node, pod, "app", "hostname")).strip() == "web"
    await delete_and_wait_gone(node, "web")
    assert await node.runtime.list_containers(ContainerFilter()) == []
    assert await node.runtime.list_pod_sandbox() == []


async def test_pod_ip_reachable_from_the_node(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "httpd",
        container("web", "sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"),
    )
    pod = await wait_pod(node, "httpd", running)
    ip = pod["status"]["podIP"]

    async def fetch() -> bytes:
        reader, writer = await asyncio.open_connection(ip, 8080)
        writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = await reader.read()
        writer.close()
        return data

    async def answer() -> bytes:
        try:
            return await fetch()
        except OSError:
            return b""

    assert (await wait_until(answer)).endswith(b"hello\n")


async def test_containers_share_an_empty_dir_and_localhost(node) -> None:  # type: ignore[no-untyped-def]
    shared = [{"name": "shared", "mountPath": "/shared"}]
    await create_pod(
        node, "pair",
        container("writer", "sh", "-c", "echo from-writer > /shared/note; exec httpd -f -p 8081 -h /shared",
                  volumeMounts=shared),
        container("reader", "sleep", "3600", volumeMounts=shared),
        volumes=[{"name": "shared", "emptyDir": {}}],
    )
    pod = await wait_pod(node, "pair", running)

    async def note() -> str:
        try:
            return await exec_in(node, pod, "reader", "cat", "/shared/note")
        except AssertionError:
            return ""

    assert await wait_until(note) == "from-writer\n"
    fetched = await exec_in(node, pod, "reader", "wget", "-q", "-O", "-", "http://127.0.0.1:8081/note")
    assert fetched == "from-writer\n"


async def test_hostname_hosts_and_dns(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "named", container("app", "sleep", "3600"),
        hostname="box", subdomain="grp", hostAliases=[{"ip": "10.1.2.3", "hostnames": ["alias.one", "alias.two"]}],
        dnsConfig={"options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}], "searches": ["extra.example"]},
    )
    pod = await wait_pod(node, "named", running)
    ip = pod["status"]["podIP"]
    ns = node.namespace
    assert (await exec_in(node, pod, "app", "hostname")).strip() == "box"
    hosts = await exec_in(node, pod, "app", "cat", "/etc/hosts")
    assert hosts.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert f"{ip}\tbox.grp.{ns}.svc.cluster.local\tbox\n" in hosts
    assert hosts.endswith("\n# Entries added by HostAliases.\n10.1.2.3\talias.one\talias.two\n")
    resolv = (await exec_in(node, pod, "app", "cat", "/etc/resolv.conf")).splitlines()
    assert resolv[0].split()[1:4] == [f"{ns}.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert resolv[0].split()[-1] == "extra.example"
    assert f"nameserver {node.config.cluster_dns[0]}" in resolv
    assert "options ndots:2 edns0" in resolv


async def test_security_context_and_resources(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "secure",
        container(
            "app", "sleep", "3600",
            securityContext={"runAsUser": 1000, "runAsGroup": 3000, "readOnlyRootFilesystem": True,
                             "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
            resources={"requests": {"cpu": "250m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "64Mi"}},
        ),
        securityContext={"supplementalGroups": [4000], "fsGroup": 2000},
    )
    pod = await wait_pod(node, "secure", running)
    assert pod["status"]["qosClass"] == "Burstable"
    ids = await exec_in(node, pod, "app", "id")
    assert "uid=1000" in ids and "gid=3000" in ids and "4000" in ids and "2000" in ids
    status = await exec_in(node, pod, "app", "cat", "/proc/self/status")
    assert "NoNewPrivs:\t1" in status
    assert "CapBnd:\t0000000000000400" in status  # NET_BIND_SERVICE only
    container_id = await running_container_id(node, pod, "app")
    resources = (await node.runtime.container_status(container_id)).resources
    assert resources is not None
    assert resources.cpu_shares == 256 and resources.cpu_quota == 50000 and resources.cpu_period == 100000
    assert resources.memory_limit_in_bytes == 64 * 1024 * 1024
    write = await node.runtime.exec_sync(container_id, ["touch", "/probe"], timeout=10)
    assert write.exit_code != 0  # read-only root filesystem


async def test_shared_process_namespace(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "pids", container("a", "sleep", "3600"), container("b", "sleep", "7200"), shareProcessNamespace=True,
    )
    pod = await wait_pod(node, "pids", running)
    processes = await exec_in(node, pod, "a", "ps")
    assert "sleep 7200" in processes


async def test_host_port(node) -> None:  # type: ignore[no-untyped-def]
    host_port = free_port()
    await create_pod(
        node, "hostport",
        container("web", "sh", "-c", "mkdir -p /www && echo via-host-port > /www/index.html && exec httpd -f -p 8080 -h /www",
                  ports=[{"containerPort": 8080, "hostPort": host_port}]),
    )
    await wait_pod(node, "hostport", running)

    async def fetch() -> bytes:
        try:
            reader, writer = await asyncio.open_connection(str(node.network.gateway), host_port)
        except OSError:
            return b""
        writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = await reader.read()
        writer.close()
        return data

    assert (await wait_until(fetch)).endswith(b"via-host-port\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_host_network_pod(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "hostnet", container("app", "sleep", "3600"), hostNetwork=True)
    pod = await wait_pod(node, "hostnet", running)
    assert pod["status"]["podIP"] == pod["status"]["hostIP"] == str(node.network.gateway)
    addresses = await exec_in(node, pod, "app", "ip", "-4", "addr")
    assert str(node.network.gateway) in addresses  # the node's own interfaces
    hosts = await exec_in(node, pod, "app", "cat", "/etc/hosts")
    assert hosts.startswith("# Kubernetes-managed hosts file (host network).\n")
