"""The columns of every built-in kind, as kube-apiserver's printers define them (name and
priority: 1 marks the columns only ``-o wide`` shows)."""

from __future__ import annotations

import pytest
from tables_support import NOW, REGISTRY, obj

from pilothouse.api.tables import to_table


def columns(group: str, version: str, plural: str) -> list[tuple[str, int]]:
    resource = REGISTRY.get(group, version, plural)
    assert resource is not None
    table = to_table(resource, [], now=NOW)
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


# --- columns of every kind ------------------------------------------------------------------

W = 1  # priority of the columns only ``-o wide`` shows
COLUMNS = {
    ("", "v1", "namespaces"): [("Name", 0), ("Status", 0), ("Age", 0)],
    ("", "v1", "services"): [
        ("Name", 0),
        ("Type", 0),
        ("Cluster-IP", 0),
        ("External-IP", 0),
        ("Port(s)", 0),
        ("Age", 0),
        ("Selector", W),
    ],
    ("", "v1", "endpoints"): [("Name", 0), ("Endpoints", 0), ("Age", 0)],
    ("", "v1", "configmaps"): [("Name", 0), ("Data", 0), ("Age", 0)],
    ("", "v1", "secrets"): [("Name", 0), ("Type", 0), ("Data", 0), ("Age", 0)],
    ("", "v1", "nodes"): [
        ("Name", 0),
        ("Status", 0),
        ("Roles", 0),
        ("Age", 0),
        ("Version", 0),
        ("Internal-IP", W),
        ("External-IP", W),
        ("OS-Image", W),
        ("Kernel-Version", W),
        ("Container-Runtime", W),
    ],
    ("", "v1", "events"): [
        ("Last Seen", 0),
        ("Type", 0),
        ("Reason", 0),
        ("Object", 0),
        ("Subobject", W),
        ("Source", W),
        ("Message", 0),
        ("First Seen", W),
        ("Count", W),
        ("Name", W),
    ],
    ("", "v1", "serviceaccounts"): [("Name", 0), ("Secrets", 0), ("Age", 0)],
    ("", "v1", "persistentvolumes"): [
        ("Name", 0),
        ("Capacity", 0),
        ("Access Modes", 0),
        ("Reclaim Policy", 0),
        ("Status", 0),
        ("Claim", 0),
        ("StorageClass", 0),
        ("VolumeAttributesClass", 0),
        ("Reason", 0),
        ("Age", 0),
        ("VolumeMode", W),
    ],
    ("", "v1", "persistentvolumeclaims"): [
        ("Name", 0),
        ("Status", 0),
        ("Volume", 0),
        ("Capacity", 0),
        ("Access Modes", 0),
        ("StorageClass", 0),
        ("VolumeAttributesClass", 0),
        ("Age", 0),
        ("VolumeMode", W),
    ],
    ("", "v1", "resourcequotas"): [("Name", 0), ("Request", 0), ("Limit", 0), ("Age", 0)],
    ("", "v1", "limitranges"): [("Name", 0), ("Created At", 0)],
    ("", "v1", "podtemplates"): [
        ("Name", 0),
        ("Containers", 0),
        ("Images", 0),
        ("Pod Labels", 0),
    ],
    ("", "v1", "replicationcontrollers"): [
        ("Name", 0),
        ("Desired", 0),
        ("Current", 0),
        ("Ready", 0),
        ("Age", 0),
        ("Containers", W),
        ("Images", W),
        ("Selector", W),
    ],
    ("apps", "v1", "deployments"): [
        ("Name", 0),
        ("Ready", 0),
        ("Up-to-date", 0),
        ("Available", 0),
        ("Age", 0),
        ("Containers", W),
        ("Images", W),
        ("Selector", W),
    ],
    ("apps", "v1", "replicasets"): [
        ("Name", 0),
        ("Desired", 0),
        ("Current", 0),
        ("Ready", 0),
        ("Age", 0),
        ("Containers", W),
        ("Images", W),
        ("Selector", W),
    ],
    ("apps", "v1", "statefulsets"): [
        ("Name", 0),
        ("Ready", 0),
        ("Age", 0),
        ("Containers", W),
        ("Images", W),
    ],
    ("apps", "v1", "daemonsets"): [
        ("Name", 0),
        ("Desired", 0),
        ("Current", 0),
        ("Ready", 0),
        ("Up-to-date", 0),
        ("Available", 0),
        ("Node Selector", 0),
        ("Age", 0),
        ("Containers", W),
        ("Images", W),
        ("Selector", W),
    ],
    ("apps", "v1", "controllerrevisions"): [
        ("Name", 0),
        ("Controller", 0),
        ("Revision", 0),
        ("Age", 0),
    ],
    ("batch", "v1", "jobs"): [
        ("Name", 0),
        ("Status", 0),
        ("Completions", 0),
        ("Duration", 0),
        ("Age", 0),
        ("Containers", W),
        ("Images", W),
        ("Selector", W),
    ],
    ("batch", "v1", "cronjobs"): [
        ("Name", 0),
        ("Schedule", 0),
        ("Timezone", 0),
        ("Suspend", 0),
        ("Active", 0),
        ("Last Schedule", 0),
        ("Age", 0),
        ("Containers", W),
        ("Images", W),
        ("Selector", W),
    ],
    ("autoscaling", "v2", "horizontalpodautoscalers"): [
        ("Name", 0),
        ("Reference", 0),
        ("Targets", 0),
        ("MinPods", 0),
        ("MaxPods", 0),
        ("Replicas", 0),
        ("Age", 0),
    ],
    ("networking.k8s.io", "v1", "ingresses"): [
        ("Name", 0),
        ("Class", 0),
        ("Hosts", 0),
        ("Address", 0),
        ("Ports", 0),
        ("Age", 0),
    ],
    ("networking.k8s.io", "v1", "ingressclasses"): [
        ("Name", 0),
        ("Controller", 0),
        ("Parameters", 0),
        ("Age", 0),
    ],
    ("networking.k8s.io", "v1", "networkpolicies"): [
        ("Name", 0),
        ("Pod-Selector", 0),
        ("Age", 0),
    ],
    ("policy", "v1", "poddisruptionbudgets"): [
        ("Name", 0),
        ("Min Available", 0),
        ("Max Unavailable", 0),
        ("Allowed Disruptions", 0),
        ("Age", 0),
    ],
    ("rbac.authorization.k8s.io", "v1", "roles"): [("Name", 0), ("Created At", 0)],
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): [("Name", 0), ("Created At", 0)],
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): [
        ("Name", 0),
        ("Role", 0),
        ("Age", 0),
        ("Users", W),
        ("Groups", W),
        ("ServiceAccounts", W),
    ],
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"): [
        ("Name", 0),
        ("Role", 0),
        ("Age", 0),
        ("Users", W),
        ("Groups", W),
        ("ServiceAccounts", W),
    ],
    ("storage.k8s.io", "v1", "storageclasses"): [
        ("Name", 0),
        ("Provisioner", 0),
        ("ReclaimPolicy", 0),
        ("VolumeBindingMode", 0),
        ("AllowVolumeExpansion", 0),
        ("Age", 0),
    ],
    ("coordination.k8s.io", "v1", "leases"): [("Name", 0), ("Holder", 0), ("Age", 0)],
    ("discovery.k8s.io", "v1", "endpointslices"): [
        ("Name", 0),
        ("AddressType", 0),
        ("Ports", 0),
        ("Endpoints", 0),
        ("Age", 0),
    ],
    ("scheduling.k8s.io", "v1", "priorityclasses"): [
        ("Name", 0),
        ("Value", 0),
        ("Global-Default", 0),
        ("Age", 0),
        ("PreemptionPolicy", 0),
    ],
    ("node.k8s.io", "v1", "runtimeclasses"): [("Name", 0), ("Handler", 0), ("Age", 0)],
}
COLUMNS[("autoscaling", "v1", "horizontalpodautoscalers")] = COLUMNS[
    ("autoscaling", "v2", "horizontalpodautoscalers")
]
COLUMNS[("events.k8s.io", "v1", "events")] = COLUMNS[("", "v1", "events")]


def test_every_builtin_kind_has_its_columns() -> None:
    served = {
        (r.group, r.version, r.plural)
        for r in REGISTRY
        if r.kind != "Pod" and "get" in r.verbs  # reviews are never listed or printed
    }
    assert served == set(COLUMNS)


@pytest.mark.parametrize("key", sorted(COLUMNS), ids=lambda key: "/".join(filter(None, key)))
def test_columns(key: tuple[str, str, str]) -> None:
    assert columns(*key) == COLUMNS[key]


def test_every_row_has_a_cell_per_column() -> None:
    for resource in REGISTRY:
        table = to_table(resource, [obj()], now=NOW)
        assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"]), resource.kind
