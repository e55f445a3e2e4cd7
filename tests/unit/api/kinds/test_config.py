"""ConfigMaps and Secrets: stringData folding, base64, sizes, type keys, immutability."""

import base64
import copy

import pytest

from pilothouse.api.errors import BadRequest
from pilothouse.api.kinds import strategy_for
from pilothouse.api.kinds.config import go_base64_error_offset

from .flow import create, created, update


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret(**fields):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        **fields,
    }


def config_map(**fields):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default"},
        **fields,
    }


class TestSecret:
    def test_string_data_is_folded_into_data(self):
        obj, errors = create(
            "", secret(data={"a": b64("old"), "b": b64("keep")}, stringData={"a": "new", "c": "x"})
        )
        assert errors == []
        assert "stringData" not in obj
        assert obj["data"] == {"a": b64("new"), "b": b64("keep"), "c": b64("x")}
        assert obj["type"] == "Opaque"

    def test_string_data_is_folded_on_update(self):
        old = created("", secret(data={"a": b64("1")}))
        new = copy.deepcopy(old)
        new["stringData"] = {"a": "2"}
        result, errors = update("", new, old)
        assert errors == []
        assert result["data"] == {"a": b64("2")}

    def test_data_is_reencoded_canonically(self):
        obj, _ = create("", secret(data={"a": "YWJj\n"}))
        assert obj["data"] == {"a": "YWJj"}

    @pytest.mark.parametrize(
        ("value", "offset"),
        [
            ("YWJj", None),
            ("YW Jj", 2),
            ("abc", 0),
            ("YWJjZA=", 7),
            ("YWJjZA==", None),
            ("YQ==YQ==", 4),
            ("=", 0),
        ],
        ids=["valid", "space", "short", "half-padding", "padded", "trailing", "only-padding"],
    )
    def test_base64_offsets_match_go(self, value, offset):
        assert go_base64_error_offset(value) == offset

    def test_bad_base64_is_a_decode_error(self):
        with pytest.raises(BadRequest) as err:
            create("", secret(data={"a": "not base64!"}))
        assert err.value.message == (
            'Secret in version "v1" cannot be handled as a Secret: '
            "illegal base64 data at input byte 3"
        )
        assert err.value.code == 400

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            (
                {"data": {"bad key": b64("x")}},
                [
                    'data[bad key]: Invalid value: "bad key": a valid config key must consist '
                    "of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name' or "
                    "'KEY_NAME' or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
                ],
            ),
            (
                {"stringData": {"big": "x" * (1024 * 1024 + 1)}},
                ["data: Too long: may not be more than 1048576 bytes"],
            ),
            (
                {"type": "kubernetes.io/tls", "data": {"tls.crt": b64("c")}},
                ["data[tls.key]: Required value"],
            ),
            (
                {"type": "kubernetes.io/basic-auth"},
                ["data[username]: Required value", "data[password]: Required value"],
            ),
            ({"type": "kubernetes.io/ssh-auth"}, ["data[ssh-privatekey]: Required value"]),
            (
                {"type": "kubernetes.io/dockerconfigjson"},
                ["data[.dockerconfigjson]: Required value"],
            ),
            (
                {
                    "type": "kubernetes.io/dockerconfigjson",
                    "stringData": {".dockerconfigjson": "{"},
                },
                [
                    'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input'
                ],
            ),
            (
                {"type": "kubernetes.io/service-account-token"},
                ["metadata.annotations[kubernetes.io/service-account.name]: Required value"],
            ),
        ],
        ids=[
            "bad-key",
            "too-big",
            "tls",
            "basic-auth",
            "ssh-auth",
            "docker-config",
            "docker-config-json",
            "service-account-token",
        ],
    )
    def test_validation_errors(self, fields, expected):
        _, errors = create("", secret(**fields))
        assert errors == expected

    def test_type_is_immutable(self):
        old = created("", secret())
        new = copy.deepcopy(old)
        new["type"] = "kubernetes.io/tls"
        new["stringData"] = {"tls.crt": "c", "tls.key": "k"}
        _, errors = update("", new, old)
        assert errors == ['type: Invalid value: "kubernetes.io/tls": field is immutable']

    def test_immutable_secrets(self):
        old = created("", secret(immutable=True, data={"a": b64("1")}))
        new = copy.deepcopy(old)
        new["stringData"] = {"a": "2"}
        new["immutable"] = False
        _, errors = update("", new, old)
        assert errors == [
            "immutable: Forbidden: field is immutable when `immutable` is set",
            "data: Forbidden: field is immutable when `immutable` is set",
        ]

    def test_no_status_and_no_generation(self):
        obj, _ = create("", secret(status={"x": 1}))
        assert "generation" not in obj["metadata"]
        assert obj["status"] == {"x": 1}

    def test_field_labels(self):
        assert strategy_for("", "Secret").field_labels(created("", secret())) == {"type": "Opaque"}


class TestConfigMap:
    def test_valid(self):
        obj, errors = create("", config_map(data={"a": "1"}, binaryData={"b": "YWJj"}))
        assert errors == []
        assert obj["binaryData"] == {"b": "YWJj"}

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            (
                {"data": {"a": "x" * (1024 * 1024)}, "binaryData": {"b": b64("y")}},
                ["[]: Too long: may not be more than 1048576 bytes"],
            ),
            (
                {"data": {"a": "1"}, "binaryData": {"a": b64("1")}},
                ['data[a]: Invalid value: "a": duplicate of key present in binaryData'],
            ),
            (
                {"data": {"..a": "1"}},
                ["data[..a]: Invalid value: \"..a\": must not start with '..'"],
            ),
        ],
        ids=["too-big", "duplicate-key", "dot-dot-key"],
    )
    def test_validation_errors(self, fields, expected):
        _, errors = create("", config_map(**fields))
        assert errors == expected

    def test_binary_data_must_be_base64(self):
        with pytest.raises(BadRequest) as err:
            create("", config_map(binaryData={"b": "%%%%"}))
        assert err.value.message == (
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
            "illegal base64 data at input byte 0"
        )

    def test_immutable_config_maps(self):
        old = created("", config_map(immutable=True, data={"a": "1"}))
        new = copy.deepcopy(old)
        new["data"] = {"a": "2"}
        _, errors = update("", new, old)
        assert errors == ["data: Forbidden: field is immutable when `immutable` is set"]

    def test_mutable_config_maps_change_freely(self):
        old = created("", config_map(data={"a": "1"}))
        new = copy.deepcopy(old)
        new["data"] = {"a": "2"}
        assert update("", new, old)[1] == []
