"""A container's environment on a real node: every source, expansion, service variables,
command and args."""

from __future__ import annotations

import base64

from kubelet_e2e import container, create_pod, exec_in, running, wait_pod


def _env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


async def test_every_env_source(node) -> None:  # type: ignore[no-untyped-def]
    ns = node.namespace
    await node.client["configmaps"].create({"metadata": {"name": "settings", "namespace": ns}, "data": {"A": "1", "B": "two"}})
    secret = base64.b64encode(b"s3cret").decode()
    await node.client["secrets"].create({"metadata": {"name": "creds", "namespace": ns}, "data": {"pw": secret}})
    service = await node.client["services"].create({
        "metadata": {"name": "my-svc", "namespace": ns},
        "spec": {"ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]},
    })
    env = [
        {"name": "LITERAL", "value": "x"},
        {"name": "EXPANDED", "value": "$(LITERAL)-y-$(MISSING)"},
        {"name": "ESCAPED", "value": "$$(LITERAL)"},
        {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "B"}}},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}},
        {"name": "OPTIONAL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "none", "optional": True}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "TIER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}}},
        {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
        {"name": "CPU_MILLIS", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
        {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory", "divisor": "1Mi"}}},
        {"name": "MEM_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
    ]
    app = container(
        "app", "sh", "-c", "echo $(LITERAL) $(FROM_CM) > /tmp/arg; exec sleep 3600",
        env=env, envFrom=[{"configMapRef": {"name": "settings"}, "prefix": "CM_"}],
        resources={"limits": {"cpu": "250m"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
    )
    body = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "env", "namespace": ns, "labels": {"tier": "web"}, "annotations": {"note": "hi"}},
        "spec": {"nodeName": node.name, "containers": [app], "terminationGracePeriodSeconds": 2},
    }
    await node.client["pods"].create(body)
    pod = await wait_pod(node, "env", running)
    values = _env(await exec_in(node, pod, "app", "env"))
    expected = {
        "LITERAL": "x", "EXPANDED": "x-y-$(MISSING)", "ESCAPED": "$(LITERAL)", "FROM_CM": "two",
        "FROM_SECRET": "s3cret", "POD_NAME": "env", "POD_NS": ns, "POD_UID": pod["metadata"]["uid"],
        "NODE": node.name, "SA": "default", "POD_IP": pod["status"]["podIP"], "HOST_IP": pod["status"]["hostIP"],
        "TIER": "web", "NOTE": "hi", "CPU_MILLIS": "250", "MEM_MI": "64", "MEM_LIMIT": str(4 * 1024**3),
        "CM_A": "1", "CM_B": "two",
    }
    assert {k: values.get(k) for k in expected} == expected
    assert "OPTIONAL" not in values
    ip = service["spec"]["clusterIP"]
    assert values["MY_SVC_SERVICE_HOST"] == ip
    assert values["MY_SVC_SERVICE_PORT"] == "80"
    assert values["MY_SVC_SERVICE_PORT_HTTP"] == "80"
    assert values["MY_SVC_PORT"] == f"tcp://{ip}:80"
    assert values["MY_SVC_PORT_53_UDP"] == f"udp://{ip}:53"
    assert values["MY_SVC_PORT_53_UDP_PROTO"] == "udp"
    assert (await exec_in(node, pod, "app", "cat", "/tmp/arg")) == "x two\n"


async def test_service_links_can_be_turned_off(node) -> None:  # type: ignore[no-untyped-def]
    await node.client["services"].create({
        "metadata": {"name": "other", "namespace": node.namespace}, "spec": {"ports": [{"port": 81}]},
    })
    await create_pod(node, "nolinks", container("app", "sleep", "3600"), enableServiceLinks=False)
    pod = await wait_pod(node, "nolinks", running)
    values = _env(await exec_in(node, pod, "app", "env"))
    assert "OTHER_SERVICE_HOST" not in values


async def test_args_replace_the_image_cmd(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "args", container("app", "sh", args=["-c", "echo $0 $1 > /tmp/out; exec sleep 3600", "a"]))
    pod = await wait_pod(node, "args", running)
    assert await exec_in(node, pod, "app", "cat", "/tmp/out") == "a\n"
