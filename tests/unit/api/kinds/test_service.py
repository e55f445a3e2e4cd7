"""Services: defaults, validation, cluster IP families, update rules, field labels."""

import copy

import pytest

from pilothouse.api.kinds import strategy_for
from pilothouse.api.kinds.service import init_ip_family_fields

from .flow import create, update


def service(**spec):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec},
    }


def allocated(**spec):
    """A created service after the API server allocated its cluster IP."""
    obj, errors = create("", service(clusterIP="10.96.0.10", **spec))
    assert errors == []
    assert init_ip_family_fields(obj) == []
    obj["metadata"]["resourceVersion"] = "1"
    return obj


def test_defaults():
    obj, errors = create("", service(clusterIP="10.96.0.10"))
    assert errors == []
    assert obj["spec"] == {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "clusterIP": "10.96.0.10",
        "clusterIPs": ["10.96.0.10"],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
    }
    assert "generation" not in obj["metadata"]


def test_node_port_and_load_balancer_defaults():
    obj, _ = create("", service(type="LoadBalancer"))
    assert obj["spec"]["externalTrafficPolicy"] == "Cluster"
    assert obj["spec"]["allocateLoadBalancerNodePorts"] is True


def test_client_ip_affinity_gets_a_timeout():
    obj, errors = create("", service(sessionAffinity="ClientIP"))
    assert errors == []
    assert obj["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, ["ipFamilyPolicy", "SingleStack", ["IPv4"]]),
        (
            {"clusterIP": "None", "selector": None},
            ["ipFamilyPolicy", "RequireDualStack", ["IPv4", "IPv6"]],
        ),
        ({"clusterIP": "None"}, ["ipFamilyPolicy", "SingleStack", ["IPv4"]]),
    ],
    ids=["default", "headless-selectorless", "headless"],
)
def test_ip_family_fields(spec, expected):
    obj = service(**spec)
    if spec.get("clusterIP"):
        obj["spec"]["clusterIPs"] = [spec["clusterIP"]]
    assert init_ip_family_fields(obj) == []
    assert [expected[0], obj["spec"]["ipFamilyPolicy"], obj["spec"]["ipFamilies"]] == expected


def test_require_dual_stack_on_single_stack_cluster():
    obj = service(ipFamilyPolicy="RequireDualStack")
    errors = init_ip_family_fields(obj)
    assert [e.message() for e in errors] == [
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services'
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"ports": []}, ["spec.ports: Required value"]),
        (
            {"ports": [{"port": 80}, {"port": 81}]},
            ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
        ),
        (
            {"ports": [{"port": 0}]},
            [
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            ],
        ),
        (
            {"type": "Bogus"},
            [
                'spec.type: Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", '
                '"LoadBalancer", "NodePort"'
            ],
        ),
        (
            {"ports": [{"port": 80, "nodePort": 30080}]},
            ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
        ),
        ({"type": "ExternalName"}, ["spec.externalName: Required value"]),
        (
            {"type": "ExternalName", "externalName": "Bad_Host"},
            [
                'spec.externalName: Invalid value: "Bad_Host": a lowercase RFC 1123 subdomain must consist of lower case '
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ],
        ),
        (
            {"clusterIP": "1.2.3.4", "clusterIPs": ["1.2.3.5"]},
            [
                'spec.clusterIPs: Invalid value: []string{"1.2.3.5"}: first value must match `clusterIP`'
            ],
        ),
        (
            {"externalIPs": ["127.0.0.1"]},
            [
                'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)'
            ],
        ),
        (
            {"sessionAffinity": "Sticky"},
            [
                'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'
            ],
        ),
        (
            {"externalTrafficPolicy": "Local"},
            [
                'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'
            ],
        ),
        (
            {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
            ["spec.healthCheckNodePort: Required value"],
        ),
        (
            {"type": "NodePort", "clusterIP": "None"},
            [
                "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"
            ],
        ),
    ],
    ids=[
        "no-ports",
        "unnamed-ports",
        "port-zero",
        "bad-type",
        "node-port-on-cluster-ip",
        "external-name-missing",
        "external-name-invalid",
        "cluster-ips-mismatch",
        "loopback-external-ip",
        "affinity",
        "traffic-policy-on-cluster-ip",
        "health-check-port",
        "headless-node-port",
    ],
)
def test_validation_errors(spec, expected):
    _, errors = create("", service(**spec))
    assert errors == expected


def test_dns1035_names():
    obj = service()
    obj["metadata"]["name"] = "1web"
    _, errors = create("", obj)
    assert errors[0].startswith('metadata.name: Invalid value: "1web": a DNS-1035 label')


class TestUpdate:
    def test_cluster_ip_is_kept_when_omitted(self):
        old = allocated()
        new = copy.deepcopy(old)
        del new["spec"]["clusterIP"], new["spec"]["clusterIPs"]
        result, errors = update("", new, old)
        assert errors == []
        assert result["spec"]["clusterIPs"] == ["10.96.0.10"]

    def test_cluster_ip_is_immutable(self):
        old = allocated()
        new = copy.deepcopy(old)
        new["spec"]["clusterIP"] = "10.96.0.11"
        new["spec"]["clusterIPs"] = ["10.96.0.11"]
        _, errors = update("", new, old)
        assert errors == [
            'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set'
        ]

    def test_changing_to_external_name_drops_cluster_ips(self):
        old = allocated()
        new = copy.deepcopy(old)
        new["spec"].update(type="ExternalName", externalName="db.example.com")
        result, errors = update("", new, old)
        assert errors == []
        for key in (
            "clusterIP",
            "clusterIPs",
            "ipFamilies",
            "ipFamilyPolicy",
            "internalTrafficPolicy",
        ):
            assert key not in result["spec"] or key == "internalTrafficPolicy"

    def test_node_ports_are_kept(self):
        old = allocated(type="NodePort")
        old["spec"]["ports"][0]["nodePort"] = 30080
        new = copy.deepcopy(old)
        del new["spec"]["ports"][0]["nodePort"]
        result, errors = update("", new, old)
        assert errors == []
        assert result["spec"]["ports"][0]["nodePort"] == 30080


def test_status_update_requires_load_balancer_type():
    strategy = strategy_for("", "Service")
    old = allocated()
    new = copy.deepcopy(old)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    strategy.prepare_for_status_update(new, old)
    assert [e.message() for e in strategy.validate_status_update(new, old)] == [
        "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"
    ]


def test_load_balancer_status_gets_ip_mode():
    strategy = strategy_for("", "Service")
    old = allocated(type="LoadBalancer")
    new = copy.deepcopy(old)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    strategy.prepare_for_status_update(new, old)
    assert new["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.1", "ipMode": "VIP"}]
    assert strategy.validate_status_update(new, old) == []


def test_field_labels():
    assert strategy_for("", "Service").field_labels(allocated()) == {
        "spec.clusterIP": "10.96.0.10",
        "spec.type": "ClusterIP",
    }
