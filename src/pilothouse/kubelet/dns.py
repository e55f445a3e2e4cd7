"""A pod's resolv.conf, by its dnsPolicy and dnsConfig, as the kubelet's DNS configurer
forms it.

- ClusterFirst (ClusterFirstWithHostNet for host-network pods): the cluster DNS servers,
  searches ``<ns>.svc.<domain> svc.<domain> <domain>`` then the node's, ``options ndots:5``.
  Without cluster DNS servers it falls back to Default, with a MissingClusterDNS warning.
- Default (and ClusterFirst on the host network): the node's resolv.conf.
- None: nothing but the pod's dnsConfig.
- dnsConfig is then merged in: nameservers and searches appended without duplicates,
  options merged by name (the pod's win). At most 3 nameservers and 32 search domains
  (2048 characters) are kept; dropping some is reported (DNSConfigForming).

The node's resolv.conf is read from ``/etc/resolv.conf``, or, like k3s does, from
systemd-resolved's upstream file when the former only names a loopback stub resolver.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pilothouse.runtime.interface import DNSConfig

from . import podutil

Obj = dict[str, Any]
HOST_RESOLV_CONF = Path("/etc/resolv.conf")
SYSTEMD_RESOLV_CONF = Path("/run/systemd/resolve/resolv.conf")
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048
DEFAULT_OPTIONS = ("ndots:5",)


@dataclass(frozen=True)
class ResolvConf:
    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass
class PodDNS:
    config: DNSConfig
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (reason, message) events


def parse_resolv_conf(text: str) -> ResolvConf:
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            servers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            searches = [s.rstrip(".") for s in fields[1:]]  # the last one wins, as in libc
        elif fields[0] == "options":
            options.extend(fields[1:])
    return ResolvConf(tuple(servers), tuple(searches), tuple(options))


def read_host_resolv_conf(path: Path = HOST_RESOLV_CONF) -> ResolvConf:
    try:
        parsed = parse_resolv_conf(path.read_text())
    except FileNotFoundError:
        return ResolvConf()
    if parsed.servers and all(_is_loopback(s) for s in parsed.servers) and SYSTEMD_RESOLV_CONF.exists():
        return parse_resolv_conf(SYSTEMD_RESOLV_CONF.read_text())
    return parsed


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def pod_dns(pod: Obj, *, cluster_dns: list[str], cluster_domain: str, host: ResolvConf) -> PodDNS:
    spec = podutil.spec(pod)
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    result = PodDNS(DNSConfig(list(host.servers), list(host.searches), list(host.options)))
    if policy == "None":
        result.config = DNSConfig()
    elif policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not spec.get("hostNetwork")):
        if cluster_dns:
            result.config = DNSConfig(
                servers=list(cluster_dns),
                searches=_omit_duplicates(_cluster_searches(pod, cluster_domain) + list(host.searches)),
                options=list(DEFAULT_OPTIONS),
            )
        else:
            message = (
                'kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" '
                'policy. Falling back to "Default" policy.'
            )
            result.warnings.append(("MissingClusterDNS", f'pod: "{podutil.describe(pod)}". {message}'))
    extra = spec.get("dnsConfig")
    if extra:
        result.config = DNSConfig(
            servers=_omit_duplicates(result.config.servers + list(extra.get("nameservers") or [])),
            searches=_omit_duplicates(result.config.searches + list(extra.get("searches") or [])),
            options=_merge_options(result.config.options, extra.get("options") or []),
        )
    _fit_limits(result)
    return result


def _cluster_searches(pod: Obj, domain: str) -> list[str]:
    if not domain:
        return []
    return [f"{podutil.namespace(pod)}.svc.{domain}", f"svc.{domain}", domain]


def _omit_duplicates(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _merge_options(existing: list[str], pod_options: list[Obj]) -> list[str]:
    merged: dict[str, str] = {}
    for text in existing:
        name, _, value = text.partition(":")
        merged[name] = value
    for option in pod_options:
        merged[option.get("name", "")] = option.get("value") or ""
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def _fit_limits(result: PodDNS) -> None:
    config = result.config
    if len(config.servers) > MAX_NAMESERVERS:
        config.servers = config.servers[:MAX_NAMESERVERS]
        result.warnings.append((
            "DNSConfigForming",
            "Nameserver limits were exceeded, some nameservers have been omitted, "
            f"the applied nameserver line is: {' '.join(config.servers)}",
        ))
    searches = config.searches
    while searches and (len(searches) > MAX_SEARCHES or len(" ".join(searches)) > MAX_SEARCH_CHARS):
        searches = searches[:-1]
    if searches != config.searches:
        config.searches = searches
        result.warnings.append((
            "DNSConfigForming",
            "Search Line limits were exceeded, some search paths have been omitted, "
            f"the applied search line is: {' '.join(searches)}",
        ))
