"""The official kubernetes Python client and helm against a real server process, and
kubectl's handling of watches, bad input and server-side apply conflicts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from cluster import REPO, ServerProcess


def test_python_client_crud_watch_and_errors(server: ServerProcess, api_client) -> None:  # type: ignore[no-untyped-def]
    from kubernetes import client, watch

    v1 = client.CoreV1Api(api_client)
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py")))
    created = v1.create_namespaced_config_map(
        "py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="one"), data={"a": "1"}))
    events: list[tuple[str, str]] = []

    def follow() -> None:
        stream = watch.Watch().stream(
            v1.list_namespaced_config_map, "py",
            resource_version=created.metadata.resource_version, timeout_seconds=10)
        for event in stream:
            events.append((event["type"], event["object"].data.get("a", "")))
            if len(events) == 2:
                return

    watcher = threading.Thread(target=follow)
    watcher.start()
    time.sleep(0.3)
    v1.patch_namespaced_config_map("one", "py", {"data": {"a": "2"}})
    v1.delete_namespaced_config_map("one", "py")
    watcher.join(15)
    assert events == [("MODIFIED", "2"), ("DELETED", "2")]

    with pytest.raises(client.ApiException) as e:
        v1.read_namespaced_config_map("one", "py")
    assert e.value.status == 404
    assert json.loads(e.value.body)["reason"] == "NotFound"

    apps = client.AppsV1Api(api_client)
    deployment = {
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "w", "image": "nginx"}]}}},
    }
    apps.create_namespaced_deployment("py", deployment)
    scale = apps.read_namespaced_deployment_scale("web", "py")
    assert scale.spec.replicas == 2
    apps.patch_namespaced_deployment_scale("web", "py", {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("web", "py").spec.replicas == 4


def test_python_dynamic_client_uses_legacy_discovery(api_client) -> None:  # type: ignore[no-untyped-def]
    from kubernetes import dynamic

    dyn = dynamic.DynamicClient(api_client)
    services = dyn.resources.get(api_version="v1", kind="Service")
    names = [s.metadata.name for s in services.get(namespace="default").items]
    assert "kubernetes" in names
    leases = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    assert leases.namespaced


HELM = REPO / ".venv" / "bin" / "helm"


@pytest.mark.skipif(not HELM.exists(), reason="helm is installed by `make test` setup")
def test_helm_install_upgrade_rollback_uninstall(server: ServerProcess, tmp_path: Path) -> None:
    env = dict(os.environ, KUBECONFIG=str(server.kubeconfig), HELM_CACHE_HOME=str(tmp_path / "c"),
               HELM_CONFIG_HOME=str(tmp_path / "cfg"), HELM_DATA_HOME=str(tmp_path / "d"))

    def helm(*args: str) -> str:
        result = subprocess.run([str(HELM), *args], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    helm("create", "demo")
    helm("install", "rel", "./demo", "--namespace", "default")
    assert server.kubectl("get", "deploy", "rel-demo", "-o", "jsonpath={.spec.replicas}").stdout == "1"
    helm("upgrade", "rel", "./demo", "--set", "replicaCount=3")
    assert server.kubectl("get", "deploy", "rel-demo", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    helm("rollback", "rel", "1")
    assert server.kubectl("get", "deploy", "rel-demo", "-o", "jsonpath={.spec.replicas}").stdout == "1"
    history = helm("history", "rel")
    assert "Rollback to 1" in history
    releases = server.kubectl("get", "secrets", "-l", "owner=helm,name=rel", "-o", "name").stdout
    assert len(releases.split()) == 3
    helm("uninstall", "rel")
    leftover = server.kubectl("get", "deploy,svc,sa,secret", "-l",
                              "app.kubernetes.io/instance=rel", "-o", "name").stdout
    assert leftover.strip() == ""


def test_kubectl_watch_prints_changes(server: ServerProcess, kubectl_version: str) -> None:
    namespace = f"watch-{kubectl_version.replace('.', '')}"
    server.kubectl("create", "namespace", namespace, version=kubectl_version)
    env = dict(os.environ, KUBECONFIG=str(server.kubeconfig))
    from cluster import kubectl_binary

    watcher = subprocess.Popen(
        [kubectl_binary(kubectl_version), "get", "configmaps", "-n", namespace, "-w",
         "--output-watch-events"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)
        server.kubectl("create", "configmap", "watched", "-n", namespace, version=kubectl_version)
        server.kubectl("delete", "configmap", "watched", "-n", namespace, version=kubectl_version)
        lines = _read_lines_until(watcher, lambda text: "DELETED" in text, timeout=15)
    finally:
        watcher.terminate()
        watcher.wait()
    assert any("ADDED" in line and "watched" in line for line in lines)
    assert any("DELETED" in line and "watched" in line for line in lines)


def _read_lines_until(process: subprocess.Popen, done, timeout: float) -> list[str]:  # type: ignore[type-arg, no-untyped-def]
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if done("".join(lines)):
            break
    return lines


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}},
         'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"'),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "noimage"},
          "spec": {"containers": [{"name": "c"}]}},
         "spec.containers[0].image: Required value"),
        ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "badport"},
          "spec": {"ports": [{"port": 70000}]}},
         "spec.ports[0].port: Invalid value: 70000"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "strict"},
          "data": {"a": "b"}, "unknownField": 1},
         'unknown field "unknownField"'),
    ],
    ids=["invalid-name", "missing-image", "port-range", "unknown-field"],
)
def test_kubectl_reports_bad_input(server: ServerProcess, kubectl_version: str,
                                   manifest: dict, message: str) -> None:
    result = server.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest),
                            version=kubectl_version, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    name = manifest["metadata"]["name"]
    missing = server.kubectl("get", manifest["kind"].lower(), name, check=False,
                             version=kubectl_version)
    assert "NotFound" in missing.stderr


def test_server_side_apply_conflict_and_force(server: ServerProcess) -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
                "data": {"owner": "first"}}
    server.kubectl("apply", "--server-side", "--field-manager=first", "-f", "-",
                   input=yaml.safe_dump(manifest))
    manifest["data"]["owner"] = "second"
    conflict = server.kubectl("apply", "--server-side", "--field-manager=second", "-f", "-",
                              input=yaml.safe_dump(manifest), check=False)
    assert conflict.returncode != 0
    assert 'conflict with "first"' in conflict.stderr and ".data.owner" in conflict.stderr
    server.kubectl("apply", "--server-side", "--field-manager=second", "--force-conflicts",
                   "-f", "-", input=yaml.safe_dump(manifest))
    live = server.kubectl_json("get", "configmap", "ssa", "--show-managed-fields")
    assert live["data"]["owner"] == "second"
    managers = {m["manager"] for m in live["metadata"]["managedFields"]}
    assert "second" in managers


def test_pilothouse_kubectl_uses_the_admin_kubeconfig(server: ServerProcess) -> None:
    pilothouse = shutil.which("pilothouse", path=str(REPO / ".venv" / "bin"))
    assert pilothouse is not None
    result = subprocess.run(
        [pilothouse, "kubectl", "--data-dir", str(server.data_dir), "get", "ns", "-o", "name"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
    assert result.returncode == 0, result.stderr
    assert "namespace/kube-system" in result.stdout.split()


def test_kubectl_auth_can_i_and_whoami(server: ServerProcess) -> None:
    assert server.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    whoami = server.kubectl("auth", "whoami").stdout
    assert "admin" in whoami and "system:masters" in whoami
