"""Fixtures of the runtime end-to-end tests: a real LocalRuntime on a private root.

Every test gets its own runtime root and cgroup parent (``/pilothouse-test-<random>``), so
tests and helpers running at the same time never share state. After each test everything is
removed, also when it failed, and the test fails if anything is left: a mount below its
directory, a cgroup, or a process of its monitors.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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
                item.add_marker(pytest.mark.skip(reason="needs root (namespaces, cgroups, mounts)"))


@pytest.fixture(scope="session")
def image_store(tmp_path_factory: pytest.TempPathFactory) -> ImageStore:
    store = ImageStore(tmp_path_factory.mktemp("runtime-images"))
    ensure_busybox_image(store)
    return store


@pytest.fixture
def cgroup_parent() -> str:
    return f"/pilothouse-test-{secrets.token_hex(6)}"


@pytest.fixture
async def runtime(tmp_path: Path, image_store: ImageStore, cgroup_parent: str) -> AsyncIterator[LocalRuntime]:
    """A runtime on crun (or runc, auto-detected), or on $PILOTHOUSE_OCI_RUNTIME."""
    local = open_runtime(
        tmp_path / "runtime", image_store, cgroup_parent, oci_runtime=os.environ.get("PILOTHOUSE_OCI_RUNTIME")
    )
    try:
        yield local
    finally:
        await local.remove_all()
        assert_nothing_left(tmp_path, cgroup_parent)


def open_runtime(root: Path, store: ImageStore, cgroup_parent: str, **settings: object) -> LocalRuntime:
    return LocalRuntime(
        RuntimeSettings(root=root, cgroup_parent=cgroup_parent, **settings),  # type: ignore[arg-type]
        images=store,
        snapshots=Snapshotter(root / "snapshots", store),
    )


def assert_nothing_left(directory: Path, cgroup_parent: str) -> None:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    assert [m for m in mounts if m.startswith(str(directory))] == []
    assert not Cgroups(detect()).exists(cgroup_parent)
