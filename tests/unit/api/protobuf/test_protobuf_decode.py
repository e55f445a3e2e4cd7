"""decode(): real kubectl request bodies and hand-built messages to their JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pilothouse.api import errors
from pilothouse.api.protobuf import MAGIC, decode
from pilothouse.api.protobuf.wire import (
    bool_field,
    bytes_field,
    encode_varint,
    string_field,
    varint_field,
)

FIXTURES = Path(__file__).parents[3] / "fixtures" / "protobuf"
NAMES = sorted(p.stem for p in (FIXTURES / "kubectl-1.33").glob("*.pb"))
# JSON writes null for nil pointers without omitempty; protobuf cannot carry them.
NIL_POINTERS = {"token": ("audiences", "expirationSeconds", "boundObjectRef")}


def envelope(api_version: str, kind: str, raw: bytes, *, encoding: str = "",
             content_type: str = "") -> bytes:
    type_meta = string_field(1, api_version) + string_field(2, kind)
    return (MAGIC + bytes_field(1, type_meta) + bytes_field(2, raw)
            + string_field(3, encoding) + string_field(4, content_type))


def message(number: int, *fields: bytes) -> bytes:
    return bytes_field(number, b"".join(fields))


def metadata(name: str) -> bytes:
    return message(1, string_field(1, name))


# --- bodies captured from kubectl ---------------------------------------------------------


def test_fixtures_cover_every_kind_kubectl_sends_as_protobuf():
    assert {"namespace", "configmap", "secret", "service", "deployment", "job", "token",
            "can-i"} <= set(NAMES)


@pytest.mark.parametrize("version", ["1.32", "1.33"])
@pytest.mark.parametrize("name", NAMES)
def test_kubectl_body_decodes_to_what_kubectl_sends_as_json(version, name):
    body = (FIXTURES / f"kubectl-{version}" / f"{name}.pb").read_bytes()
    expected = json.loads((FIXTURES / "kubectl-1.31-json" / f"{name}.json").read_text())
    for field in NIL_POINTERS.get(name, ()):
        assert expected["spec"].pop(field) is None

    assert decode(body) == expected


def test_deployment_body_in_detail():
    body = (FIXTURES / "kubectl-1.33" / "deployment.pb").read_bytes()

    obj = decode(body)

    assert list(obj)[:2] == ["kind", "apiVersion"]
    assert obj["apiVersion"] == "apps/v1"
    assert obj["metadata"] == {"name": "x", "creationTimestamp": None, "labels": {"app": "x"}}
    assert obj["spec"]["replicas"] == 2
    container = obj["spec"]["template"]["spec"]["containers"][0]
    # zero values of omitempty fields are gone; empty structs stay, as in JSON
    assert container == {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}],
                         "resources": {}}
    assert obj["spec"]["strategy"] == {}
    assert obj["status"] == {}


def test_secret_data_is_base64_and_service_target_port_is_int_or_string():
    secret = decode((FIXTURES / "kubectl-1.33" / "secret.pb").read_bytes())
    service = decode((FIXTURES / "kubectl-1.33" / "service.pb").read_bytes())
    pdb = decode((FIXTURES / "kubectl-1.33" / "pdb.pb").read_bytes())

    assert secret["data"] == {"a": "Yg=="}
    assert service["spec"]["ports"][0]["targetPort"] == 8080
    assert pdb["spec"]["minAvailable"] == "50%"


# --- shapes that need special handling ----------------------------------------------------


def test_time_drops_nanoseconds_and_microtime_keeps_microseconds():
    created = message(8, varint_field(1, 1_700_000_000), varint_field(2, 999_999_999))
    acquired = message(3, varint_field(1, 1_700_000_000), varint_field(2, 123_456_789))
    raw = message(1, string_field(1, "l"), created) + message(2, acquired)

    lease = decode(envelope("coordination.k8s.io/v1", "Lease", raw))

    assert lease["metadata"]["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert lease["spec"]["acquireTime"] == "2023-11-14T22:13:20.123456Z"


def test_named_slices_and_maps_of_them_are_plain_arrays():
    extra = message(5, string_field(1, "scopes"), message(2, string_field(1, "a"), string_field(1, "b")))
    spec = message(2, string_field(3, "alice"), string_field(4, "devs"), extra)

    review = decode(envelope("authorization.k8s.io/v1", "SubjectAccessReview", spec))

    assert review["spec"] == {"user": "alice", "groups": ["devs"], "extra": {"scopes": ["a", "b"]}}


def test_inline_structs_lift_their_fields_into_the_parent():
    config_map = message(19, message(1, string_field(1, "settings")), varint_field(3, 0o644))
    volume = message(1, string_field(1, "cfg"), message(2, config_map))
    probe = message(10, message(1, message(2, string_field(1, "/healthz"),
                                           message(2, varint_field(1, 1), string_field(3, "http")))))
    container = message(2, string_field(1, "app"), probe)
    raw = metadata("p") + message(2, volume, container)

    pod = decode(envelope("v1", "Pod", raw))

    assert pod["spec"]["volumes"] == [{"name": "cfg", "configMap": {"name": "settings",
                                                                    "defaultMode": 420}}]
    assert pod["spec"]["containers"][0]["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "http"}
    }


def test_fields_named_after_go_fields_get_their_json_names():
    bound = message(3, string_field(1, "Secret"), string_field(3, "s"), string_field(4, "u-1"))
    raw = metadata("") + message(2, string_field(1, "aud"), bound)

    token = decode(envelope("authentication.k8s.io/v1", "TokenRequest", raw))

    assert token["spec"] == {
        "audiences": ["aud"], "boundObjectRef": {"kind": "Secret", "name": "s", "uid": "u-1"}
    }


def test_packed_and_unpacked_repeated_scalars_and_negative_numbers():
    packed = bytes_field(4, encode_varint(1000) + encode_varint(2000))
    unpacked = varint_field(4, 3000)
    context = message(14, packed, unpacked, varint_field(2, -1))
    pod = decode(envelope("v1", "Pod", metadata("p") + message(2, context)))

    assert pod["spec"]["securityContext"] == {"runAsUser": -1,
                                              "supplementalGroups": [1000, 2000, 3000]}


def test_repeated_occurrences_of_a_message_merge():
    raw = message(1, string_field(1, "x")) + message(1, string_field(3, "ns"))

    config_map = decode(envelope("v1", "ConfigMap", raw))

    assert config_map["metadata"] == {"name": "x", "namespace": "ns"}


def test_embedded_json_of_raw_extensions_and_managed_fields():
    entry = message(17, string_field(1, "kubectl"), string_field(6, "FieldsV1"),
                    message(7, bytes_field(1, b'{"f:data":{}}')))
    raw = message(1, string_field(1, "r"), entry) + message(2, bytes_field(1, b'{"a":[1]}'))
    raw += varint_field(3, 7)

    revision = decode(envelope("apps/v1", "ControllerRevision", raw))

    assert revision["data"] == {"a": [1]}
    assert revision["revision"] == 7
    assert revision["metadata"]["managedFields"] == [
        {"manager": "kubectl", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}
    ]


def test_unknown_fields_are_skipped():
    raw = metadata("x") + string_field(99, "future") + varint_field(100, 5) + bool_field(4, True)

    config_map = decode(envelope("v1", "ConfigMap", raw))

    assert config_map == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"},
                          "immutable": True}


def test_kind_from_the_request_path_when_the_envelope_has_none():
    config_map = decode(envelope("", "", metadata("x")), api_version="v1", kind="ConfigMap")

    assert config_map["kind"] == "ConfigMap"


# --- malformed bodies ---------------------------------------------------------------------


def _kubectl_deployment() -> bytes:
    return (FIXTURES / "kubectl-1.33" / "deployment.pb").read_bytes()


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        pytest.param(b'{"kind":"Namespace"}', "k8s\\x00 prefix", id="json"),
        pytest.param(MAGIC + b"\x0a\x05ab", "envelope", id="truncated-envelope"),
        pytest.param(_kubectl_deployment()[:-10], "invalid protobuf", id="truncated-object"),
        pytest.param(envelope("v1", "ConfigMap", varint_field(1, 5)), "wire type", id="wire-type"),
        pytest.param(envelope("v1", "ConfigMap", b"\x0a\xff\xff\xff\xff\x0f"), "runs past",
                     id="length-past-end"),
        pytest.param(envelope("v1", "Widget", b""), 'no kind "Widget"', id="unknown-kind"),
        pytest.param(envelope("v1", "ConfigMap", b"", encoding="gzip"), "content encoding",
                     id="gzip"),
        pytest.param(envelope("v1", "ConfigMap", b"", content_type="application/json"),
                     "content type", id="content-type"),
        pytest.param(envelope("v1", "ConfigMap", b"\x0b"), "wire type 3", id="group"),
    ],
)
def test_malformed_bodies_are_bad_requests(body, message_part):
    with pytest.raises(errors.BadRequest) as caught:
        decode(body)

    assert message_part in caught.value.message
    assert caught.value.status()["code"] == 400


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_object_bytes_decode_or_fail_with_bad_request(data):
    for api_version, kind in (("apps/v1", "Deployment"), ("v1", "Pod"), ("v1", "Secret")):
        try:
            obj = decode(envelope(api_version, kind, data))
        except errors.BadRequest:
            continue
        assert obj["kind"] == kind


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(_kubectl_deployment()) - 1), st.integers(0, 255))
def test_corrupted_kubectl_body_decodes_or_fails_with_bad_request(position, byte):
    body = bytearray(_kubectl_deployment())
    body[position] = byte
    try:
        decode(bytes(body))
    except errors.BadRequest:
        pass


def test_objects_nested_beyond_the_stack_are_bad_requests():
    body = envelope("apps/v1", "ControllerRevision", b"")
    for _ in range(5000):
        body = envelope("apps/v1", "ControllerRevision", message(2, bytes_field(1, body)))

    with pytest.raises(errors.BadRequest, match="nested too deeply"):
        decode(body)
