"""The whole single-node cluster as `make run` starts it (server with its own node), a pod
with a host port on it, then `pilothouse killall` after the server stops: nothing is left on
the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cluster import REPO, ServerProcess, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="runs real containers (root)"),
]

# Test-only ranges inside what ../shared/tools/egress-guard covers, away from other tests.
CLUSTER_CIDR = "10.244.192.0/20"
SERVICE_CIDR = "10.112.0.0/16"
BRIDGE = "phkillall0"


def _nft_tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def _routes() -> str:
    return subprocess.run(["ip", "route"], capture_output=True, text=True).stdout


def test_killall_removes_what_the_node_left(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data", agent=True,
        extra_args=("--cluster-cidr", CLUSTER_CIDR, "--service-cidr", SERVICE_CIDR,
                    "--pod-bridge", BRIDGE, "--kubelet-port", str(free_port())),
    )
    server.start()
    try:
        node = json.loads(server.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]
        name = node["metadata"]["name"]
        host_port = free_port()
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "held"},
            "spec": {"nodeName": name, "containers": [{
                "name": "c", "image": "busybox", "command": ["sleep", "3600"],
                "ports": [{"containerPort": 80, "hostPort": host_port}]}]},
        }
        server.kubectl("apply", "-f", "-", input=json.dumps(pod))
        server.kubectl("wait", "--for=condition=Ready", "pod/held", "--timeout=90s",
                       timeout=100)
    finally:
        server.stop()
    # The agent leaves pods running when it stops (a restarted one adopts them).
    assert BRIDGE in subprocess.run(["ip", "link"], capture_output=True, text=True).stdout
    result = subprocess.run(
        [sys.executable, "-m", "pilothouse.cli.main", "killall", "--data-dir",
         str(server.data_dir)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert BRIDGE not in subprocess.run(["ip", "link"], capture_output=True, text=True).stdout
    routes = _routes()
    assert CLUSTER_CIDR not in routes and SERVICE_CIDR not in routes and "10.244.192." not in routes
    assert f"pilothouse_{BRIDGE}" not in _nft_tables()
    assert "table ip nat" not in _nft_tables() or "CNI-HOSTPORT" not in subprocess.run(
        ["nft", "list", "table", "ip", "nat"], capture_output=True, text=True).stdout
    runtime = server.data_dir / "agent" / "runtime" / "containers"
    assert not runtime.exists() or not any(runtime.iterdir())
    assert not list(Path("/sys/fs/cgroup").glob(f"**/pilothouse-nodes/{name}"))
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(server.data_dir) not in mounts
