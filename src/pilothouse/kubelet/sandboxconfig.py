"""A pod's sandbox configuration (upstream's generatePodSandboxConfig).

The sandbox carries the pod's identity (metadata and the CRI labels, the pod's annotations),
its hostname (none for host-network pods, which keep the node's), DNS (see :mod:`.dns`),
the host ports of its containers, its log directory
(``<logs>/<namespace>_<name>_<uid>``), the QoS cgroup parent with the pod-level limits,
namespaces and security settings, and sysctls (``a/b`` written ``a.b``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pilothouse.runtime.interface import (
    LinuxPodSandboxConfig,
    PodSandboxConfig,
    PodSandboxMetadata,
    PortMapping,
    PortProtocol,
)

from . import labels, podutil, resources, security
from .dns import PodDNS, ResolvConf, pod_dns
from .etchosts import kernel_hostname

Obj = dict[str, Any]


@dataclass(frozen=True)
class SandboxSettings:
    logs_dir: Path
    cluster_domain: str
    cluster_dns: list[str] = field(default_factory=list)
    host_dns: ResolvConf = field(default_factory=ResolvConf)


def pod_log_directory(logs_dir: Path, pod: Obj) -> Path:
    return logs_dir / f"{podutil.namespace(pod)}_{podutil.name(pod)}_{podutil.uid(pod)}"


def sandbox_config(pod: Obj, attempt: int, settings: SandboxSettings) -> tuple[PodSandboxConfig, PodDNS]:
    dns = pod_dns(
        pod, cluster_dns=settings.cluster_dns, cluster_domain=settings.cluster_domain, host=settings.host_dns
    )
    config = PodSandboxConfig(
        metadata=PodSandboxMetadata(
            name=podutil.name(pod), uid=podutil.uid(pod), namespace=podutil.namespace(pod), attempt=attempt
        ),
        hostname="" if podutil.host_network(pod) else kernel_hostname(pod, settings.cluster_domain),
        log_directory=str(pod_log_directory(settings.logs_dir, pod)),
        dns_config=dns.config,
        port_mappings=port_mappings(pod),
        labels=labels.sandbox_labels(pod),
        annotations=dict(podutil.annotations_of(pod)),
        linux=LinuxPodSandboxConfig(
            cgroup_parent=resources.cgroup_parent(pod),
            security_context=security.sandbox_security(pod),
            sysctls=sysctls(pod),
            resources=resources.pod_resources(pod),
        ),
    )
    return config, dns


def port_mappings(pod: Obj) -> list[PortMapping]:
    mappings: dict[tuple[Any, ...], PortMapping] = {}
    running = podutil.containers(pod) + [
        c for c in podutil.init_containers(pod) if podutil.is_restartable_init_container(c)
    ]
    for container in running:
        for port in podutil.container_ports(container):
            host_port = int(port.get("hostPort") or 0)
            if host_port <= 0:
                continue
            protocol = PortProtocol[(port.get("protocol") or "TCP").upper()]
            mapping = PortMapping(
                protocol=protocol,
                container_port=int(port.get("containerPort") or 0),
                host_port=host_port,
                host_ip=port.get("hostIP") or "",
            )
            mappings.setdefault((protocol, host_port, mapping.host_ip), mapping)
    return list(mappings.values())


def sysctls(pod: Obj) -> dict[str, str]:
    context = podutil.spec(pod).get("securityContext") or {}
    return {_dotted(s.get("name", "")): str(s.get("value", "")) for s in context.get("sysctls") or []}


def _dotted(name: str) -> str:
    """``net/ipv4/ip_forward`` -> ``net.ipv4.ip_forward`` (a slash form keeps dots as slashes)."""
    if "/" not in name:
        return name
    return name.replace(".", "\0").replace("/", ".").replace("\0", "/")
