"""RBAC roles and bindings."""

import copy

import pytest

from .flow import create, created, update

GROUP = "rbac.authorization.k8s.io"


def role(kind="Role", rules=None, name="reader"):
    meta = {"name": name} if kind == "ClusterRole" else {"name": name, "namespace": "default"}
    return {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": meta, "rules": rules or []}


def binding(kind="RoleBinding", role_kind="Role", subjects=None):
    meta = {"name": "b"} if kind == "ClusterRoleBinding" else {"name": "b", "namespace": "default"}
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"kind": role_kind, "name": "reader"},
        "subjects": subjects if subjects is not None else [{"kind": "User", "name": "alice"}],
    }


def test_names_are_path_segments():
    assert create(GROUP, role(name="system:controller:reader"))[1] == []
    assert create(GROUP, role(name="a/b"))[1] == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"
    ]


@pytest.mark.parametrize(
    ("kind", "rules", "expected"),
    [
        (
            "Role",
            [{"apiGroups": [""], "resources": ["pods"]}],
            ["rules[0].verbs: Required value: verbs must contain at least one value"],
        ),
        (
            "Role",
            [{"verbs": ["get"]}],
            [
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[0].resources: Required value: resource rules must supply at least one resource",
            ],
        ),
        (
            "Role",
            [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}],
            [
                'rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to '
                "non-resource URLs"
            ],
        ),
        ("ClusterRole", [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}], []),
    ],
    ids=["no-verbs", "no-resources", "namespaced-urls", "cluster-urls"],
)
def test_rules(kind, rules, expected):
    assert create(GROUP, role(kind, rules))[1] == expected


def test_binding_defaults_api_groups():
    obj, errors = create(
        GROUP,
        binding(
            subjects=[
                {"kind": "User", "name": "alice"},
                {"kind": "ServiceAccount", "name": "builder"},
            ]
        ),
    )
    assert errors == []
    assert obj["roleRef"]["apiGroup"] == GROUP
    assert obj["subjects"] == [
        {"kind": "User", "name": "alice", "apiGroup": GROUP},
        {"kind": "ServiceAccount", "name": "builder"},
    ]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            binding("ClusterRoleBinding", "Role"),
            ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"'],
        ),
        (
            binding(
                "ClusterRoleBinding", "ClusterRole", [{"kind": "ServiceAccount", "name": "sa"}]
            ),
            ["subjects[0].namespace: Required value"],
        ),
        (
            binding(subjects=[{"kind": "Robot", "name": "r2"}]),
            [
                'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"'
            ],
        ),
    ],
    ids=["cluster-binding-to-role", "service-account-namespace", "bad-subject-kind"],
)
def test_binding_validation(obj, expected):
    assert create(GROUP, obj)[1] == expected


def test_role_ref_is_immutable():
    old = created(GROUP, binding())
    new = copy.deepcopy(old)
    new["roleRef"]["name"] = "writer"
    assert update(GROUP, new, old, raw=True)[1] == [
        ("roleRef", "Invalid value", "cannot change roleRef")
    ]
