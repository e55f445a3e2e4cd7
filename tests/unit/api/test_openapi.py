"""OpenAPI v2/v3 documents generated from the registry and the upstream schemas."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from pilothouse.api.openapi import (
    content_hash,
    openapi_v2,
    openapi_v2_protobuf,
    openapi_v3_group_version,
    openapi_v3_index,
)
from pilothouse.api.protobuf import wire
from pilothouse.api.resources import Registry, ResourceType, Subresource
from pilothouse.api.schema import Schemas

SCHEMAS = Schemas.load()
V3_REFS = "#/components/schemas/"
PATCH_TYPES = {
    "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
}
SMP = "application/strategic-merge-patch+json"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.builtin()


@pytest.fixture(scope="module")
def v3_docs(registry) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (group, version): openapi_v3_group_version(registry, SCHEMAS, group, version)
        for group, versions in registry.groups().items()
        for version in versions
    }


@pytest.fixture(scope="module")
def v2_doc(registry) -> dict[str, Any]:
    return openapi_v2(registry, SCHEMAS)


def _crontab() -> ResourceType:
    return ResourceType("stable.example.com", "v1", "CronTab", "crontabs", True,
                        subresources=(Subresource("status", "CronTab"),))


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# --- paths and operations -----------------------------------------------------------------


def test_every_resource_has_its_paths_and_operations(registry, v3_docs):
    for r in registry:
        paths = v3_docs[(r.group, r.version)]["paths"]
        base = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
        scope = "/namespaces/{namespace}" if r.namespaced else ""
        collection, item = f"{base}{scope}/{r.plural}", f"{base}{scope}/{r.plural}/{{name}}"
        methods = {m for m in paths[collection] if m != "parameters"}
        if r.verbs == ("create",):  # reviews: POST only, nothing else
            assert methods == {"post"} and item not in paths
            continue
        expected = {"get"} | ({"post"} if "create" in r.verbs else set())
        expected |= {"delete"} if "deletecollection" in r.verbs else set()
        assert methods == expected, collection
        assert {m for m in paths[item] if m != "parameters"} == {"get", "put", "patch", "delete"}
        assert f"{base}/watch{scope}/{r.plural}" in paths
        if r.namespaced:
            assert paths[f"{base}/{r.plural}"]["get"]["x-kubernetes-action"] == "list"
        for sub in r.subresources:
            assert f"{item}/{sub.name}" in paths


def test_operations_are_named_and_tagged_as_kube_apiserver_names_them(v3_docs):
    apps = v3_docs[("apps", "v1")]["paths"]
    core = v3_docs[("", "v1")]["paths"]
    rbac = v3_docs[("rbac.authorization.k8s.io", "v1")]["paths"]

    deployment = apps["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert deployment["patch"]["operationId"] == "patchAppsV1NamespacedDeployment"
    assert deployment["patch"]["tags"] == ["apps_v1"]
    assert deployment["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "apps", "kind": "Deployment", "version": "v1"}
    collection = apps["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert collection["delete"]["operationId"] == "deleteAppsV1CollectionNamespacedDeployment"
    assert collection["delete"]["x-kubernetes-action"] == "deletecollection"
    assert apps["/apis/apps/v1/deployments"]["get"]["operationId"] == (
        "listAppsV1DeploymentForAllNamespaces")
    assert apps["/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}"]["get"][
        "x-kubernetes-action"] == "watch"
    assert core["/api/v1/namespaces/{name}/status"]["get"]["operationId"] == (
        "readCoreV1NamespaceStatus")
    assert core["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]["operationId"] == (
        "connectCoreV1PostNamespacedPodExec")
    assert rbac["/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"]["get"]["tags"] == [
        "rbacAuthorization_v1"]


def test_operation_ids_are_unique(v3_docs, v2_doc):
    for doc in [*v3_docs.values(), v2_doc]:
        ids = [op["operationId"] for _, _, op in _operations(doc)]
        assert len(ids) == len(set(ids))


def test_scale_subresource_serves_autoscaling_scale(v3_docs):
    path = v3_docs[("apps", "v1")]["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]

    assert path["get"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert path["parameters"][0]["description"] == "name of the Scale"
    schema = path["put"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": V3_REFS + "io.k8s.api.autoscaling.v1.Scale"}


def test_status_subresource_serves_the_resource_kind(v3_docs):
    path = v3_docs[("apps", "v1")]["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]

    assert path["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "apps", "kind": "Deployment", "version": "v1"}


def test_every_patch_declares_the_query_parameters_kubectl_checks(v3_docs, v2_doc):
    for doc in [*v3_docs.values(), v2_doc]:
        patches = [op for _, method, op in _operations(doc) if method == "patch"]
        has_patchable = any(p.endswith("{name}") for p in doc["paths"])
        assert bool(patches) == has_patchable  # review groups have no items, no PATCH
        for op in patches:
            names = {p["name"] for p in op["parameters"]}
            assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= names


def test_writes_declare_field_validation_and_lists_declare_watch(v3_docs):
    for _, _, op in _operations(v3_docs[("", "v1")]):
        names = {p["name"] for p in op.get("parameters", [])}
        if op.get("x-kubernetes-action") in ("post", "put", "patch"):
            assert "fieldValidation" in names
        if op.get("x-kubernetes-action") == "list":
            assert {"watch", "labelSelector", "limit", "continue", "resourceVersion"} <= names


def test_patch_media_types_include_strategic_merge_for_built_in_kinds(v3_docs):
    op = v3_docs[("", "v1")]["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]

    assert set(op["requestBody"]["content"]) == PATCH_TYPES | {SMP}
    assert op["requestBody"]["required"] is True


def test_responses_and_bodies(v3_docs):
    path = v3_docs[("", "v1")]["paths"]["/api/v1/namespaces/{namespace}/configmaps"]

    post = path["post"]
    assert set(post["responses"]) == {"200", "201", "202", "401"}
    assert post["requestBody"]["content"]["*/*"]["schema"] == {
        "$ref": V3_REFS + "io.k8s.api.core.v1.ConfigMap"}
    listed = path["get"]["responses"]["200"]["content"]
    assert "application/json;stream=watch" in listed
    assert listed["application/json"]["schema"] == {"$ref": V3_REFS + "io.k8s.api.core.v1.ConfigMapList"}
    log = v3_docs[("", "v1")]["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]
    assert log["responses"]["200"]["content"] == {"text/plain": {"schema": {"type": "string"}}}


# --- schemas ------------------------------------------------------------------------------


def test_every_reference_resolves(v3_docs, v2_doc):
    for doc in v3_docs.values():
        schemas = doc["components"]["schemas"]
        for ref in _refs(doc):
            assert ref.startswith(V3_REFS) and ref[len(V3_REFS):] in schemas, ref
    for ref in _refs(v2_doc):
        assert ref.startswith("#/definitions/") and ref[len("#/definitions/"):] in v2_doc["definitions"]


def test_schemas_are_in_openapi_form(v3_docs):
    text = orjson.dumps(v3_docs[("", "v1")]).decode()

    assert "$defs" not in text
    assert '"null"' not in text
    schemas = v3_docs[("", "v1")]["components"]["schemas"]
    assert schemas["io.k8s.api.core.v1.Pod"]["properties"]["kind"] == {
        "description": schemas["io.k8s.api.core.v1.Pod"]["properties"]["kind"]["description"],
        "type": "string",
    }


def test_special_types_are_published_as_upstream_publishes_them(v3_docs):
    schemas = v3_docs[("apps", "v1")]["components"]["schemas"]

    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"
    assert schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    assert schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] == {
        "description": schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["description"],
        "format": "date-time",
        "type": "string",
    }
    assert schemas["io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"]["type"] == "object"


def test_patch_and_list_metadata_is_preserved(v3_docs):
    schemas = v3_docs[("apps", "v1")]["components"]["schemas"]

    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["items"] == {"$ref": V3_REFS + "io.k8s.api.core.v1.Container"}
    strategy = schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["$ref"] == V3_REFS + "io.k8s.api.apps.v1.DeploymentStrategy"
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    assert schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]


def test_components_hold_only_what_the_group_version_reaches(v3_docs):
    schemas = v3_docs[("coordination.k8s.io", "v1")]["components"]["schemas"]

    assert "io.k8s.api.coordination.v1.Lease" in schemas
    assert "io.k8s.api.core.v1.PodSpec" not in schemas


# --- index and hashes ---------------------------------------------------------------------


def test_index_lists_every_group_version_with_the_content_hash(registry, v3_docs):
    index = openapi_v3_index(registry, SCHEMAS)

    assert set(index["paths"]) == {
        f"apis/{g}/{v}" if g else f"api/{v}" for g, v in v3_docs}
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    expected = hashlib.sha512(orjson.dumps(v3_docs[("apps", "v1")])).hexdigest().upper()
    assert url == f"/openapi/v3/apis/apps/v1?hash={expected}"
    assert content_hash(v3_docs[("apps", "v1")]) == expected


def test_hash_is_stable_and_changes_with_the_group_version(registry):
    first = openapi_v3_index(registry, SCHEMAS)["paths"]
    again = openapi_v3_index(Registry.builtin(), SCHEMAS)["paths"]
    grown = Registry.builtin()
    grown.add(ResourceType("apps", "v1", "Widget", "widgets", True))
    changed = openapi_v3_index(grown, SCHEMAS)["paths"]

    assert first == again
    assert changed["apis/apps/v1"] != first["apis/apps/v1"]
    assert changed["api/v1"] == first["api/v1"]


# --- custom resources ---------------------------------------------------------------------


def test_custom_resource_added_at_run_time_appears():
    registry = Registry.builtin()
    registry.add(_crontab())

    index = openapi_v3_index(registry, SCHEMAS)
    doc = openapi_v3_group_version(registry, SCHEMAS, "stable.example.com", "v1")

    assert "apis/stable.example.com/v1" in index["paths"]
    item = doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
    assert item["patch"]["x-kubernetes-group-version-kind"]["kind"] == "CronTab"
    assert set(item["patch"]["requestBody"]["content"]) == PATCH_TYPES  # no strategic merge
    schemas = doc["components"]["schemas"]
    crontab = schemas["com.example.stable.v1.CronTab"]
    assert crontab["x-kubernetes-preserve-unknown-fields"] is True
    assert crontab["properties"]["metadata"]["$ref"] == (
        V3_REFS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    assert schemas["com.example.stable.v1.CronTabList"]["properties"]["items"]["items"] == {
        "$ref": V3_REFS + "com.example.stable.v1.CronTab"}
    status = doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status"]
    assert status["get"]["x-kubernetes-group-version-kind"] == {
        "group": "stable.example.com", "kind": "CronTab", "version": "v1"}


def test_custom_resource_schema_is_published_when_given():
    registry = Registry.builtin()
    registry.add(_crontab())
    spec = {"type": "object", "properties": {"cronSpec": {"type": "string", "nullable": True}}}
    custom = {("stable.example.com", "v1", "CronTab"): {"type": "object", "properties": {"spec": spec}}}

    v3 = openapi_v3_group_version(registry, SCHEMAS, "stable.example.com", "v1", custom_schemas=custom)
    v2 = openapi_v2(registry, SCHEMAS, custom_schemas=custom)

    v3_spec = v3["components"]["schemas"]["com.example.stable.v1.CronTab"]["properties"]["spec"]
    assert v3_spec == spec
    v2_spec = v2["definitions"]["com.example.stable.v1.CronTab"]["properties"]["spec"]
    assert v2_spec == {"type": "object", "properties": {"cronSpec": {"type": "string"}}}


# --- v2 and its protobuf form -------------------------------------------------------------


def test_v2_document_shape(registry, v2_doc):
    assert v2_doc["swagger"] == "2.0"
    assert v2_doc["info"]["version"] == "v1.33.0"
    op = v2_doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert op["consumes"] == sorted(PATCH_TYPES | {SMP})
    assert op["parameters"][0] == {"in": "body", "name": "body", "required": True,
                                   "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
    assert op["responses"]["200"]["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}
    for r in registry:
        base = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
        assert any(p.startswith(f"{base}/") and p.endswith(f"/{r.plural}") for p in v2_doc["paths"])


def _message(data: bytes) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for number, _, value in wire.fields(data):
        out.setdefault(number, []).append(value)
    return out


def _named(entries: list[bytes]) -> dict[str, bytes]:
    """gnostic Named* messages: name (1) -> value (2)."""
    return {_message(e)[1][0].decode(): _message(e)[2][0] for e in entries}


def test_v2_protobuf_follows_gnostic_openapiv2_proto(v2_doc):
    document = _message(openapi_v2_protobuf(v2_doc))

    assert document[1] == [b"2.0"]
    assert _message(document[2][0])[2] == [b"v1.33.0"]
    paths = _named(_message(document[8][0])[2])
    assert set(paths) == set(v2_doc["paths"])
    patch = _message(_message(paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"])[8][0])
    assert patch[5] == [b"patchAppsV1NamespacedDeployment"]
    extensions = {name: orjson.loads(_message(any_)[2][0]) for name, any_ in _named(patch[13]).items()}
    assert extensions["x-kubernetes-group-version-kind"] == {
        "group": "apps", "kind": "Deployment", "version": "v1"}
    query = [_message(_message(_message(item)[1][0])[2][0]) for item in patch[8][1:]]
    names = [_message(q[3][0])[4][0] for q in query]
    assert b"fieldValidation" in names
    definitions = _named(_message(document[9][0])[1])
    assert set(definitions) == set(v2_doc["definitions"])


def test_v2_protobuf_schema_keeps_refs_types_and_patch_extensions(v2_doc):
    document = _message(openapi_v2_protobuf(v2_doc))
    definitions = _named(_message(document[9][0])[1])

    pod_spec = _message(definitions["io.k8s.api.core.v1.PodSpec"])
    properties = _named(_message(pod_spec[25][0])[1])
    containers = _message(properties["containers"])
    assert _message(containers[22][0])[1] == [b"array"]
    items = _message(_message(containers[23][0])[1][0])
    assert items[1] == [b"#/definitions/io.k8s.api.core.v1.Container"]
    extensions = {n: orjson.loads(_message(a)[2][0]) for n, a in _named(containers[31]).items()}
    assert extensions["x-kubernetes-patch-merge-key"] == "name"
    assert extensions["x-kubernetes-patch-strategy"] == "merge"
    assert b"containers" in pod_spec[19]  # required
