"""PersistentVolumes, PersistentVolumeClaims and StorageClasses."""

import copy

import pytest

from .flow import create, created, update


def pv(**spec):
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "pv-1"},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/data"},
            **spec,
        },
    }


def pvc(**spec):
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            **spec,
        },
    }


def test_pv_defaults():
    obj, errors = create("", pv())
    assert errors == []
    assert obj["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert obj["spec"]["volumeMode"] == "Filesystem"
    assert obj["spec"]["hostPath"]["type"] == ""
    assert obj["status"] == {"phase": "Pending"}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"accessModes": []}, ["spec.accessModes: Required value"]),
        (
            {"accessModes": ["ReadWriteOncePod", "ReadWriteOnce"]},
            ["spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"],
        ),
        ({"hostPath": None}, ["spec: Required value: must specify a volume type"]),
        (
            {"nfs": {"server": "nfs", "path": "/x"}},
            ["spec.nfs: Forbidden: may not specify more than 1 volume type"],
        ),
        (
            {"capacity": {"storage": "0"}},
            ['spec.capacity[storage]: Invalid value: "0": must be greater than zero'],
        ),
        (
            {"persistentVolumeReclaimPolicy": "Keep"},
            [
                'spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"'
            ],
        ),
    ],
    ids=[
        "no-access-modes",
        "rwop-mixed",
        "no-source",
        "two-sources",
        "zero-capacity",
        "reclaim-policy",
    ],
)
def test_pv_validation(spec, expected):
    obj = pv(**spec)
    obj["spec"] = {k: v for k, v in obj["spec"].items() if v is not None}
    assert create("", obj)[1] == expected


def test_pv_source_is_immutable():
    old = created("", pv())
    new = copy.deepcopy(old)
    new["spec"]["hostPath"]["path"] = "/other"
    errors = update("", new, old)[1]
    assert len(errors) == 1 and errors[0].startswith(
        "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n"
    )


def test_pvc_defaults_and_validation():
    obj, errors = create("", pvc())
    assert (
        errors == []
        and obj["spec"]["volumeMode"] == "Filesystem"
        and obj["status"] == {"phase": "Pending"}
    )
    assert create("", pvc(resources={}))[1] == ["spec.resources[storage]: Required value"]
    assert create("", pvc(accessModes=[]))[1] == [
        "spec.accessModes: Required value: at least 1 access mode is required"
    ]


def test_bound_pvc_may_grow_but_nothing_else_changes():
    old = created("", pvc())
    old["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    new = copy.deepcopy(old)
    new["spec"]["resources"]["requests"]["storage"] = "2Gi"
    new["spec"]["volumeName"] = "pv-1"
    assert update("", new, old)[1] == []
    shrink = copy.deepcopy(old)
    shrink["spec"]["resources"]["requests"]["storage"] = "512Mi"
    assert update("", shrink, old)[1] == [
        "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
    ]
    changed = copy.deepcopy(old)
    changed["spec"]["accessModes"] = ["ReadWriteMany"]
    errors = update("", changed, old)[1]
    assert errors[0].startswith(
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims\n"
    )


class TestStorageClass:
    def storage_class(self, **fields):
        return {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "local"},
            "provisioner": "pilothouse.io/local",
            **fields,
        }

    def test_defaults(self):
        obj, errors = create("storage.k8s.io", self.storage_class())
        assert errors == []
        assert obj["reclaimPolicy"] == "Delete" and obj["volumeBindingMode"] == "Immediate"

    def test_immutable_fields(self):
        old = created("storage.k8s.io", self.storage_class(parameters={"a": "1"}))
        new = copy.deepcopy(old)
        new["parameters"] = {"a": "2"}
        new["provisioner"] = "other.io/x"
        assert update("storage.k8s.io", new, old)[1] == [
            "parameters: Forbidden: updates to parameters are forbidden.",
            "provisioner: Forbidden: updates to provisioner are forbidden.",
        ]

    def test_provisioner_required(self):
        assert create("storage.k8s.io", self.storage_class(provisioner=""))[1] == [
            "provisioner: Required value"
        ]
