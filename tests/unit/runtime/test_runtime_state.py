"""The runtime's on-disk records: what one store writes, every store reads, at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pilothouse.runtime.errors import NotFound
from pilothouse.runtime.interface import ContainerConfig, ContainerMetadata, ImageSpec
from pilothouse.runtime.oci.state import SETTLED, ContainerRecord, StateStore


def record(container_id: str, *, exit_code: int = 0) -> ContainerRecord:
    return ContainerRecord(
        id=container_id,
        sandbox_id="sandbox",
        config=ContainerConfig(metadata=ContainerMetadata(name="app"), image=ImageSpec(image="busybox")),
        image_ref="busybox",
        image_id="sha256:1",
        repo_digest="sha256:1",
        log_path="/dev/null",
        cgroup_path="/pod/c",
        snapshot_key=container_id,
        stop_signal=15,
        created_at=1,
        exit_code=exit_code,
    )


def age(path: Path) -> None:
    """Makes a record file look written long ago (as if by an earlier run)."""
    old = time.time_ns() - 10 * SETTLED
    os.utime(path, ns=(old, old))


def test_a_write_by_another_store_is_seen_at_once(tmp_path: Path):
    reader, writer = StateStore(tmp_path), StateStore(tmp_path)
    writer.save_container(record("c1", exit_code=1))
    assert reader.load_container("c1").exit_code == 1

    writer.save_container(record("c1", exit_code=2))  # same size, likely in the same clock tick
    assert reader.load_container("c1").exit_code == 2
    assert [r.exit_code for r in reader.list_containers()] == [2]


def test_a_settled_record_is_known_by_its_stamp_until_it_changes(tmp_path: Path):
    reader, writer = StateStore(tmp_path), StateStore(tmp_path)
    writer.save_container(record("c1", exit_code=1))
    age(tmp_path / "containers" / "c1" / "container.json")
    assert reader.load_container("c1").exit_code == 1
    assert reader.load_container("c1").exit_code == 1  # from the stamp this time

    writer.save_container(record("c1", exit_code=2))
    assert reader.load_container("c1").exit_code == 2


def test_reads_are_copies(tmp_path: Path):
    store = StateStore(tmp_path)
    store.save_container(record("c1"))
    loaded = store.load_container("c1")
    loaded.exit_code = 9
    assert store.load_container("c1").exit_code == 0
    assert store.list_containers()[0] is not store.list_containers()[0]


def test_deleted_records_are_gone_for_every_store(tmp_path: Path):
    reader, writer = StateStore(tmp_path), StateStore(tmp_path)
    writer.save_container(record("c1"))
    writer.save_container(record("c2"))
    assert sorted(r.id for r in reader.list_containers()) == ["c1", "c2"]

    writer.delete_container("c1")
    assert [r.id for r in reader.list_containers()] == ["c2"]
    with pytest.raises(NotFound):
        reader.load_container("c1")


def test_a_store_forgets_records_another_store_deleted(tmp_path: Path):
    reader, writer = StateStore(tmp_path), StateStore(tmp_path)
    for index in range(3):
        writer.save_container(record(f"c{index}"))
    assert len(reader.list_containers()) == 3

    for index in range(3):
        writer.delete_container(f"c{index}")
    assert reader.list_containers() == []
    assert reader._decoded == {}
