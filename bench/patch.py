"""Write-path transformation benchmark: prints JSON (microseconds per call, median of runs).

Measures, on a small ConfigMap and a typical Deployment (two containers with ports, env,
resources, probes and volumes):

- field validation (``check_fields``, Strict) — targets: ConfigMap < 100 us, Deployment < 1 ms;
- a JSON patch, a merge patch and a strategic merge patch like kubectl's;
- managed fields on create and on an update (``FieldManager.update``);
- server-side apply of the whole Deployment onto its live object (``FieldManager.apply``).

Usage: python bench/patch.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from pilothouse.api.fieldvalidation import check_fields
from pilothouse.api.patch import (
    FieldManager,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from pilothouse.api.schema import Schemas

NOW = "2024-05-01T10:00:00Z"


def configmap() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default", "labels": {"app": "web"}},
        "data": {"mode": "production", "level": "info", "port": "8080"},
    }


def container(name: str, image: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": port, "protocol": "TCP", "name": "http"}],
        "env": [{"name": "MODE", "value": "production"}, {"name": "LEVEL", "value": "info"}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 5},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        container("web", "nginx:1.25", 80),
                        container("metrics", "exporter:1.0", 9100),
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


def timed(call: Callable[[], Any], runs: int) -> float:
    """Median microseconds per call over ``runs`` batches."""
    batch = 50
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return round(statistics.median(samples), 1)


def copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs

    schemas = Schemas.load()
    cm_schema = schemas.for_kind("", "v1", "ConfigMap")
    dep_schema = schemas.for_kind("apps", "v1", "Deployment")
    assert cm_schema is not None and dep_schema is not None
    manager = FieldManager()
    cm, dep = configmap(), deployment()
    created = manager.update(
        None, dep, manager="kubectl-create", api_version="apps/v1", schema=dep_schema, now=NOW
    )
    created["metadata"]["uid"] = "uid"
    scaled = copy(created)
    scaled["spec"]["replicas"] = 5
    applied = manager.apply(
        None,
        dep,
        manager="kubectl",
        force=False,
        api_version="apps/v1",
        schema=dep_schema,
        now=NOW,
    )
    applied["metadata"]["uid"] = "uid"
    new_image = copy(dep)
    new_image["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    smp = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "metrics"}],
                    "containers": [{"name": "web", "image": "nginx:1.26"}],
                }
            }
        }
    }

    results = {
        "check_fields_configmap_us": timed(
            lambda: check_fields(copy(cm), cm_schema, mode="Strict"), runs
        ),
        "check_fields_deployment_us": timed(
            lambda: check_fields(copy(dep), dep_schema, mode="Strict"), runs
        ),
        "copy_deployment_us (included above)": timed(lambda: copy(dep), runs),
        "json_patch_deployment_us": timed(
            lambda: apply_json_patch(
                dep, [{"op": "replace", "path": "/spec/replicas", "value": 4}]
            ),
            runs,
        ),
        "merge_patch_deployment_us": timed(
            lambda: apply_merge_patch(dep, {"metadata": {"labels": {"tier": "front"}}}), runs
        ),
        "strategic_merge_patch_deployment_us": timed(
            lambda: apply_strategic_merge_patch(dep, smp, dep_schema), runs
        ),
        "managed_fields_create_configmap_us": timed(
            lambda: manager.update(
                None, cm, manager="kubectl-create", api_version="v1", schema=cm_schema, now=NOW
            ),
            runs,
        ),
        "managed_fields_update_deployment_us": timed(
            lambda: manager.update(
                created,
                scaled,
                manager="kube-controller-manager",
                api_version="apps/v1",
                schema=dep_schema,
                now=NOW,
            ),
            runs,
        ),
        "server_side_apply_deployment_us": timed(
            lambda: manager.apply(
                applied,
                new_image,
                manager="kubectl",
                force=False,
                api_version="apps/v1",
                schema=dep_schema,
                now=NOW,
            ),
            runs,
        ),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
