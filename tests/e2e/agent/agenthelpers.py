"""Helpers of the agent end-to-end tests: pilothouse processes (by PID), kubectl, polling,
and removing what a node leaves on the machine once it is gone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pilothouse.kubelet.config import KubeletConfig
from pilothouse.runtime.images.snapshots import Snapshotter
from pilothouse.runtime.images.store import ImageStore
from pilothouse.runtime.oci.cgroups import Cgroups, detect
from pilothouse.runtime.oci.context import RuntimeSettings
from pilothouse.runtime.oci.runtime import LocalRuntime

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).parent
NODES_CGROUP = "/pilothouse-nodes"
T = TypeVar("T")


class Process:
    """A pilothouse command run for a test; stopped by PID, its output kept in a log."""

    def __init__(self, argv: list[str], log_path: Path):
        self.argv = argv
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=REPO)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not exit in time."""
        self._signal(signal.SIGTERM)

    def crash(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if not self.running():
            return
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-6000:]
        except OSError:
            return ""


def pilothouse(*args: str) -> list[str]:
    return [sys.executable, "-m", "pilothouse.cli.main", *args]


def kubectl(kubeconfig: Path, *args: str, check: bool = True,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=60,
                            input=stdin, env=dict(os.environ, KUBECONFIG=str(kubeconfig)))
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result


def kubectl_json(kubeconfig: Path, *args: str) -> Any:
    result = kubectl(kubeconfig, *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


async def eventually(probe: Callable[[], T | None], *, timeout: float = 60.0,
                     what: str = "the condition", logs: Callable[[], str] = str) -> T:
    """Polls ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await asyncio.to_thread(probe)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s\n{logs()}")
        await asyncio.sleep(0.2)


def condition(node: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == kind)


async def remove_node_runtime(config: KubeletConfig) -> None:
    """Removes every container and sandbox of a stopped node, and its cgroups. The pod
    network is not unplugged here: the node's namespace (or, for the host node, its
    network teardown) takes it away."""
    store = ImageStore(config.images_root)
    runtime = LocalRuntime(
        RuntimeSettings(root=config.runtime_root, cgroup_parent=config.pods_cgroup_parent),
        images=store, snapshots=Snapshotter(config.runtime_root / "snapshots", store),
    )
    await runtime.remove_all()
    cgroups = Cgroups(detect())
    if cgroups.exists(NODES_CGROUP) and not cgroups.children(NODES_CGROUP):
        await asyncio.to_thread(cgroups.remove, NODES_CGROUP)


def cgroup_exists(path: str) -> bool:
    return Cgroups(detect()).exists(path)


def processes_in(netns: str) -> list[int]:
    """PIDs of processes whose network namespace is ``netns`` (from ``ip netns pids``)."""
    result = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return [int(pid) for pid in result.stdout.split()]


def link_exists(name: str, netns: str | None = None) -> bool:
    argv = ["ip", *(["-n", netns] if netns else []), "link", "show", name]
    return subprocess.run(argv, capture_output=True).returncode == 0
