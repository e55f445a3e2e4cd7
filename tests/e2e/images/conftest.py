"""Fixtures of the image end-to-end tests: a private store, snapshots, loopback registries."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from registry_server import LoopbackRegistry, start_registry  # noqa: E402

from pilothouse.runtime.images.snapshots import Snapshotter  # noqa: E402
from pilothouse.runtime.images.store import ImageStore  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.root)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root (mounts, device nodes)"))


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


@pytest.fixture
def snapshotter(tmp_path: Path, store: ImageStore) -> Iterator[Snapshotter]:
    snapshots = Snapshotter(tmp_path / "snapshots", store)
    yield snapshots
    for key in snapshots.list():
        snapshots.remove(key)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LoopbackRegistry]:
    server = start_registry(tmp_path / "registry")
    yield server
    server.stop()
