"""Helpers of the streaming tests: pods for the duration of a test, polling, kubectl running
in the background."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from cluster import ServerProcess, kubectl_binary
from streaming_node import PodContainer, StreamingNode

T = TypeVar("T")

SLEEP = ["sleep", "3600"]


@contextmanager
def running_pod(
    node: StreamingNode, name: str, containers: list[PodContainer], *, previous: dict[str, list[str]] | None = None
) -> Iterator[dict[str, Any]]:
    pod = node.run_pod(name, containers, previous=previous)
    try:
        yield pod
    finally:
        node.delete_pod(pod)


def poll(condition: Callable[[], T], timeout: float = 30.0) -> T:
    """The first true result of ``condition``, tried every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def kubectl_process(server: ServerProcess, version: str, *args: str) -> subprocess.Popen[str]:
    """kubectl started in the background, its output readable line by line."""
    env = {"KUBECONFIG": str(server.kubeconfig), "PATH": "/usr/bin:/bin",
           "KUBECACHEDIR": str(server.data_dir.parent / f"kube-cache-{version}")}
    return subprocess.Popen([kubectl_binary(version), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
