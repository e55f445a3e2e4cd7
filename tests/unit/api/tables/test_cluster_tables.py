"""Cells of nodes, storage, configuration, cluster-scoped kinds, RBAC bindings and events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tables_support import ago, cells, obj

# --- nodes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        pytest.param(
            obj(
                "n1",
                metadata={
                    "labels": {
                        "node-role.kubernetes.io/control-plane": "",
                        "node-role.kubernetes.io/worker": "",
                        "kubernetes.io/role": "edge",
                    }
                },
                status={
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [
                        {"type": "InternalIP", "address": "10.0.0.1"},
                        {"type": "ExternalIP", "address": "1.1.1.1"},
                    ],
                    "nodeInfo": {
                        "kubeletVersion": "v1.33.0",
                        "osImage": "Debian",
                        "kernelVersion": "6.1",
                        "containerRuntimeVersion": "crun://1.8",
                    },
                },
            ),
            [
                "n1",
                "Ready",
                "control-plane,edge,worker",
                "5h",
                "v1.33.0",
                "10.0.0.1",
                "1.1.1.1",
                "Debian",
                "6.1",
                "crun://1.8",
            ],
            id="ready-with-roles",
        ),
        pytest.param(
            obj(
                "n2",
                spec={"unschedulable": True},
                status={"conditions": [{"type": "Ready", "status": "False"}]},
            ),
            [
                "n2",
                "NotReady,SchedulingDisabled",
                "<none>",
                "5h",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>",
            ],
            id="not-ready-cordoned",
        ),
        pytest.param(
            obj(
                "n3",
                age=None,
                metadata={"labels": {"node-role.kubernetes.io/": ""}},
                status={
                    "addresses": [
                        {"type": "InternalIP", "address": "2.2.2.2"},
                        {"type": "ExternalIP", "address": "3.3.3.3"},
                        {"type": "InternalIP", "address": "4.4.4.4"},
                    ]
                },
            ),
            [
                "n3",
                "Unknown",
                "<none>",
                "<unknown>",
                "",
                "2.2.2.2",
                "3.3.3.3",
                "<unknown>",
                "<unknown>",
                "<unknown>",
            ],
            id="unknown-first-address-wins",
        ),
        pytest.param(
            obj("n4", status={"conditions": [{"type": "Ready", "status": "Unknown"}]}),
            [
                "n4",
                "NotReady",
                "<none>",
                "5h",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>",
            ],
            id="ready-unknown-is-not-ready",
        ),
    ],
)
def test_node(node: dict[str, Any], expected: list[Any]) -> None:
    assert cells("", "v1", "nodes", node) == expected


# --- storage -------------------------------------------------------------------------------


def test_persistent_volume() -> None:
    item = obj(
        "pv1",
        spec={
            "capacity": {"storage": "1024Mi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "default", "name": "data"},
            "storageClassName": "fast",
            "volumeMode": "Filesystem",
        },
        status={"phase": "Bound"},
    )
    assert cells("", "v1", "persistentvolumes", item) == [
        "pv1",
        "1Gi",
        "RWO,RWX",
        "Retain",
        "Bound",
        "default/data",
        "fast",
        "<unset>",
        "",
        "5h",
        "Filesystem",
    ]
    deleting = obj(
        "pv2",
        metadata={
            "deletionTimestamp": ago(seconds=1),
            "annotations": {"volume.beta.kubernetes.io/storage-class": "old"},
        },
        spec={"storageClassName": "new", "volumeAttributesClassName": "gold"},
        status={"phase": "Released", "reason": "Reclaiming"},
    )
    assert cells("", "v1", "persistentvolumes", deleting) == [
        "pv2",
        "0",
        "",
        "",
        "Terminating",
        "",
        "old",
        "gold",
        "Reclaiming",
        "5h",
        "<unset>",
    ]


def test_persistent_volume_claim() -> None:
    pending = obj(
        "data",
        spec={"resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "fast"},
        status={"phase": "Pending"},
    )
    assert cells("", "v1", "persistentvolumeclaims", pending) == [
        "data",
        "Pending",
        "",
        "",
        "",
        "fast",
        "<unset>",
        "5h",
        "<unset>",
    ]
    bound = obj(
        "data",
        spec={"volumeName": "pv1", "volumeMode": "Block"},
        status={
            "phase": "Bound",
            "capacity": {"storage": "2048Mi"},
            "accessModes": ["ReadWriteOncePod"],
        },
    )
    assert cells("", "v1", "persistentvolumeclaims", bound) == [
        "data",
        "Bound",
        "pv1",
        "2Gi",
        "RWOP",
        "",
        "<unset>",
        "5h",
        "Block",
    ]


@pytest.mark.parametrize(
    ("annotations", "name"),
    [
        pytest.param({}, "standard", id="not-default"),
        pytest.param(
            {"storageclass.kubernetes.io/is-default-class": "true"},
            "standard (default)",
            id="default",
        ),
        pytest.param(
            {"storageclass.beta.kubernetes.io/is-default-class": "true"},
            "standard (default)",
            id="beta-default",
        ),
        pytest.param(
            {"storageclass.kubernetes.io/is-default-class": "false"},
            "standard",
            id="explicitly-not-default",
        ),
    ],
)
def test_storage_class(annotations: dict[str, str], name: str) -> None:
    item = obj("standard", metadata={"annotations": annotations}, provisioner="local")
    assert cells("storage.k8s.io", "v1", "storageclasses", item) == [
        name,
        "local",
        "Delete",
        "Immediate",
        False,
        "5h",
    ]
    item.update(
        reclaimPolicy="Retain", volumeBindingMode="WaitForFirstConsumer", allowVolumeExpansion=True
    )
    assert cells("storage.k8s.io", "v1", "storageclasses", item)[2:5] == [
        "Retain",
        "WaitForFirstConsumer",
        True,
    ]


# --- configuration -------------------------------------------------------------------------


def test_config_map_secret_service_account() -> None:
    config_map = obj("cm", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="})
    assert cells("", "v1", "configmaps", config_map) == ["cm", 3, "5h"]
    secret = obj("s", type="kubernetes.io/tls", data={"tls.crt": "", "tls.key": ""})
    assert cells("", "v1", "secrets", secret) == ["s", "kubernetes.io/tls", 2, "5h"]
    account = obj("default", secrets=[{"name": "t"}])
    assert cells("", "v1", "serviceaccounts", account) == ["default", 1, "5h"]


def test_resource_quota() -> None:
    item = obj(
        "quota",
        status={
            "hard": {
                "pods": "10",
                "requests.cpu": "1",
                "limits.memory": "2Gi",
                "limits": "3",
                "requests.memory": "1024Mi",
            },
            "used": {"pods": "2", "requests.cpu": "500m", "limits.memory": "512Mi"},
        },
    )
    assert cells("", "v1", "resourcequotas", item) == [
        "quota",
        "limits: 0/3, pods: 2/10, requests.cpu: 500m/1, requests.memory: 0/1Gi",
        "limits.memory: 512Mi/2Gi",
        "5h",
    ]


# --- cluster kinds -------------------------------------------------------------------------


def test_namespace_lease_priority_runtime_classes() -> None:
    namespace = obj("default", age=timedelta(days=2, hours=3), status={"phase": "Active"})
    assert cells("", "v1", "namespaces", namespace) == ["default", "Active", "2d3h"]
    lease = obj("node-1", spec={"holderIdentity": "node-1", "leaseDurationSeconds": 40})
    assert cells("coordination.k8s.io", "v1", "leases", lease) == ["node-1", "node-1", "5h"]
    assert cells("coordination.k8s.io", "v1", "leases", obj("l", spec={})) == ["l", "", "5h"]
    priority = obj("high", value=1000000, globalDefault=True, preemptionPolicy="Never")
    assert cells("scheduling.k8s.io", "v1", "priorityclasses", priority) == [
        "high",
        1000000,
        True,
        "5h",
        "Never",
    ]
    assert cells("scheduling.k8s.io", "v1", "priorityclasses", obj("low", value=-5)) == [
        "low",
        -5,
        False,
        "5h",
        "",
    ]
    runtime = obj("crun", handler="crun")
    assert cells("node.k8s.io", "v1", "runtimeclasses", runtime) == ["crun", "crun", "5h"]


@pytest.mark.parametrize("plural", ["rolebindings", "clusterrolebindings"])
def test_bindings(plural: str) -> None:
    binding = obj(
        "admins",
        roleRef={"kind": "ClusterRole", "name": "admin"},
        subjects=[
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "ops"},
            {"kind": "ServiceAccount", "namespace": "kube-system", "name": "ci"},
            {"kind": "User", "name": "bob"},
            {"kind": "Robot", "name": "r2"},
        ],
    )
    assert cells("rbac.authorization.k8s.io", "v1", plural, binding) == [
        "admins",
        "ClusterRole/admin",
        "5h",
        "alice, bob",
        "ops",
        "kube-system/ci",
    ]


# --- events --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            obj(
                "web.1",
                age=None,
                type="Normal",
                reason="Scheduled",
                involvedObject={"kind": "Pod", "name": "web", "fieldPath": ""},
                source={"component": "default-scheduler"},
                message="  Assigned web to n1\n",
                firstTimestamp=ago(minutes=5),
                lastTimestamp=ago(minutes=1),
                count=3,
            ),
            [
                "60s",
                "Normal",
                "Scheduled",
                "pod/web",
                "",
                "default-scheduler",
                "Assigned web to n1",
                "5m",
                3,
                "web.1",
            ],
            id="core-event",
        ),
        pytest.param(
            obj(
                "web.2",
                age=None,
                type="Warning",
                reason="BackOff",
                involvedObject={"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
                source={"component": "kubelet", "host": "n1"},
                message="Back-off",
                firstTimestamp=ago(hours=2),
                count=1,
            ),
            [
                "120m",
                "Warning",
                "BackOff",
                "pod/web",
                "spec.containers{web}",
                "kubelet, n1",
                "Back-off",
                "120m",
                1,
                "web.2",
            ],
            id="last-seen-falls-back-to-first-seen",
        ),
        pytest.param(
            obj(
                "ev",
                age=None,
                type="Normal",
                reason="Leader",
                involvedObject={"kind": "Lease"},
                reportingComponent="ctrl",
                reportingInstance="ctrl-1",
                eventTime="2024-05-01T11:59:30.123456Z",
            ),
            ["29s", "Normal", "Leader", "lease", "", "ctrl, ctrl-1", "", "29s", 1, "ev"],
            id="new-api-event-time-singleton",
        ),
        pytest.param(
            obj(
                "ev",
                age=None,
                type="Normal",
                reason="Sync",
                involvedObject={"kind": "Deployment", "name": "d"},
                eventTime=ago(hours=5),
                series={"count": 7, "lastObservedTime": "2024-05-01T11:58:00.000000Z"},
            ),
            ["2m", "Normal", "Sync", "deployment/d", "", "", "", "5h", 7, "ev"],
            id="series",
        ),
        pytest.param(
            obj("ev", age=None, involvedObject={}),
            ["<unknown>", "", "", "", "", "", "", "<unknown>", 1, "ev"],
            id="no-timestamps",
        ),
    ],
)
def test_core_event(event: dict[str, Any], expected: list[Any]) -> None:
    assert cells("", "v1", "events", event) == expected


def test_events_k8s_io_event() -> None:
    event = obj(
        "web.3",
        age=None,
        apiVersion="events.k8s.io/v1",
        type="Warning",
        reason="Failed",
        regarding={"kind": "Pod", "name": "web"},
        note="pull failed",
        reportingController="kubelet",
        reportingInstance="n1",
        deprecatedFirstTimestamp=ago(minutes=10),
        deprecatedLastTimestamp=ago(minutes=2),
        deprecatedCount=4,
        deprecatedSource={"component": "kubelet", "host": "n1"},
    )
    assert cells("events.k8s.io", "v1", "events", event) == [
        "2m",
        "Warning",
        "Failed",
        "pod/web",
        "",
        "kubelet, n1",
        "pull failed",
        "10m",
        4,
        "web.3",
    ]
