"""What a pod and its containers are made with: DNS, /etc/hosts, the sandbox config,
resources in cgroup terms, security contexts, container configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubelet_builders import container, pod

from pilothouse.kubelet import labels
from pilothouse.kubelet.containerconfig import container_config
from pilothouse.kubelet.dns import ResolvConf, parse_resolv_conf, pod_dns
from pilothouse.kubelet.errors import ConfigError
from pilothouse.kubelet.etchosts import kernel_hostname, managed_hosts
from pilothouse.kubelet.resources import (
    cgroup_parent,
    container_resources,
    milli_cpu_to_quota,
    milli_cpu_to_shares,
    oom_score_adj,
    pod_resources,
)
from pilothouse.kubelet.sandboxconfig import SandboxSettings, sandbox_config
from pilothouse.kubelet.security import (
    container_security,
    namespace_options,
    verify_run_as_non_root,
)
from pilothouse.runtime.interface import Image, NamespaceMode, PortProtocol

Obj = dict[str, Any]
HOST = ResolvConf(servers=("192.0.2.53",), searches=("corp.example",), options=("timeout:2",))


def test_resolv_conf_parsing() -> None:
    parsed = parse_resolv_conf("# comment\nnameserver 1.1.1.1\nsearch a.example b.example\noptions ndots:2 rotate\nnameserver 8.8.8.8\n")
    assert parsed == ResolvConf(("1.1.1.1", "8.8.8.8"), ("a.example", "b.example"), ("ndots:2", "rotate"))


def test_cluster_first_dns() -> None:
    dns = pod_dns(pod(container("a"), namespace="shop"), cluster_dns=["10.96.0.10"], cluster_domain="cluster.local", host=HOST)
    assert dns.config.servers == ["10.96.0.10"]
    assert dns.config.searches == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"]
    assert dns.config.options == ["ndots:5"]


def test_default_and_host_network_dns() -> None:
    for p in (pod(container("a"), dnsPolicy="Default"), pod(container("a"), hostNetwork=True)):
        dns = pod_dns(p, cluster_dns=["10.96.0.10"], cluster_domain="cluster.local", host=HOST)
        assert (dns.config.servers, dns.config.searches, dns.config.options) == (["192.0.2.53"], ["corp.example"], ["timeout:2"])
    with_host_net = pod(container("a"), hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet")
    assert pod_dns(with_host_net, cluster_dns=["10.96.0.10"], cluster_domain="c.l", host=HOST).config.servers == ["10.96.0.10"]


def test_none_dns_with_dns_config_and_merging() -> None:
    p = pod(container("a"), dnsPolicy="None", dnsConfig={
        "nameservers": ["1.1.1.1"], "searches": ["x.example"], "options": [{"name": "ndots", "value": "1"}],
    })
    dns = pod_dns(p, cluster_dns=["10.96.0.10"], cluster_domain="cluster.local", host=HOST)
    assert (dns.config.servers, dns.config.searches, dns.config.options) == (["1.1.1.1"], ["x.example"], ["ndots:1"])
    merged = pod(container("a"), dnsConfig={"nameservers": ["10.96.0.10", "1.1.1.1"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]})
    dns = pod_dns(merged, cluster_dns=["10.96.0.10"], cluster_domain="cluster.local", host=HOST)
    assert dns.config.servers == ["10.96.0.10", "1.1.1.1"]
    assert dns.config.options == ["ndots:2", "edns0"]


def test_dns_limits_and_missing_cluster_dns() -> None:
    many = pod(container("a"), dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "9.9.9.9"]})
    dns = pod_dns(many, cluster_dns=[], cluster_domain="c.l", host=HOST)
    assert dns.config.servers == ["1.1.1.1", "1.0.0.1", "8.8.8.8"]
    assert dns.warnings[0][0] == "DNSConfigForming"
    fallback = pod_dns(pod(container("a")), cluster_dns=[], cluster_domain="c.l", host=HOST)
    assert fallback.config.servers == ["192.0.2.53"]
    assert fallback.warnings[0][0] == "MissingClusterDNS"


def test_managed_hosts_file() -> None:
    p = pod(container("a"), hostname="box", subdomain="grp", namespace="shop",
            hostAliases=[{"ip": "10.1.2.3", "hostnames": ["one", "two"]}])
    assert managed_hosts(p, ("10.244.0.5",), "cluster.local") == (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        "10.244.0.5\tbox.grp.shop.svc.cluster.local\tbox\n\n# Entries added by HostAliases.\n10.1.2.3\tone\ttwo\n"
    )
    host = pod(container("a"), hostNetwork=True)
    assert managed_hosts(host, ("192.0.2.1",), "c.l", "127.0.0.1 localhost\n") == (
        "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n"
    )


def test_hostnames() -> None:
    long_name = "a" * 70
    assert kernel_hostname(pod(container("a"), name=long_name), "c.l") == "a" * 63
    fqdn = pod(container("a"), hostname="box", subdomain="grp", setHostnameAsFQDN=True)
    assert kernel_hostname(fqdn, "cluster.local") == "box.grp.default.svc.cluster.local"


def test_sandbox_config(tmp_path: Path) -> None:
    p = pod(
        container("a", ports=[{"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 5353, "protocol": "UDP"},
                              {"containerPort": 9000}]),
        securityContext={"sysctls": [{"name": "net/ipv4/ip_unprivileged_port_start", "value": "0"}], "runAsUser": 1000},
        shareProcessNamespace=True,
    )
    p["metadata"]["labels"] = {"app": "web"}
    p["metadata"]["annotations"] = {"note": "x"}
    config, _ = sandbox_config(p, 2, SandboxSettings(logs_dir=tmp_path, cluster_domain="cluster.local", cluster_dns=["10.96.0.10"]))
    assert config.metadata.attempt == 2 and config.metadata.uid == "uid-1"
    assert config.labels == {"app": "web", labels.POD_NAME: "web", labels.POD_NAMESPACE: "default", labels.POD_UID: "uid-1"}
    assert config.annotations == {"note": "x"}
    assert [(m.protocol, m.container_port, m.host_port) for m in config.port_mappings] == [
        (PortProtocol.TCP, 80, 8080), (PortProtocol.UDP, 53, 5353),
    ]
    assert config.linux.sysctls == {"net.ipv4.ip_unprivileged_port_start": "0"}
    assert config.linux.security_context.run_as_user == 1000
    assert config.linux.security_context.namespace_options.pid == NamespaceMode.POD
    assert config.log_directory == str(tmp_path / "default_web_uid-1")


def test_cpu_conversions() -> None:
    assert milli_cpu_to_shares(0) == 2
    assert milli_cpu_to_shares(1) == 2
    assert milli_cpu_to_shares(250) == 256
    assert milli_cpu_to_shares(1000) == 1024
    assert milli_cpu_to_shares(10**9) == 262144
    assert milli_cpu_to_quota(0) == 0
    assert milli_cpu_to_quota(5) == 1000
    assert milli_cpu_to_quota(500) == 50000


def guaranteed() -> Obj:
    r = {"requests": {"cpu": "500m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}
    p = pod(container("a", resources=r))
    p["status"]["qosClass"] = "Guaranteed"
    return p


def burstable() -> Obj:
    p = pod(container("a", resources={"requests": {"cpu": "100m", "memory": "1Gi"}}), container("b"))
    p["status"]["qosClass"] = "Burstable"
    return p


def test_container_resources_and_oom_scores() -> None:
    g = guaranteed()
    resources = container_resources(g, g["spec"]["containers"][0], memory_capacity=4 * 2**30)
    assert (resources.cpu_shares, resources.cpu_quota, resources.cpu_period) == (512, 50000, 100000)
    assert resources.memory_limit_in_bytes == 128 * 2**20
    assert resources.oom_score_adj == -997
    b = burstable()
    assert oom_score_adj(b, b["spec"]["containers"][0], 4 * 2**30) == 750
    assert oom_score_adj(b, b["spec"]["containers"][1], 4 * 2**30) == 999
    best_effort = pod(container("a"))
    assert oom_score_adj(best_effort, best_effort["spec"]["containers"][0], 2**30) == 1000
    only_limit = pod(container("a", resources={"limits": {"cpu": "2"}}))
    assert container_resources(only_limit, only_limit["spec"]["containers"][0], memory_capacity=2**30).cpu_shares == 2048


def test_pod_cgroups() -> None:
    assert cgroup_parent(guaranteed()) == "kubepods/poduid-1"
    assert cgroup_parent(burstable()) == "kubepods/burstable/poduid-1"
    assert cgroup_parent(pod(container("a"))) == "kubepods/besteffort/poduid-1"
    g = pod_resources(guaranteed())
    assert (g.cpu_shares, g.cpu_quota, g.memory_limit_in_bytes) == (512, 50000, 128 * 2**20)
    b = pod_resources(burstable())
    assert (b.cpu_shares, b.cpu_quota, b.memory_limit_in_bytes) == (102, 0, 0)
    assert pod_resources(pod(container("a"))).cpu_shares == 2


def test_init_containers_count_in_pod_requests() -> None:
    p = pod(container("a", resources={"requests": {"cpu": "100m"}}),
            init=[container("i", resources={"requests": {"cpu": "1"}})])
    p["status"]["qosClass"] = "Burstable"
    assert pod_resources(p).cpu_shares == 1024


def test_security_context_mapping() -> None:
    p = pod(
        container("a", securityContext={"runAsGroup": 3000, "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                                        "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}),
        securityContext={"runAsUser": 1000, "supplementalGroups": [4000], "fsGroup": 2000},
        hostNetwork=True, hostIPC=True,
    )
    sc = container_security(p, p["spec"]["containers"][0])
    assert (sc.run_as_user, sc.run_as_group) == (1000, 3000)
    assert sc.supplemental_groups == [4000, 2000]
    assert sc.capabilities.add_capabilities == ["NET_ADMIN"] and sc.capabilities.drop_capabilities == ["ALL"]
    assert sc.readonly_rootfs and sc.no_new_privs and not sc.privileged
    assert sc.masked_paths is None
    options = namespace_options(p)
    assert (options.network, options.ipc, options.pid) == (NamespaceMode.NODE, NamespaceMode.NODE, NamespaceMode.CONTAINER)
    unmasked = pod(container("a", securityContext={"procMount": "Unmasked"}))
    assert container_security(unmasked, unmasked["spec"]["containers"][0]).masked_paths == []


@pytest.mark.parametrize(
    ("context", "image", "message"),
    [
        ({"runAsNonRoot": True}, Image(id="i", uid=0), "container has runAsNonRoot and image will run as root"),
        ({"runAsNonRoot": True}, Image(id="i"), "container has runAsNonRoot and image will run as root"),
        ({"runAsNonRoot": True}, Image(id="i", username="app"),
         "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root"),
        ({"runAsNonRoot": True, "runAsUser": 0}, Image(id="i", uid=1000), "container's runAsUser breaks non-root policy"),
        ({"runAsNonRoot": True, "runAsUser": 1000}, Image(id="i", uid=0), ""),
        ({"runAsNonRoot": True}, Image(id="i", uid=1000), ""),
        ({}, Image(id="i", uid=0), ""),
    ],
)
def test_run_as_non_root(context: Obj, image: Image, message: str) -> None:
    p = pod(container("a", securityContext=context))
    if not message:
        verify_run_as_non_root(p, p["spec"]["containers"][0], image)
        return
    with pytest.raises(ConfigError) as raised:
        verify_run_as_non_root(p, p["spec"]["containers"][0], image)
    assert str(raised.value) == f'{message} (pod: "web_default(uid-1)", container: a)'


def test_container_config() -> None:
    c = container("a", command=["sh", "-c", "echo $(X)"], args=["$(Y)"], workingDir="/w", tty=True, stdin=True,
                  lifecycle={"preStop": {"exec": {"command": ["stop"]}}}, ports=[{"containerPort": 80}])
    config = container_config(pod(c), c, restart_count=3, env=[("X", "1"), ("Y", "2")], mounts=[], memory_capacity=2**30)
    assert (config.command, config.args, config.working_dir) == (["sh", "-c", "echo 1"], ["2"], "/w")
    assert config.metadata.attempt == 3 and config.log_path == "a/3.log"
    assert config.tty and config.stdin and not config.stdin_once
    assert [(kv.key, kv.value) for kv in config.envs] == [("X", "1"), ("Y", "2")]
    info = labels.read_annotations(config.annotations)
    assert info.restart_count == 3 and info.pre_stop == {"exec": {"command": ["stop"]}}
    assert info.termination_message_path == "/dev/termination-log" and info.termination_grace == 30
