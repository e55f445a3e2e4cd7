"""Downward API values, as pkg/fieldpath and pkg/api/v1/resource compute them."""

from __future__ import annotations

from typing import Any

import pytest
from volume_fakes import make_pod

from pilothouse.kubelet.fieldpath import (
    FieldPathError,
    extract_field_path,
    extract_resource_value,
    split_subscripted_path,
)

ALLOCATABLE = {"cpu": "3500m", "memory": "2Gi", "ephemeral-storage": "10Gi"}


def pod_with(resources: dict[str, Any]) -> dict[str, Any]:
    return make_pod(containers=[{"name": "app", "resources": resources}],
                    initContainers=[{"name": "init", "resources": {"limits": {"cpu": "250m"}}}])


@pytest.mark.parametrize(("path", "expected"), [
    ("metadata.name", "web"),
    ("metadata.namespace", "default"),
    ("metadata.uid", "uid-1"),
    ("metadata.labels", 'app="web"\ntier="front"'),
    ("metadata.annotations", 'note="say \\"hi\\"\\n"'),
    ("metadata.labels['tier']", "front"),
    ("metadata.labels['absent']", ""),
    ("metadata.annotations['note']", 'say "hi"\n'),
])
def test_field_paths(path: str, expected: str) -> None:
    assert extract_field_path(make_pod(), path) == expected


def test_values_are_quoted_like_go() -> None:
    pod = make_pod()
    pod["metadata"]["labels"] = {"b": "tab\there", "a": "é\x01"}
    assert extract_field_path(pod, "metadata.labels") == 'a="é\\x01"\nb="tab\\there"'


@pytest.mark.parametrize(("path", "message"), [
    ("spec.nodeName", "unsupported fieldPath: spec.nodeName"),
    ("metadata.name['x']", 'fieldPath "metadata.name[\'x\']" does not support subscript'),
])
def test_unsupported_field_paths(path: str, message: str) -> None:
    with pytest.raises(FieldPathError) as failure:
        extract_field_path(make_pod(), path)
    assert str(failure.value) == message


def test_invalid_subscript() -> None:
    with pytest.raises(FieldPathError, match=r"^invalid key subscript in metadata\.labels\['a b'\]: "):
        extract_field_path(make_pod(), "metadata.labels['a b']")


def test_split_subscripted_path() -> None:
    assert split_subscripted_path("metadata.labels['a']") == ("metadata.labels", "a")
    assert split_subscripted_path("metadata.labels") == ("metadata.labels", None)
    assert split_subscripted_path("['a']") == ("['a']", None)


@pytest.mark.parametrize(("resource", "divisor", "expected"), [
    ("limits.cpu", None, "2"),  # 1500m rounded up to whole cores
    ("limits.cpu", "1m", "1500"),
    ("requests.cpu", "1m", "500"),
    ("limits.memory", None, str(512 * 2**20)),
    ("limits.memory", "1Mi", "512"),
    ("requests.memory", "1Gi", "1"),  # 200Mi rounded up
    ("limits.ephemeral-storage", "1Gi", "10"),  # unset limit: node allocatable
    ("requests.ephemeral-storage", None, "0"),
    ("limits.hugepages-2Mi", "1Mi", "4"),
])
def test_resource_values(resource: str, divisor: str | None, expected: str) -> None:
    pod = pod_with({"limits": {"cpu": "1500m", "memory": "512Mi", "hugepages-2Mi": "4Mi"},
                    "requests": {"cpu": "500m", "memory": "200Mi"}})
    selector = {"containerName": "app", "resource": resource}
    if divisor:
        selector["divisor"] = divisor
    assert extract_resource_value(selector, pod, ALLOCATABLE) == expected


def test_unset_limits_read_node_allocatable() -> None:
    pod = pod_with({})
    cpu = {"containerName": "app", "resource": "limits.cpu", "divisor": "1m"}
    memory = {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"}
    assert extract_resource_value(cpu, pod, ALLOCATABLE) == "3500"
    assert extract_resource_value(memory, pod, ALLOCATABLE) == "2048"


def test_init_containers_are_found() -> None:
    selector = {"containerName": "init", "resource": "limits.cpu", "divisor": "1m"}
    assert extract_resource_value(selector, pod_with({}), ALLOCATABLE) == "250"


@pytest.mark.parametrize(("selector", "message"), [
    ({"containerName": "ghost", "resource": "limits.cpu"}, "container ghost not found"),
    ({"containerName": "app", "resource": "limits.gpu"}, "unsupported container resource : limits.gpu"),
])
def test_resource_errors(selector: dict[str, str], message: str) -> None:
    with pytest.raises(FieldPathError) as failure:
        extract_resource_value(selector, pod_with({}), ALLOCATABLE)
    assert str(failure.value) == message
