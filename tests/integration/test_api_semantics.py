"""Kubernetes API semantics of the server, through real HTTPS: CRUD, optimistic concurrency,
generation, subresources, selectors, paging, dry run, deletion and namespaces."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from pilothouse.api import errors
from pilothouse.client import APIClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(name: str, replicas: int = 1, image: str = "nginx") -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


async def test_create_get_list_delete(client: APIClient, namespace: str) -> None:
    cms = client["configmaps"]
    created = await cms.create(configmap("a", k="v"), namespace=namespace)
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and int(meta["resourceVersion"]) > 0
    assert (await cms.get("a", namespace=namespace))["data"] == {"k": "v"}
    listed = await cms.list(namespace=namespace)
    assert [o["metadata"]["name"] for o in listed.items] == ["a"]
    assert int(listed.resource_version) >= int(meta["resourceVersion"])
    await cms.delete("a", namespace=namespace)
    with pytest.raises(errors.NotFound) as e:
        await cms.get("a", namespace=namespace)
    assert str(e.value) == 'configmaps "a" not found'


async def test_create_twice_is_already_exists(client: APIClient, namespace: str) -> None:
    await client["configmaps"].create(configmap("dup"), namespace=namespace)
    with pytest.raises(errors.AlreadyExists) as e:
        await client["configmaps"].create(configmap("dup"), namespace=namespace)
    assert e.value.code == 409
    assert str(e.value) == 'configmaps "dup" already exists'


async def test_generate_name(client: APIClient, namespace: str) -> None:
    body = {"metadata": {"generateName": "job-"}, "data": {}}
    first = await client["configmaps"].create(body, namespace=namespace)
    second = await client["configmaps"].create(body, namespace=namespace)
    names = {first["metadata"]["name"], second["metadata"]["name"]}
    assert len(names) == 2 and all(n.startswith("job-") and len(n) == 9 for n in names)


async def test_stale_resource_version_is_conflict(client: APIClient, namespace: str) -> None:
    cms = client["configmaps"]
    created = await cms.create(configmap("cas", n="1"), namespace=namespace)
    first = dict(created, data={"n": "2"})
    updated = await cms.update(first)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    stale = dict(created, data={"n": "3"})
    with pytest.raises(errors.Conflict) as e:
        await cms.update(stale)
    assert "the object has been modified" in str(e.value)
    assert (await cms.get("cas", namespace=namespace))["data"] == {"n": "2"}


async def test_generation_counts_spec_changes_only(client: APIClient, namespace: str) -> None:
    deployments = client["deployments.apps"]
    created = await deployments.create(deployment("gen"), namespace=namespace)
    assert created["metadata"]["generation"] == 1
    labelled = await deployments.patch("gen", {"metadata": {"labels": {"x": "y"}}},
                                       namespace=namespace)
    assert labelled["metadata"]["generation"] == 1
    scaled = await deployments.patch("gen", {"spec": {"replicas": 3}}, namespace=namespace)
    assert scaled["metadata"]["generation"] == 2


async def test_status_only_through_status(client: APIClient, namespace: str) -> None:
    deployments = client["deployments.apps"]
    created = await deployments.create(
        dict(deployment("st"), status={"replicas": 7}), namespace=namespace
    )
    assert "replicas" not in created.get("status", {})
    with_status = dict(created, status={"replicas": 2}, spec=dict(created["spec"], replicas=5))
    written = await deployments.update_status(with_status)
    assert written["status"]["replicas"] == 2
    assert written["spec"]["replicas"] == 1  # /status does not change spec
    main = dict(written, status={"replicas": 9})
    after = await deployments.update(main)
    assert after["status"]["replicas"] == 2  # the main endpoint does not change status


async def test_scale_subresource(client: APIClient, namespace: str) -> None:
    await client["deployments.apps"].create(deployment("sc", replicas=2), namespace=namespace)
    scale = await client["deployments.apps"].get("sc", namespace=namespace, subresource="scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=sc"
    await client["deployments.apps"].patch("sc", {"spec": {"replicas": 4}}, namespace=namespace,
                                            subresource="scale")
    assert (await client["deployments.apps"].get("sc", namespace=namespace))["spec"]["replicas"] == 4


async def test_label_and_field_selectors(client: APIClient, namespace: str) -> None:
    cms = client["configmaps"]
    for name, tier in (("s1", "web"), ("s2", "db"), ("s3", "web")):
        body = configmap(name)
        body["metadata"]["labels"] = {"tier": tier}
        await cms.create(body, namespace=namespace)
    web = await cms.list(namespace=namespace, label_selector="tier=web")
    assert sorted(o["metadata"]["name"] for o in web.items) == ["s1", "s3"]
    not_web = await cms.list(namespace=namespace, label_selector="tier notin (web)")
    assert [o["metadata"]["name"] for o in not_web.items] == ["s2"]
    by_name = await cms.list(namespace=namespace, field_selector="metadata.name=s2")
    assert [o["metadata"]["name"] for o in by_name.items] == ["s2"]
    with pytest.raises(errors.BadRequest) as e:
        await cms.list(namespace=namespace, field_selector="spec.nodeName=x")
    assert "field label not supported" in str(e.value)


async def test_limit_and_continue_give_a_consistent_snapshot(
    client: APIClient, namespace: str
) -> None:
    cms = client["configmaps"]
    for i in range(7):
        await cms.create(configmap(f"p{i}"), namespace=namespace)
    first = await cms.list(namespace=namespace, limit=3)
    assert len(first.items) == 3 and first.continue_token
    await cms.create(configmap("p99"), namespace=namespace)  # after the snapshot
    names = [o["metadata"]["name"] for o in first.items]
    token = first.continue_token
    while token:
        page = await cms.list(namespace=namespace, limit=3, continue_token=token)
        names += [o["metadata"]["name"] for o in page.items]
        token = page.continue_token
    assert names == [f"p{i}" for i in range(7)]


async def test_dry_run_changes_nothing(client: APIClient, namespace: str) -> None:
    created = await client["configmaps"].create(configmap("dry"), namespace=namespace,
                                                dry_run=True)
    assert created["metadata"]["name"] == "dry"
    with pytest.raises(errors.NotFound):
        await client["configmaps"].get("dry", namespace=namespace)


async def test_finalizers_hold_deletion(client: APIClient, namespace: str) -> None:
    cms = client["configmaps"]
    body = configmap("fin")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await cms.create(body, namespace=namespace)
    held = await cms.delete("fin", namespace=namespace)
    assert held["metadata"]["deletionTimestamp"]
    assert (await cms.get("fin", namespace=namespace))["metadata"]["deletionTimestamp"]
    await cms.patch("fin", {"metadata": {"finalizers": None}}, namespace=namespace)
    with pytest.raises(errors.NotFound):
        await cms.get("fin", namespace=namespace)


async def test_delete_preconditions(client: APIClient, namespace: str) -> None:
    cms = client["configmaps"]
    await cms.create(configmap("pre"), namespace=namespace)
    with pytest.raises(errors.Conflict) as e:
        await cms.delete("pre", namespace=namespace, preconditions={"uid": "not-the-uid"})
    assert "Precondition failed: UID in precondition: not-the-uid" in str(e.value)
    await cms.get("pre", namespace=namespace)


async def test_create_in_missing_namespace(client: APIClient) -> None:
    with pytest.raises(errors.NotFound) as e:
        await client["configmaps"].create(configmap("x"), namespace="no-such-namespace")
    assert str(e.value) == 'namespaces "no-such-namespace" not found'


async def test_namespace_being_deleted_refuses_new_content(client: APIClient) -> None:
    namespaces = client["namespaces"]
    body = {"metadata": {"name": "closing", "finalizers": ["example.com/hold"]}}
    await namespaces.create(body)
    await namespaces.delete("closing")
    with pytest.raises(errors.Forbidden) as e:
        await client["configmaps"].create(configmap("late"), namespace="closing")
    assert "because it is being terminated" in str(e.value)


async def test_system_namespaces_cannot_be_deleted(client: APIClient) -> None:
    with pytest.raises(errors.Forbidden):
        await client["namespaces"].delete("kube-system")


async def test_service_cluster_ips_are_unique_and_released(
    client: APIClient, namespace: str
) -> None:
    services = client["services"]

    def service(name: str, ip: str | None = None) -> dict:
        spec: dict = {"ports": [{"port": 80}], "selector": {"app": name}}
        if ip:
            spec["clusterIP"] = ip
        return {"metadata": {"name": name}, "spec": spec}

    one = await services.create(service("one"), namespace=namespace)
    two = await services.create(service("two"), namespace=namespace)
    ip = one["spec"]["clusterIP"]
    assert ip != two["spec"]["clusterIP"]
    assert ip.startswith("10.") and one["spec"]["clusterIPs"] == [ip]
    with pytest.raises(errors.Invalid) as e:
        await services.create(service("three", ip), namespace=namespace)
    assert "provided IP is already allocated" in str(e.value)
    await services.delete("one", namespace=namespace)
    reused = await services.create(service("three", ip), namespace=namespace)
    assert reused["spec"]["clusterIP"] == ip


async def test_node_ports_are_allocated(client: APIClient, namespace: str) -> None:
    body = {"metadata": {"name": "np"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}], "selector": {"a": "b"}}}
    created = await client["services"].create(body, namespace=namespace)
    assert 30000 <= created["spec"]["ports"][0]["nodePort"] <= 32767


async def test_watch_from_a_list_sees_every_later_change(
    client: APIClient, namespace: str
) -> None:
    cms = client["configmaps"]
    listed = await cms.list(namespace=namespace)
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        async for event in cms.watch(namespace=namespace,
                                     resource_version=listed.resource_version,
                                     allow_bookmarks=False):
            seen.append((event.type, event.object["metadata"]["name"]))
            if len(seen) == 3:
                return

    watcher = asyncio.create_task(follow())
    await cms.create(configmap("w1"), namespace=namespace)
    await cms.patch("w1", {"data": {"a": "b"}}, namespace=namespace)
    await cms.delete("w1", namespace=namespace)
    await asyncio.wait_for(watcher, 10)
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


async def test_watch_with_selector_retypes_events(client: APIClient, namespace: str) -> None:
    cms = client["configmaps"]
    listed = await cms.list(namespace=namespace)
    seen: list[str] = []

    async def follow() -> None:
        async for event in cms.watch(namespace=namespace, label_selector="pick=yes",
                                     resource_version=listed.resource_version,
                                     allow_bookmarks=False):
            seen.append(event.type)
            if len(seen) == 2:
                return

    watcher = asyncio.create_task(follow())
    await cms.create(configmap("sel"), namespace=namespace)  # not selected: no event
    await cms.patch("sel", {"metadata": {"labels": {"pick": "yes"}}}, namespace=namespace)
    await cms.patch("sel", {"metadata": {"labels": {"pick": "no"}}}, namespace=namespace)
    await asyncio.wait_for(watcher, 10)
    assert seen == ["ADDED", "DELETED"]


async def test_watch_from_zero_starts_with_current_state(
    client: APIClient, namespace: str
) -> None:
    await client["configmaps"].create(configmap("z1"), namespace=namespace)
    async for event in client["configmaps"].watch(namespace=namespace, resource_version="0"):
        assert (event.type, event.object["metadata"]["name"]) == ("ADDED", "z1")
        break


@pytest.mark.parametrize(
    ("content_type", "body", "code", "reason"),
    [
        ("application/json", b'{"metadata": {"name": ', 400, "BadRequest"),
        ("application/json", b'["a list"]', 400, "BadRequest"),
        ("application/json", b'{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "k"}}',
         400, "BadRequest"),
        ("text/csv", b"a,b", 415, "UnsupportedMediaType"),
        ("application/vnd.kubernetes.protobuf", b"k8s\x00\xff\xff", 400, "BadRequest"),
        ("application/json", b'{"metadata": {"name": "Not_Valid"}}', 422, "Invalid"),
    ],
    ids=["malformed-json", "not-an-object", "wrong-kind", "unsupported-media",
         "malformed-protobuf", "invalid-name"],
)
async def test_bad_input_is_a_status_and_changes_nothing(
    http: aiohttp.ClientSession, client: APIClient, namespace: str,
    content_type: str, body: bytes, code: int, reason: str,
) -> None:
    before = await client["configmaps"].list(namespace=namespace)
    async with http.post(f"/api/v1/namespaces/{namespace}/configmaps", data=body,
                         headers={"Content-Type": content_type}) as response:
        status = await response.json()
    assert response.status == code
    assert (status["kind"], status["status"], status["reason"], status["code"]) == (
        "Status", "Failure", reason, code)
    assert status["message"]
    after = await client["configmaps"].list(namespace=namespace)
    assert after.items == before.items


async def test_oversize_body_is_rejected(http: aiohttp.ClientSession, namespace: str) -> None:
    body = b'{"metadata": {"name": "big"}, "data": {"x": "' + b"a" * (3 * 1024 * 1024) + b'"}}'
    async with http.post(f"/api/v1/namespaces/{namespace}/configmaps", data=body,
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 413
        assert (await response.json())["reason"] == "RequestEntityTooLarge"


async def test_unknown_resource_is_not_found(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v1/widgets") as response:
        assert response.status == 404
        assert (await response.json())["reason"] == "NotFound"


async def test_no_credentials_is_unauthorized(api_server) -> None:  # type: ignore[no-untyped-def]
    url = api_server.config.url
    connector = aiohttp.TCPConnector(ssl=False)
    async with aiohttp.ClientSession(connector=connector) as anonymous:
        async with anonymous.get(f"{url}/api/v1/namespaces") as response:
            assert response.status == 401
        async with anonymous.get(f"{url}/readyz") as response:
            assert response.status == 200
        async with anonymous.get(f"{url}/version") as response:
            assert (await response.json())["gitVersion"].endswith("pilothouse-0.1.0")


async def test_watch_list_ends_initial_events_with_a_bookmark(
    http: aiohttp.ClientSession, client: APIClient, namespace: str
) -> None:
    await client["configmaps"].create(configmap("wl"), namespace=namespace)
    params = {"watch": "true", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
              "resourceVersionMatch": "NotOlderThan", "resourceVersion": "", "timeoutSeconds": "2"}
    async with http.get(f"/api/v1/namespaces/{namespace}/configmaps", params=params) as response:
        lines = [orjson_loads(line) async for line in response.content if line.strip()]
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in lines[:2]] == [
        ("ADDED", "wl"), ("BOOKMARK", None)]
    assert lines[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_table_and_partial_metadata_representations(
    http: aiohttp.ClientSession, client: APIClient, namespace: str
) -> None:
    await client["configmaps"].create(configmap("tb", a="1", b="2"), namespace=namespace)
    table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    async with http.get(f"/api/v1/namespaces/{namespace}/configmaps",
                        headers={"Accept": table_accept}) as response:
        table = await response.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["rows"][0]["cells"][:2] == ["tb", 2]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    meta_accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    async with http.get(f"/api/v1/namespaces/{namespace}/configmaps",
                        headers={"Accept": meta_accept}) as response:
        partial = await response.json()
    assert partial["kind"] == "PartialObjectMetadataList"
    assert "data" not in partial["items"][0]


async def test_discovery_documents(http: aiohttp.ClientSession) -> None:
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    async with http.get("/apis", headers={"Accept": aggregated + ",application/json"}) as r:
        assert r.headers["Content-Type"] == aggregated
        groups = {g["metadata"]["name"] for g in (await r.json())["items"]}
    assert {"apps", "batch", "rbac.authorization.k8s.io", "events.k8s.io"} <= groups
    async with http.get("/apis/apps/v1") as r:
        resources = {x["name"]: x for x in (await r.json())["resources"]}
    assert resources["deployments"]["shortNames"] == ["deploy"]
    assert resources["deployments/scale"]["group"] == "autoscaling"
    async with http.get("/openapi/v3") as r:
        paths = (await r.json())["paths"]
    async with http.get(paths["apis/apps/v1"]["serverRelativeURL"]) as r:
        document = await r.json()
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "fieldValidation" in {p["name"] for p in patch.get("parameters", [])} | {
        p["name"] for p in document["paths"][
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].get("parameters", [])}


def orjson_loads(line: bytes):  # type: ignore[no-untyped-def]
    import orjson

    return orjson.loads(line)


async def test_concurrent_patches_all_apply(client: APIClient, namespace: str) -> None:
    """Patches carry no resourceVersion: one that loses a race is retried, not refused."""
    await client["configmaps"].create(configmap("race"), namespace=namespace)
    await asyncio.gather(*(
        client["configmaps"].patch("race", {"data": {f"k{i}": "v"}}, namespace=namespace)
        for i in range(20)
    ))
    final = await client["configmaps"].get("race", namespace=namespace)
    assert set(final["data"]) == {f"k{i}" for i in range(20)}
