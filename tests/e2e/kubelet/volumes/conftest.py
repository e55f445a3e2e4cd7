"""Fixtures of the volume end-to-end tests: real mounts, an API server in this process and,
for the container tests, the real runtime.

Everything a test creates lives below its ``tmp_path``; after each test every pod's volumes
are torn down and the test fails if any mount is left below that directory.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))

from volume_e2e import mounts_below  # noqa: E402

from pilothouse.apiserver.server import APIServer, ServerConfig  # noqa: E402
from pilothouse.client import APIClient, ClientConfig  # noqa: E402
from pilothouse.kubelet.volumes import VolumeManager  # noqa: E402
from pilothouse.runtime.images.busybox import ensure_busybox_image  # noqa: E402
from pilothouse.runtime.images.snapshots import Snapshotter  # noqa: E402
from pilothouse.runtime.images.store import ImageStore  # noqa: E402
from pilothouse.runtime.oci.cgroups import Cgroups, detect  # noqa: E402
from pilothouse.runtime.oci.context import RuntimeSettings  # noqa: E402
from pilothouse.runtime.oci.runtime import LocalRuntime  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.root)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root (mounts, containers)"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[APIClient]:
    data_dir = tmp_path_factory.mktemp("apiserver") / "data"
    server = APIServer(ServerConfig(data_dir=data_dir, port=_free_port(),
                                   datastore_endpoint="memory://"))
    await server.start()
    try:
        async with APIClient(ClientConfig.from_kubeconfig(data_dir / "admin.kubeconfig")) as api:
            yield api
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def namespace(client: APIClient) -> str:
    name = f"vol-{uuid.uuid4().hex[:8]}"
    await client["namespaces"].create({"metadata": {"name": name}})
    return name


@pytest_asyncio.fixture(loop_scope="module")
async def manager(tmp_path: Path, client: APIClient) -> AsyncIterator[VolumeManager]:
    volumes = VolumeManager(tmp_path / "pods", client=client,
                            allocatable=lambda: {"cpu": "2", "memory": "1Gi"})
    try:
        yield volumes
    finally:
        for uid in volumes.pods_on_disk():
            await volumes.teardown(uid)
        assert mounts_below(tmp_path) == []


@pytest.fixture(scope="session")
def image_store(tmp_path_factory: pytest.TempPathFactory) -> ImageStore:
    store = ImageStore(tmp_path_factory.mktemp("volume-images"))
    ensure_busybox_image(store)
    return store


@pytest_asyncio.fixture(loop_scope="module")
async def runtime(tmp_path: Path, image_store: ImageStore,
                  manager: VolumeManager) -> AsyncIterator[LocalRuntime]:
    """Torn down before ``manager``: containers go first, then their volumes."""
    cgroup_parent = f"/pilothouse-test-{secrets.token_hex(6)}"
    root = tmp_path / "runtime"
    local = LocalRuntime(RuntimeSettings(root=root, cgroup_parent=cgroup_parent),
                         images=image_store, snapshots=Snapshotter(root / "snapshots", image_store))
    try:
        yield local
    finally:
        await local.remove_all()
        assert mounts_below(root) == []
        assert not Cgroups(detect()).exists(cgroup_parent)
