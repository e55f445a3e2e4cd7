"""Environment variables and $(VAR) expansion, as the kubelet resolves them."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kubelet_builders import container, pod

from pilothouse.kubelet.envvars import (
    EnvironmentContext,
    field_value,
    make_environment,
    resource_value,
    service_environment,
)
from pilothouse.kubelet.errors import ConfigError
from pilothouse.kubelet.expansion import (
    expand,
    expand_command_and_args,
    expand_with_static_env,
    mapping_for,
)

Obj = dict[str, Any]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "a"),
        ("x-$(A)-$(B)", "x-a-b"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$a"),
        ("$A", "$A"),
        ("$(A", "$(A"),
        ("$", "$"),
        ("a$", "a$"),
        ("$()", "$()"),
        ("$(A)$(A)", "aa"),
        ("$$", "$"),
    ],
)
def test_expansion(text: str, expected: str) -> None:
    assert expand(text, mapping_for({"A": "a", "B": "b"})) == expected


def test_command_and_args_expand_against_the_final_environment() -> None:
    command, args = expand_command_and_args(["echo", "$(X)"], ["$(Y)", "$$(X)"], {"X": "1", "Y": "2"})
    assert command == ["echo", "1"] and args == ["2", "$(X)"]


def test_probe_commands_see_only_literal_values() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert expand_with_static_env(["$(A)", "$(B)"], env) == ["1", "$(B)"]


class Reader:
    def __init__(self, **objects: Obj):
        self.objects = objects

    async def config_map(self, namespace: str, name: str) -> Obj | None:
        return self.objects.get(f"cm/{name}")

    async def secret(self, namespace: str, name: str) -> Obj | None:
        return self.objects.get(f"secret/{name}")


def context(**objects: Obj) -> EnvironmentContext:
    return EnvironmentContext(
        reader=Reader(**objects), service_env={"SVC_SERVICE_HOST": "10.96.0.5", "LITERAL": "from-service"},
        pod_ips=("10.244.0.7",), host_ips=("192.0.2.10",), node_allocatable={"cpu": "2", "memory": "4Gi"},
    )


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_sources_and_order() -> None:
    objects = {
        "cm/settings": {"data": {"A": "1", "LITERAL": "from-cm"}},
        "secret/creds": {"data": {"pw": b64("s3cret")}},
    }
    c = container(
        "app",
        envFrom=[{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "creds"}, "prefix": "S_"}],
        env=[
            {"name": "LITERAL", "value": "$(A)-$(SVC_SERVICE_HOST)"},
            {"name": "EMPTY"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}},
            {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "none", "key": "x", "optional": True}}},
        ],
    )
    env = await make_environment(pod(c), c, context(**objects))
    assert env == [
        ("A", "1"), ("LITERAL", "1-10.96.0.5"), ("S_pw", "s3cret"), ("EMPTY", ""), ("PW", "s3cret"),
        ("SVC_SERVICE_HOST", "10.96.0.5"),
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "x"}}}], 'configmap "absent" not found'),
        ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "x"}}}], 'secret "absent" not found'),
        ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "x"}}}],
         "couldn't find key x in ConfigMap default/settings"),
        ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "x"}}}],
         "couldn't find key x in Secret default/creds"),
    ],
)
async def test_missing_sources_fail_with_upstream_messages(env: list[Obj], message: str) -> None:
    c = container("app", env=env)
    objects = {"cm/settings": {"data": {}}, "secret/creds": {"data": {}}}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        await make_environment(pod(c), c, context(**objects))


async def test_missing_optional_env_from_is_skipped() -> None:
    c = container("app", envFrom=[{"configMapRef": {"name": "absent", "optional": True}}])
    assert await make_environment(pod(c), c, context()) == [
        ("LITERAL", "from-service"), ("SVC_SERVICE_HOST", "10.96.0.5"),
    ]


def test_field_values() -> None:
    p = pod(container("app"), serviceAccountName="robot")
    p["metadata"]["labels"] = {"app": "web", "tier": "front"}
    p["metadata"]["annotations"] = {"note": 'say "hi"'}
    ips = ("10.244.0.7",)
    hosts = ("192.0.2.10",)
    assert field_value(p, "metadata.name", ips, hosts) == "web"
    assert field_value(p, "metadata.uid", ips, hosts) == "uid-1"
    assert field_value(p, "spec.nodeName", ips, hosts) == "node-1"
    assert field_value(p, "spec.serviceAccountName", ips, hosts) == "robot"
    assert field_value(p, "status.podIP", ips, hosts) == "10.244.0.7"
    assert field_value(p, "status.podIPs", ips, hosts) == "10.244.0.7"
    assert field_value(p, "status.hostIP", ips, hosts) == "192.0.2.10"
    assert field_value(p, "metadata.labels['tier']", ips, hosts) == "front"
    assert field_value(p, "metadata.labels['absent']", ips, hosts) == ""
    assert field_value(p, "metadata.labels", ips, hosts) == 'app="web"\ntier="front"'
    assert field_value(p, "metadata.annotations['note']", ips, hosts) == 'say "hi"'
    with pytest.raises(ConfigError, match="unsupported fieldPath: spec.bogus"):
        field_value(p, "spec.bogus", ips, hosts)


@pytest.mark.parametrize(
    ("resource", "divisor", "expected"),
    [
        ("limits.cpu", None, "1"),  # 250m rounds up to 1 core
        ("limits.cpu", "1m", "250"),
        ("requests.cpu", "1m", "100"),
        ("requests.memory", "1Mi", "64"),
        ("limits.memory", None, str(4 * 2**30)),  # no limit: the node's allocatable
        ("limits.memory", "1Gi", "4"),
        ("requests.ephemeral-storage", None, "0"),
    ],
)
def test_resource_values(resource: str, divisor: str | None, expected: str) -> None:
    c = container("app", resources={"limits": {"cpu": "250m"}, "requests": {"cpu": "100m", "memory": "64Mi"}})
    ref: Obj = {"resource": resource}
    if divisor:
        ref["divisor"] = divisor
    assert resource_value(pod(c), c, ref, {"cpu": "2", "memory": "4Gi"}) == expected


def service(name: str, namespace: str, ip: str, *ports: Obj) -> Obj:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"clusterIP": ip, "ports": list(ports)}}


def test_service_environment() -> None:
    services = [
        service("kubernetes", "default", "10.96.0.1", {"name": "https", "port": 443}),
        service("web-app", "shop", "10.96.0.20", {"name": "http", "port": 80}, {"port": 53, "protocol": "UDP"}),
        service("headless", "shop", "None", {"port": 80}),
        service("elsewhere", "other", "10.96.0.30", {"port": 80}),
    ]
    env = service_environment(services, "shop", True)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["WEB_APP_SERVICE_HOST"] == "10.96.0.20"
    assert env["WEB_APP_SERVICE_PORT"] == "80"
    assert env["WEB_APP_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_APP_PORT"] == "tcp://10.96.0.20:80"
    assert env["WEB_APP_PORT_80_TCP"] == "tcp://10.96.0.20:80"
    assert env["WEB_APP_PORT_80_TCP_PROTO"] == "tcp"
    assert env["WEB_APP_PORT_80_TCP_PORT"] == "80"
    assert env["WEB_APP_PORT_80_TCP_ADDR"] == "10.96.0.20"
    assert env["WEB_APP_PORT_53_UDP"] == "udp://10.96.0.20:53"
    assert not any(k.startswith(("HEADLESS", "ELSEWHERE")) for k in env)
    # Without service links only the kubernetes service remains.
    assert {k.split("_")[0] for k in service_environment(services, "shop", False)} == {"KUBERNETES"}
