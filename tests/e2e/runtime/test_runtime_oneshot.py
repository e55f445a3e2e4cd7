"""run_in_rootfs: one process in a throwaway container, as a Dockerfile's RUN step needs."""

# ruff: noqa: ASYNC240 (tests read small files on the event loop; nothing else runs on it)

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import assert_nothing_left

from pilothouse.runtime.images.snapshots import Snapshotter
from pilothouse.runtime.images.store import ImageStore
from pilothouse.runtime.oci.cgroups import Cgroups, detect
from pilothouse.runtime.oci.oneshot import run_in_rootfs


@pytest.fixture
def cgroup_parent(tmp_path: Path) -> Iterator[str]:
    parent = f"/pilothouse-test-{secrets.token_hex(6)}"
    yield parent
    Cgroups(detect()).remove(parent)
    assert_nothing_left(tmp_path, parent)


@pytest.fixture
def snapshots(tmp_path: Path, image_store: ImageStore, cgroup_parent: str) -> Iterator[Snapshotter]:
    """Removed before ``cgroup_parent`` checks that nothing is left."""
    snapshotter = Snapshotter(tmp_path / "snapshots", image_store)
    yield snapshotter
    for key in snapshotter.list():
        snapshotter.remove(key)


async def test_a_command_runs_in_the_rootfs_and_its_changes_stay_there(
    snapshots: Snapshotter, image_store: ImageStore, tmp_path: Path, cgroup_parent: str
) -> None:
    image = image_store.resolve("busybox")
    rootfs = snapshots.prepare("build", image)
    output = tmp_path / "output"

    with output.open("wb") as sink:
        code = await run_in_rootfs(
            rootfs,
            ["sh", "-c", "echo built > /tmp/made; hostname; id -u; ls /sys/class/net; exit 3"],
            env=["PATH=/bin"],
            user="nobody",
            network="none",
            stdout=sink,
            cgroup_parent=cgroup_parent,
        )

    assert code == 3
    assert output.read_text() == "buildkitsandbox\n65534\nlo\n"
    upper = snapshots.upper_dir("build")
    assert sorted(_entries(upper)) == ["etc", "tmp", "tmp/made"]  # no /proc, /etc/hosts... left behind
    assert (upper / "etc").stat().st_mtime_ns == (image_store.layer_dirs(image)[0] / "etc").stat().st_mtime_ns


def _entries(directory: Path) -> list[str]:
    return [os.path.relpath(os.path.join(d, n), directory) for d, ds, fs in os.walk(directory) for n in ds + fs]
