"""The /etc/hosts the kubelet manages for a pod's containers (pods/<uid>/etc-hosts).

For a pod on the pod network: the localhost and IPv6 entries, then each pod IP with the
pod's hostname (and its FQDN ``<hostname>.<subdomain>.<ns>.svc.<domain>`` when it has a
subdomain), then the hostAliases. For a host-network pod: the node's /etc/hosts, then the
hostAliases. Upstream's exact layout, comments included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import podutil

Obj = dict[str, Any]
HOST_HOSTS = Path("/etc/hosts")
MAX_HOSTNAME = 63


def pod_hostname_and_domain(pod: Obj, cluster_domain: str) -> tuple[str, str]:
    """The pod's hostname (spec.hostname or its name, at most 63 characters) and its
    domain (``<subdomain>.<ns>.svc.<domain>``, or "" without a subdomain)."""
    spec = podutil.spec(pod)
    hostname = spec.get("hostname") or podutil.name(pod)
    if len(hostname) > MAX_HOSTNAME:
        hostname = hostname[:MAX_HOSTNAME].rstrip("-.")
    domain = ""
    if spec.get("subdomain"):
        domain = f"{spec['subdomain']}.{podutil.namespace(pod)}.svc.{cluster_domain}"
    return hostname, domain


def kernel_hostname(pod: Obj, cluster_domain: str) -> str:
    """What the pod's UTS namespace is named: the FQDN with setHostnameAsFQDN."""
    hostname, domain = pod_hostname_and_domain(pod, cluster_domain)
    if podutil.spec(pod).get("setHostnameAsFQDN") and domain:
        return f"{hostname}.{domain}"
    return hostname


def managed_hosts(pod: Obj, pod_ips: tuple[str, ...], cluster_domain: str, host_hosts: str = "") -> str:
    aliases = _aliases(podutil.spec(pod).get("hostAliases") or [])
    if podutil.host_network(pod):
        return "# Kubernetes-managed hosts file (host network).\n" + host_hosts + aliases
    hostname, domain = pod_hostname_and_domain(pod, cluster_domain)
    lines = [
        "# Kubernetes-managed hosts file.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    for ip in pod_ips:
        lines.append(f"{ip}\t{hostname}.{domain}\t{hostname}" if domain else f"{ip}\t{hostname}")
    return "\n".join(lines) + "\n" + aliases


def _aliases(host_aliases: list[Obj]) -> str:
    if not host_aliases:
        return ""
    lines = ["", "# Entries added by HostAliases."]
    lines += [f"{alias.get('ip', '')}\t" + "\t".join(alias.get("hostnames") or []) for alias in host_aliases]
    return "\n".join(lines) + "\n"


def write_hosts_file(path: Path, pod: Obj, pod_ips: tuple[str, ...], cluster_domain: str) -> None:
    """Writes the file atomically. Containers bind-mount the inode they find at creation,
    so it is written when the sandbox (and with it the pod IP) changes, before they start."""
    host_hosts = HOST_HOSTS.read_text() if podutil.host_network(pod) else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(managed_hosts(pod, pod_ips, cluster_domain, host_hosts))
    temporary.chmod(0o644)
    temporary.replace(path)
