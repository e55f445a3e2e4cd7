"""Cells of services, endpoints, endpoint slices, ingresses, ingress classes and network
policies, on cases from kubernetes/kubernetes printers_test.go."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tables_support import cells, obj

# --- services -------------------------------------------------------------------------------


def service(kind: str, **spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    return obj("svc", spec={"type": kind, **spec}, status=status)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            service(
                "ClusterIP",
                clusterIPs=["10.96.0.10"],
                clusterIP="10.96.0.10",
                ports=[{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                selector={"k8s-app": "kube-dns"},
            ),
            ["svc", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "5h", "k8s-app=kube-dns"],
            id="cluster-ip",
        ),
        pytest.param(
            service(
                "NodePort",
                clusterIPs=["10.96.1.1"],
                ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
            ),
            ["svc", "NodePort", "10.96.1.1", "<none>", "80:30080/TCP", "5h", "<none>"],
            id="node-port",
        ),
        pytest.param(
            service("ClusterIP", clusterIPs=["None"]),
            ["svc", "ClusterIP", "None", "<none>", "<none>", "5h", "<none>"],
            id="headless-no-ports",
        ),
        pytest.param(
            service(
                "ClusterIP",
                clusterIPs=["10.96.1.2"],
                externalIPs=["1.2.3.4", "5.6.7.8"],
                ports=[{"port": 80, "protocol": "TCP"}],
            ),
            ["svc", "ClusterIP", "10.96.1.2", "1.2.3.4,5.6.7.8", "80/TCP", "5h", "<none>"],
            id="external-ips",
        ),
        pytest.param(
            service(
                "LoadBalancer",
                clusterIPs=["1.3.4.5"],
                ports=[
                    {"port": 80, "protocol": "TCP"},
                    {"port": 8090, "protocol": "UDP"},
                    {"port": 8000, "protocol": "TCP"},
                    {"port": 7777, "protocol": "SCTP"},
                ],
            ),
            [
                "svc",
                "LoadBalancer",
                "1.3.4.5",
                "<pending>",
                "80/TCP,8090/UDP,8000/TCP,7777/SCTP",
                "5h",
                "<none>",
            ],
            id="load-balancer-pending",
        ),
        pytest.param(
            service(
                "LoadBalancer",
                clusterIPs=["1.5.6.7"],
                selector={"foo": "bar"},
                ports=[{"port": 80, "protocol": "TCP"}],
                status={
                    "loadBalancer": {
                        "ingress": [
                            {"ip": "3.4.5.6"},
                            {"ip": "2.3.4.5"},
                            {"ip": "5.6.7.8", "hostname": "host5678"},
                        ]
                    }
                },
            ),
            [
                "svc",
                "LoadBalancer",
                "1.5.6.7",
                "2.3.4.5,3.4.5.6,5.6.7.8",
                "80/TCP",
                "5h",
                "foo=bar",
            ],
            id="load-balancer-addresses-sorted-never-shortened",
        ),
        pytest.param(
            service(
                "LoadBalancer",
                clusterIPs=["1.5.6.7"],
                externalIPs=["9.9.9.9"],
                status={"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}},
            ),
            ["svc", "LoadBalancer", "1.5.6.7", "lb.example.com,9.9.9.9", "<none>", "5h", "<none>"],
            id="load-balancer-hostname-and-external-ip",
        ),
        pytest.param(
            service("ExternalName", externalName="db.example.com"),
            ["svc", "ExternalName", "<none>", "db.example.com", "<none>", "5h", "<none>"],
            id="external-name",
        ),
        pytest.param(
            service("ClusterIP", clusterIP="10.96.0.1", ports=[{"port": 443, "protocol": "TCP"}]),
            ["svc", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", "5h", "<none>"],
            id="cluster-ip-without-cluster-ips",
        ),
    ],
)
def test_service(item: dict[str, Any], expected: list[Any]) -> None:
    assert cells("", "v1", "services", item) == expected


# --- endpoints and endpoint slices ----------------------------------------------------------


@pytest.mark.parametrize(
    ("subsets", "expected"),
    [
        pytest.param([], "<none>", id="none"),
        pytest.param(
            [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}],
            "10.0.0.1:80",
            id="one",
        ),
        pytest.param(
            [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}],
            "10.0.0.1,10.0.0.2",
            id="headless-without-ports",
        ),
        pytest.param(
            [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}, {"port": 443}]}],
            "[fd00::1]:80,[fd00::1]:443",
            id="ipv6-several-ports",
        ),
        pytest.param(
            [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)], "ports": [{"port": 80}]}],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...",
            id="more-than-three",
        ),
        pytest.param(
            [{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}],
            "",
            id="only-not-ready",
        ),
    ],
)
def test_endpoints(subsets: list[dict], expected: str) -> None:
    assert cells("", "v1", "endpoints", obj(subsets=subsets)) == ["x", expected, "5h"]


@pytest.mark.parametrize(
    ("ports", "endpoints", "expected"),
    [
        pytest.param([], [], ["<unset>", "<unset>"], id="unset"),
        pytest.param(
            [{"port": 80}, {"name": "https"}, {}],
            [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}],
            ["80,https,*", "10.0.0.1,10.0.0.2,10.0.0.3"],
            id="port-name-star",
        ),
        pytest.param(
            [{"port": p} for p in (80, 81, 82, 83, 84)],
            [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)],
            ["80,81,82 + 2 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."],
            id="more",
        ),
    ],
)
def test_endpoint_slice(ports: list[dict], endpoints: list[dict], expected: list[str]) -> None:
    item = obj(addressType="IPv4", ports=ports, endpoints=endpoints)
    assert cells("discovery.k8s.io", "v1", "endpointslices", item) == ["x", "IPv4", *expected, "5h"]


# --- networking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        pytest.param(
            {"ingressClassName": "foo", "defaultBackend": {"service": {"name": "b"}}},
            {"loadBalancer": {"ingress": [{"ip": "2.3.4.5", "hostname": "localhost.localdomain"}]}},
            ["foo", "*", "2.3.4.5", "80"],
            id="default-backend",
        ),
        pytest.param(
            {
                "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}],
                "tls": [{"hosts": ["a.example.com"]}],
            },
            {},
            ["<none>", "a.example.com,b.example.com", "", "80, 443"],
            id="hosts-and-tls",
        ),
        pytest.param(
            {"rules": [{"host": f"h{i}"} for i in range(5)]},
            {"loadBalancer": {"ingress": [{"hostname": "lb"}, {"ip": "1.1.1.1"}]}},
            ["<none>", "h0,h1,h2 + 2 more...", "1.1.1.1,lb", "80"],
            id="more-hosts",
        ),
    ],
)
def test_ingress(spec: dict, status: dict, expected: list[str]) -> None:
    item = obj("ing", age=timedelta(days=3650), spec=spec, status=status)
    assert cells("networking.k8s.io", "v1", "ingresses", item) == ["ing", *expected, "10y"]


@pytest.mark.parametrize(
    ("parameters", "text"),
    [
        pytest.param(
            {"kind": "customgroup", "name": "example"}, "customgroup/example", id="params"
        ),
        pytest.param(
            {"apiGroup": "example.com", "kind": "customgroup", "name": "example"},
            "customgroup.example.com/example",
            id="params-with-group",
        ),
        pytest.param(None, "<none>", id="no-params"),
    ],
)
def test_ingress_class(parameters: dict | None, text: str) -> None:
    spec: dict[str, Any] = {"controller": "example.com/controller"}
    if parameters is not None:
        spec["parameters"] = parameters
    assert cells("networking.k8s.io", "v1", "ingressclasses", obj(spec=spec)) == [
        "x",
        "example.com/controller",
        text,
        "5h",
    ]


def test_network_policy() -> None:
    assert cells("networking.k8s.io", "v1", "networkpolicies", obj(spec={})) == [
        "x",
        "<none>",
        "5h",
    ]
    selected = obj(spec={"podSelector": {"matchLabels": {"role": "db"}}})
    assert cells("networking.k8s.io", "v1", "networkpolicies", selected)[1] == "role=db"
