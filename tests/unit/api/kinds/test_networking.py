"""Ingresses, IngressClasses, NetworkPolicies, PodDisruptionBudgets and EndpointSlices."""

import copy

import pytest

from .flow import create, created, update

BACKEND = {"service": {"name": "web", "port": {"number": 80}}}


def ingress(**spec):
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {
                "rules": [
                    {
                        "host": "example.com",
                        "http": {
                            "paths": [{"path": "/", "pathType": "Prefix", "backend": BACKEND}]
                        },
                    }
                ]
            },
            [],
        ),
        (
            {"rules": [{"http": {"paths": [{"path": "/", "backend": BACKEND}]}}]},
            ["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"],
        ),
        (
            {
                "rules": [
                    {"http": {"paths": [{"path": "api", "pathType": "Prefix", "backend": BACKEND}]}}
                ]
            },
            ['spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path'],
        ),
        (
            {
                "rules": [
                    {
                        "host": "1.2.3.4",
                        "http": {"paths": [{"path": "/", "pathType": "Exact", "backend": BACKEND}]},
                    }
                ]
            },
            ['spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address'],
        ),
        (
            {"defaultBackend": {"service": {"name": "web", "port": {}}}},
            ["spec.defaultBackend.service.port: Required value: port name or number is required"],
        ),
    ],
    ids=["valid", "no-path-type", "relative-path", "ip-host", "no-port"],
)
def test_ingress(spec, expected):
    assert create("networking.k8s.io", ingress(**spec))[1] == expected


def test_ingress_tracks_generation():
    obj, _ = create("networking.k8s.io", ingress(defaultBackend=BACKEND))
    assert obj["metadata"]["generation"] == 1


def test_ingress_class_controller_is_immutable():
    ingress_class = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": "nginx"},
        "spec": {"controller": "k8s.io/ingress-nginx"},
    }
    old = created("networking.k8s.io", ingress_class)
    new = copy.deepcopy(old)
    new["spec"]["controller"] = "example.com/other"
    assert update("networking.k8s.io", new, old)[1] == [
        'spec.controller: Invalid value: "example.com/other": field is immutable'
    ]


def test_network_policy_defaults():
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]},
    }
    obj, errors = create("networking.k8s.io", policy)
    assert errors == []
    assert obj["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert obj["spec"]["egress"][0]["ports"] == [{"port": 53, "protocol": "TCP"}]


def test_network_policy_ip_block_except():
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {
            "podSelector": {},
            "ingress": [
                {"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]}
            ],
        },
    }
    assert create("networking.k8s.io", policy)[1] == [
        'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`'
    ]


def test_pod_disruption_budget():
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"minAvailable": "150%", "selector": {"matchLabels": {"app": "web"}}},
    }
    assert create("policy", pdb)[1] == [
        'spec.minAvailable: Invalid value: "150%": must not be greater than 100%'
    ]


class TestEndpointSlice:
    def slice_(self, **fields):
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "web-abc", "namespace": "default"},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"]}],
            "ports": [{"port": 80}],
            **fields,
        }

    def test_defaults(self):
        obj, errors = create("discovery.k8s.io", self.slice_())
        assert errors == []
        assert obj["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
        assert obj["metadata"]["generation"] == 1

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            (
                {"addressType": "IP"},
                ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'],
            ),
            (
                {"endpoints": [{"addresses": ["::1"]}]},
                ['endpoints[0].addresses[0]: Invalid value: "::1": must be a valid IPv4 address'],
            ),
            (
                {"endpoints": [{"addresses": []}]},
                ["endpoints[0].addresses: Required value: must contain at least 1 address"],
            ),
        ],
        ids=["deprecated-type-on-create", "wrong-family", "no-addresses"],
    )
    def test_validation(self, fields, expected):
        assert create("discovery.k8s.io", self.slice_(**fields))[1] == expected

    def test_address_type_is_immutable(self):
        old = created("discovery.k8s.io", self.slice_())
        new = copy.deepcopy(old)
        new["addressType"] = "IPv6"
        new["endpoints"] = [{"addresses": ["fd00::5"]}]
        assert update("discovery.k8s.io", new, old)[1] == [
            'addressType: Invalid value: "IPv6": field is immutable'
        ]


def test_endpoints():
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}],
    }
    obj, errors = create("", endpoints)
    assert obj["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    assert errors == [
        'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range '
        "(127.0.0.0/8, ::1/128)"
    ]
