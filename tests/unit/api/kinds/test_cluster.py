"""Namespaces, Nodes, RuntimeClasses, PriorityClasses and Leases."""

import copy

import pytest

from pilothouse.api.kinds import strategy_for

from .flow import create, created, update


def namespace(name="team-a", **fields):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, **fields}


def node(**spec):
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1"},
        "spec": spec,
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    }


class TestNamespace:
    def test_create(self):
        obj, errors = create("", namespace(status={"phase": "Terminating"}))
        assert errors == []
        assert obj["status"] == {"phase": "Active"}
        assert obj["spec"] == {"finalizers": ["kubernetes"]}
        assert obj["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}

    def test_name_is_a_dns_label(self):
        assert create("", namespace("a.b"))[1] == [
            'metadata.name: Invalid value: "a.b": must not contain dots'
        ]

    def test_finalizer_names(self):
        _, errors = create("", namespace(spec={"finalizers": ["bogus"]}))
        assert errors == [
            'spec.finalizers: Invalid value: "bogus": name is neither a standard finalizer name nor '
            "is it fully qualified"
        ]

    def test_spec_finalizers_only_change_through_finalize(self):
        strategy = strategy_for("", "Namespace")
        old = created("", namespace())
        new = copy.deepcopy(old)
        new["spec"]["finalizers"] = []
        result, errors = update("", new, old)
        assert errors == [] and result["spec"]["finalizers"] == ["kubernetes"]
        finalized = copy.deepcopy(new)
        strategy.prepare_for_finalize(finalized, old)
        assert (
            finalized["spec"]["finalizers"] == []
            and strategy.validate_finalize(finalized, old) == []
        )

    def test_status_phase_follows_deletion(self):
        strategy = strategy_for("", "Namespace")
        old = created("", namespace())
        new = copy.deepcopy(old)
        new["status"] = {"phase": "Terminating"}
        assert [e.message() for e in strategy.validate_status_update(new, old)] == [
            "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"
        ]

    def test_field_selectors_exclude_namespace(self):
        strategy = strategy_for("", "Namespace")
        assert strategy.supported_field_labels() == {"metadata.name", "status.phase"}
        assert strategy.field_labels(created("", namespace())) == {"status.phase": "Active"}


class TestNode:
    def test_create_keeps_status_and_defaults_allocatable(self):
        obj, errors = create("", node(podCIDR="10.244.1.0/24"))
        assert errors == []
        assert obj["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
        assert obj["spec"]["podCIDRs"] == ["10.244.1.0/24"]

    def test_pod_cidr_wins_over_pod_cidrs(self):
        obj, _ = create("", node(podCIDR="10.244.1.0/24", podCIDRs=["10.244.2.0/24"]))
        assert obj["spec"]["podCIDRs"] == ["10.244.1.0/24"]

    @pytest.mark.parametrize(
        ("spec", "expected"),
        [
            (
                {"podCIDRs": ["10.244.1.0/24", "10.244.2.0/24"]},
                [
                    'spec.podCIDRs: Invalid value: []string{"10.244.1.0/24", "10.244.2.0/24"}: may specify no more than one '
                    "CIDR for each IP family"
                ],
            ),
            (
                {"podCIDRs": ["nonsense"]},
                [
                    'spec.podCIDRs[0]: Invalid value: "nonsense": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'
                ],
            ),
            (
                {"taints": [{"key": "k", "effect": "Sometimes"}]},
                [
                    'metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
                    '"PreferNoSchedule", "NoExecute"'
                ],
            ),
        ],
        ids=["two-v4-cidrs", "bad-cidr", "taint-effect"],
    )
    def test_validation(self, spec, expected):
        assert create("", node(**spec))[1] == expected

    def test_pod_cidr_is_set_once(self):
        old = created("", node(podCIDR="10.244.1.0/24"))
        new = copy.deepcopy(old)
        new["spec"]["podCIDR"] = "10.244.9.0/24"
        new["spec"]["podCIDRs"] = ["10.244.9.0/24"]
        assert update("", new, old)[1] == [
            'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'
        ]

    def test_field_labels(self):
        assert strategy_for("", "Node").field_labels(created("", node(unschedulable=True))) == {
            "spec.unschedulable": "true"
        }


def test_runtime_class():
    runtime_class = {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": "crun"},
        "handler": "crun",
    }
    old = created("node.k8s.io", runtime_class)
    new = copy.deepcopy(old)
    new["handler"] = "runc"
    assert update("node.k8s.io", new, old)[1] == [
        'handler: Invalid value: "runc": field is immutable'
    ]
    assert create("node.k8s.io", {**runtime_class, "handler": "Bad"})[1][0].startswith(
        'handler: Invalid value: "Bad"'
    )


class TestPriorityClass:
    def priority_class(self, name="high", value=1000):
        return {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
        }

    def test_defaults(self):
        obj, errors = create("scheduling.k8s.io", self.priority_class())
        assert errors == [] and obj["preemptionPolicy"] == "PreemptLowerPriority"

    @pytest.mark.parametrize(
        ("name", "value", "expected"),
        [
            (
                "huge",
                2_000_000_000,
                "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
            ),
            (
                "system-mine",
                5,
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
                "system use only. error: system-mine is not a known system priority class",
            ),
            (
                "system-node-critical",
                5,
                "metadata.name: Forbidden: priority class names with 'system-' prefix are "
                "reserved for system use only. error: value of system-node-critical "
                "PriorityClass must be 2000001000",
            ),
        ],
        ids=["too-high", "reserved-prefix", "wrong-system-value"],
    )
    def test_values(self, name, value, expected):
        assert create("scheduling.k8s.io", self.priority_class(name, value))[1] == [expected]

    def test_value_is_immutable(self):
        old = created("scheduling.k8s.io", self.priority_class())
        new = copy.deepcopy(old)
        new["value"] = 5
        assert update("scheduling.k8s.io", new, old)[1] == [
            "value: Forbidden: may not be changed in an update."
        ]


def test_lease():
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 0},
    }
    assert create("coordination.k8s.io", lease)[1] == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
    ]
