"""Fixtures of the streaming tests: a real API server, and a node made of the real runtime and
the kubelet's HTTPS server (no kubelet: the tests make pods the way it would).

Everything they start is removed after the module, also when a test failed: containers,
sandboxes, their cgroups and mounts (checked), kubectl processes, the server process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cluster import ServerProcess  # noqa: E402
from streaming_node import StreamingNode  # noqa: E402

from pilothouse.runtime.images.busybox import ensure_busybox_image  # noqa: E402
from pilothouse.runtime.images.store import ImageStore  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.root)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root (containers)"))


@pytest.fixture(scope="module")
def core(api_client: Any) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def node(server: ServerProcess, core: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamingNode]:
    directory = tmp_path_factory.mktemp("node")
    images = ImageStore(directory / "images")
    ensure_busybox_image(images)
    streaming_node = StreamingNode(directory / "data", images, server, core)
    try:
        streaming_node.start()
        yield streaming_node
    finally:
        streaming_node.stop()
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        assert [m for m in mounts if m.startswith(str(directory))] == []
