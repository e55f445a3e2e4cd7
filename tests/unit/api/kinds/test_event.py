"""Events: legacy and strict validation, field labels, and the two served shapes."""

import copy

import pytest

from pilothouse.api.kinds import convert_field_label, strategy_for, supported_field_selectors
from pilothouse.api.kinds.conversion import ConversionError, convert

from .flow import create

CORE_EVENT = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "web.17a2b3c4d5e6f7a8", "namespace": "default"},
    "involvedObject": {
        "kind": "Pod",
        "namespace": "default",
        "name": "web",
        "uid": "u1",
        "apiVersion": "v1",
    },
    "reason": "Scheduled",
    "message": "Successfully assigned default/web to node-1",
    "type": "Normal",
    "source": {"component": "default-scheduler"},
    "firstTimestamp": "2024-01-01T00:00:00Z",
    "lastTimestamp": "2024-01-01T00:00:00Z",
    "count": 1,
}

NEW_EVENT = {
    "apiVersion": "events.k8s.io/v1",
    "kind": "Event",
    "metadata": {"name": "web.17a2b3c4d5e6f7a8", "namespace": "default"},
    "eventTime": "2024-01-01T00:00:00.000000Z",
    "reportingController": "kubelet",
    "reportingInstance": "kubelet-node-1",
    "action": "Pulling",
    "reason": "Pulling",
    "type": "Normal",
    "regarding": {"kind": "Pod", "namespace": "default", "name": "web"},
    "note": "Pulling image",
}


def test_core_event_serializes_its_always_present_fields():
    obj, errors = create("", CORE_EVENT)
    assert errors == []
    assert (
        obj["reportingComponent"] == ""
        and obj["reportingInstance"] == ""
        and obj["eventTime"] is None
    )
    assert "generation" not in obj["metadata"]


def test_core_events_skip_metadata_validation():
    event = copy.deepcopy(CORE_EVENT)
    event["metadata"]["name"] = "Not_A_DNS_Name"
    assert create("", event)[1] == []


def test_core_event_namespace_must_match():
    event = copy.deepcopy(CORE_EVENT)
    event["involvedObject"]["namespace"] = "other"
    assert create("", event)[1] == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace'
    ]


def test_events_v1_create_is_strict():
    stored = convert(NEW_EVENT, to_api_version="v1")
    assert create("events.k8s.io", stored)[1] == []
    bad = copy.deepcopy(stored)
    bad.update(type="Odd", count=3, reportingComponent="")
    bad["metadata"]["name"] = "Bad_Name"
    errors = create("events.k8s.io", bad)[1]
    assert errors[0] == "reportingController: Required value"
    assert errors[-3:] == [
        'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of '
        "lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        'type: Invalid value: "": has invalid value: Odd',
        'count: Invalid value: "": needs to be unset',
    ]


def test_events_v1_update_keeps_the_note():
    strategy = strategy_for("events.k8s.io", "Event")
    old = convert(NEW_EVENT, to_api_version="v1")
    new = copy.deepcopy(old)
    new["message"] = "changed"
    assert [e.message() for e in strategy.validate_update(new, old)] == [
        'message: Invalid value: "changed": field is immutable'
    ]


def test_round_trip_between_shapes():
    stored = convert(NEW_EVENT, to_api_version="v1")
    assert stored["message"] == "Pulling image"
    assert stored["involvedObject"] == NEW_EVENT["regarding"]
    assert stored["reportingComponent"] == "kubelet"
    served = convert(stored, to_api_version="events.k8s.io/v1")
    assert served == {
        **NEW_EVENT,
        "deprecatedSource": {},
        "deprecatedFirstTimestamp": None,
        "deprecatedLastTimestamp": None,
    }


def test_core_event_in_the_new_shape():
    served = convert(CORE_EVENT, to_api_version="events.k8s.io/v1")
    assert served["note"] == CORE_EVENT["message"]
    assert served["deprecatedSource"] == {"component": "default-scheduler"}
    assert served["deprecatedCount"] == 1
    assert served["eventTime"] is None


def test_same_version_is_a_no_op_and_unknown_pairs_fail():
    assert convert(CORE_EVENT, to_api_version="v1") is CORE_EVENT
    with pytest.raises(ConversionError):
        convert(CORE_EVENT, to_api_version="events.k8s.io/v1beta1")


def test_field_labels():
    labels = strategy_for("", "Event").field_labels(CORE_EVENT)
    assert labels["involvedObject.name"] == "web"
    assert labels["source"] == "default-scheduler"
    assert labels["reportingComponent"] == ""
    assert supported_field_selectors("", "Event") >= {
        "involvedObject.kind",
        "reason",
        "type",
        "source",
        "metadata.namespace",
    }


@pytest.mark.parametrize(
    ("label", "stored"),
    [
        ("regarding.name", "involvedObject.name"),
        ("reportingController", "reportingComponent"),
        ("type", "type"),
        ("metadata.name", "metadata.name"),
    ],
    ids=["regarding", "reporting-controller", "type", "name"],
)
def test_events_v1_field_labels_map_to_stored_names(label, stored):
    assert convert_field_label("events.k8s.io", "Event", label) == stored
