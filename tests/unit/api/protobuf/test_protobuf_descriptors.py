"""descriptors.json: complete for the kinds kubectl sends, consistent with the schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pilothouse.api.protobuf import extract
from pilothouse.api.protobuf.descriptors import Descriptors
from pilothouse.api.schema import Schemas

KUBECTL_1_33 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.33")
DESCRIPTORS = Path(extract.__file__).with_name("descriptors.json")


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"),
     ("apps/v1", "Deployment"), ("batch/v1", "Job"), ("authentication.k8s.io/v1", "TokenRequest"),
     ("authorization.k8s.io/v1", "SelfSubjectAccessReview"), ("v1", "Pod"),
     ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("networking.k8s.io/v1", "Ingress")],
)
def test_kinds_kubectl_sends_as_protobuf_have_a_message(api_version, kind):
    assert Descriptors.load().message_for_kind(api_version, kind)


def _json_names(descriptors: Descriptors, message: str) -> set[str]:
    names = set()
    for field in descriptors.message(message).values():
        if field.inline:
            names |= _json_names(descriptors, field.type)
        else:
            names.add(field.name)
    return names


def test_every_field_has_the_json_name_of_the_upstream_schema():
    descriptors = Descriptors.load()
    definitions = Schemas.load().raw_definitions()
    checked = 0
    for message in descriptors.messages():
        definition = definitions.get("io.k8s." + message.removeprefix("k8s.io."), {})
        properties = definition.get("properties")
        if properties:
            assert _json_names(descriptors, message) <= set(properties), message
            checked += 1
    assert checked > 400


def test_every_referenced_message_is_described():
    descriptors = Descriptors.load()
    messages = descriptors.messages()
    scalars = {"string", "bytes", "bool", "int32", "int64"}
    for fields in messages.values():
        for field in fields.values():
            for part in field.type.replace("<", ",").replace(">", ",").split(","):
                assert not part or part in scalars or part in ("map", "list") or part in messages


@pytest.mark.skipif(not KUBECTL_1_33.exists(), reason="kubectl 1.33 binary not installed")
def test_committed_table_matches_the_descriptors_in_kubectl():
    messages = extract.messages_in_binary(KUBECTL_1_33.read_bytes())

    regenerated = extract.table(messages, Schemas.load())

    committed = json.loads(DESCRIPTORS.read_bytes())
    assert regenerated["kinds"] == committed["kinds"]
    assert regenerated["messages"] == committed["messages"]
