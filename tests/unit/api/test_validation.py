"""Generic validators and ObjectMeta checks, with kube-apiserver's exact messages."""

import pytest

from pilothouse.api.validation import (
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_label_value,
    is_qualified_name,
    is_valid_path_segment_name,
    is_valid_port_name,
    name_is_dns_subdomain,
    name_is_path_segment,
    too_long,
    validate_annotations,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name' or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QNAME_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue' or 'my_value' or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def messages(errors):
    return [e.message() for e in errors]


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (is_dns1123_subdomain, "example.com", []),
        (is_dns1123_subdomain, "Foo", [SUBDOMAIN_MSG]),
        (is_dns1123_subdomain, "a" * 254, ["must be no more than 253 characters"]),
        (is_dns1123_label, "my-name", []),
        (is_dns1123_label, "a.b", ["must not contain dots"]),
        (is_dns1123_label, "-a", [LABEL_MSG]),
        (is_dns1123_label, "a" * 64, ["must be no more than 63 characters"]),
        (is_dns1035_label, "abc", []),
        (is_dns1035_label, "1abc", [DNS1035_MSG]),
        (is_qualified_name, "example.com/MyName", []),
        (is_qualified_name, "bad_", [QNAME_NAME_MSG]),
        (is_qualified_name, "/x", ["prefix part must be non-empty"]),
        (is_qualified_name, "x/", ["name part must be non-empty", QNAME_NAME_MSG]),
        (is_qualified_name, "Bad.Prefix/x", ["prefix part " + SUBDOMAIN_MSG]),
        (is_label_value, "", []),
        (is_label_value, "-x", [LABEL_VALUE_MSG]),
        (is_config_map_key, "..x", ["must not start with '..'"]),
        (is_config_map_key, "key.name", []),
        (is_valid_port_name, "http", []),
        (is_valid_port_name, "1234", ["must contain at least one letter (a-z)"]),
        (is_valid_port_name, "a--b", ["must not contain consecutive hyphens"]),
        (is_env_var_name, "MY_VAR.1", []),
        (
            is_env_var_name,
            "A=B",
            [
                "a valid environment variable name must consist only of printable "
                "ASCII characters other than '='"
            ],
        ),
        (is_valid_path_segment_name, "system:controller:x", []),
        (is_valid_path_segment_name, "..", ["may not be '..'"]),
        (is_valid_path_segment_name, "a/b%c", ["may not contain '/'", "may not contain '%'"]),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else None,
)
def test_string_checks(check, value, expected):
    assert check(value) == expected


def test_qualified_name_with_too_many_slashes():
    assert is_qualified_name("a/b/c") == [
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start "
        "and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex used "
        "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
        "prefix and '/' (e.g. 'example.com/MyName')"
    ]


def test_generate_name_may_end_with_a_dash():
    assert name_is_dns_subdomain("web-", True) == []
    assert name_is_dns_subdomain("web-", False) == [SUBDOMAIN_MSG]


def test_rbac_names_ignore_the_prefix_flag():
    assert name_is_path_segment(".", True) == ["may not be '.'"]


def test_labels_and_annotations():
    assert messages(validate_labels({"app": "-bad"}, "metadata.labels")) == [
        f'metadata.labels: Invalid value: "-bad": {LABEL_VALUE_MSG}'
    ]
    assert messages(validate_annotations({"Example.COM/Key": "v"}, "metadata.annotations")) == []
    huge = {"a": "x" * (256 * 1024)}
    assert messages(validate_annotations(huge, "metadata.annotations")) == [
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    ]


def test_too_long_wording():
    assert too_long("data", 1).message() == "data: Too long: may not be more than 1 byte"


class TestObjectMeta:
    def validate(self, meta, namespaced=True):
        return messages(
            validate_object_meta(meta, namespaced=namespaced, name_validator=name_is_dns_subdomain)
        )

    def test_valid(self):
        assert (
            self.validate({"name": "web", "namespace": "default", "labels": {"app": "web"}}) == []
        )

    @pytest.mark.parametrize(
        ("meta", "namespaced", "expected"),
        [
            (
                {"namespace": "default"},
                True,
                ["metadata.name: Required value: name or generateName is required"],
            ),
            (
                {"name": "Foo", "namespace": "default"},
                True,
                [f'metadata.name: Invalid value: "Foo": {SUBDOMAIN_MSG}'],
            ),
            ({"name": "a"}, True, ["metadata.namespace: Required value"]),
            (
                {"name": "a", "namespace": "x"},
                False,
                ["metadata.namespace: Forbidden: not allowed on this type"],
            ),
            (
                {"name": "a", "namespace": "Bad"},
                True,
                [f'metadata.namespace: Invalid value: "Bad": {LABEL_MSG}'],
            ),
            (
                {"generateName": "Web-", "name": "web-abcde", "namespace": "d"},
                True,
                [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_MSG}'],
            ),
            (
                {"name": "a", "namespace": "d", "generation": -1},
                True,
                ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                {"name": "a", "namespace": "d", "finalizers": ["foo"]},
                True,
                [
                    'metadata.finalizers[0]: Invalid value: "foo": name is neither a standard finalizer name '
                    "nor is it fully qualified"
                ],
            ),
        ],
        ids=[
            "no-name",
            "bad-name",
            "no-namespace",
            "namespace-on-cluster-kind",
            "bad-namespace",
            "bad-generate-name",
            "negative-generation",
            "unqualified-finalizer",
        ],
    )
    def test_errors(self, meta, namespaced, expected):
        assert self.validate(meta, namespaced) == expected

    def test_standard_and_qualified_finalizers_are_fine(self):
        assert (
            self.validate(
                {"name": "a", "namespace": "d", "finalizers": ["kubernetes", "example.com/x"]}
            )
            == []
        )

    def test_owner_references(self):
        refs = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "rs",
                "uid": "1",
                "controller": True,
            },
            {"apiVersion": "", "kind": "", "name": "", "uid": "2", "controller": True},
        ]
        errors = validate_object_meta(
            {"name": "p", "namespace": "d", "ownerReferences": refs},
            namespaced=True,
            name_validator=name_is_dns_subdomain,
        )
        assert [e.message() for e in errors[:3]] == [
            'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
            'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
            'metadata.ownerReferences.name: Invalid value: "": must not be empty',
        ]
        assert errors[3].detail == (
            'Only one reference can have Controller set to true. Found "true" in '
            "references for ReplicaSet/rs and /"
        )


class TestObjectMetaUpdate:
    OLD = {
        "name": "a",
        "namespace": "d",
        "uid": "u1",
        "resourceVersion": "5",
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "generation": 3,
    }

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            ({"uid": "u2"}, ['metadata.uid: Invalid value: "u2": field is immutable']),
            ({"name": "b"}, ['metadata.name: Invalid value: "b": field is immutable']),
            (
                {"creationTimestamp": "2025-01-01T00:00:00Z"},
                [
                    'metadata.creationTimestamp: Invalid value: "2025-01-01T00:00:00Z": field is immutable'
                ],
            ),
            ({"generation": 2}, ["metadata.generation: Invalid value: 2: must not be decremented"]),
            (
                {"resourceVersion": ""},
                ['metadata.resourceVersion: Invalid value: "": must be specified for an update'],
            ),
        ],
        ids=["uid", "name", "creation-timestamp", "generation", "resource-version"],
    )
    def test_immutable(self, change, expected):
        assert messages(validate_object_meta_update({**self.OLD, **change}, self.OLD)) == expected

    def test_no_new_finalizers_while_deleting(self):
        old = {**self.OLD, "deletionTimestamp": "2024-02-01T00:00:00Z", "finalizers": ["a.io/x"]}
        new = {**old, "finalizers": ["a.io/x", "b.io/y"]}
        assert messages(validate_object_meta_update(new, old)) == [
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
            'deleted, found new finalizers []string{"b.io/y"}'
        ]
