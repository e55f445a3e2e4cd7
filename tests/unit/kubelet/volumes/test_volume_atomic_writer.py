"""The atomic writer: files behind a swapped ..data link, updates, removals, modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pilothouse.kubelet.volumes.atomic_writer import (
    AtomicWriter,
    FileProjection,
    PayloadError,
    validate_path,
)


def files(**contents: str) -> dict[str, FileProjection]:
    return {path.replace("__", "/"): FileProjection(text.encode(), 0o644)
            for path, text in contents.items()}


def ts_dirs(target: Path) -> list[str]:
    return sorted(p.name for p in target.iterdir() if p.name.startswith("..") and p.is_dir()
                  and not p.is_symlink())


@pytest.fixture
def target(tmp_path: Path) -> Path:
    directory = tmp_path / "volume"
    directory.mkdir()
    return directory


def test_first_write_lays_out_links_into_a_timestamped_directory(target: Path) -> None:
    assert AtomicWriter(target).write(files(a="1", dir__b="2", dir__sub__c="3"))

    [ts_dir] = ts_dirs(target)
    assert ts_dir.startswith("..") and ts_dir.count("_") == 5
    assert os.readlink(target / "..data") == ts_dir
    assert os.readlink(target / "a") == "..data/a"
    assert os.readlink(target / "dir") == "..data/dir"
    assert (target / "dir" / "sub" / "c").read_text() == "3"
    assert sorted(os.listdir(target)) == sorted(["..data", ts_dir, "a", "dir"])
    assert stat.S_IMODE(os.stat(target / ts_dir).st_mode) == 0o755


def test_unchanged_payload_writes_nothing(target: Path) -> None:
    writer = AtomicWriter(target)
    writer.write(files(a="1"))
    before = os.readlink(target / "..data")

    assert not writer.write(files(a="1"))
    assert os.readlink(target / "..data") == before


def test_update_swaps_data_and_removes_the_old_directory(target: Path) -> None:
    writer = AtomicWriter(target)
    writer.write(files(a="1", b="2"))
    old = os.readlink(target / "..data")

    assert writer.write(files(a="changed", b="2"))

    new = os.readlink(target / "..data")
    assert new != old and ts_dirs(target) == [new]
    assert (target / "a").read_text() == "changed"
    assert not (target / "..data_tmp").exists()


def test_keys_no_longer_published_disappear(target: Path) -> None:
    writer = AtomicWriter(target)
    writer.write(files(a="1", gone="2", dir__x="3", dir__y="4"))

    assert writer.write(files(a="1", dir__x="3"))

    assert sorted(p for p in os.listdir(target) if not p.startswith("..")) == ["a", "dir"]
    assert os.listdir(target / "dir") == ["x"]


def test_removal_alone_is_an_update(target: Path) -> None:
    writer = AtomicWriter(target)
    writer.write(files(a="1", b="2"))

    assert writer.write(files(a="1"))
    assert not os.path.lexists(target / "b")


def test_modes_are_exact_whatever_the_umask(target: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        AtomicWriter(target).write({"open": FileProjection(b"x", 0o666),
                                    "secret": FileProjection(b"y", 0o400),
                                    "exec": FileProjection(b"z", 0o755)})
    finally:
        os.umask(old_umask)
    modes = {name: stat.S_IMODE(os.stat(target / name).st_mode)
             for name in ("open", "secret", "exec")}
    assert modes == {"open": 0o666, "secret": 0o400, "exec": 0o755}


def test_set_perms_runs_on_the_new_data_before_it_is_published(target: Path) -> None:
    seen = []

    def set_perms(ts_dir: str) -> None:
        seen.append((ts_dir, os.path.lexists(target / "..data")))

    AtomicWriter(target).write(files(a="1"), set_perms)

    assert seen == [(os.readlink(target / "..data"), False)]


def test_missing_links_are_recreated_without_rewriting(target: Path) -> None:
    writer = AtomicWriter(target)
    writer.write(files(a="1"))
    (target / "a").unlink()

    assert not writer.write(files(a="1"))
    assert (target / "a").read_text() == "1"


def test_stale_temporary_link_from_a_killed_writer_is_replaced(target: Path) -> None:
    os.symlink("..nowhere", target / "..data_tmp")

    AtomicWriter(target).write(files(a="1"))

    assert (target / "a").read_text() == "1"
    assert not os.path.lexists(target / "..data_tmp")


def test_invalid_payload_changes_nothing(target: Path) -> None:
    writer = AtomicWriter(target)
    writer.write(files(a="1"))
    before = sorted(os.listdir(target))

    with pytest.raises(PayloadError):
        writer.write({"a": FileProjection(b"2", 0o644), "../escape": FileProjection(b"", 0o644)})
    assert sorted(os.listdir(target)) == before


def test_failed_write_leaves_the_published_version(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = AtomicWriter(target)
    writer.write(files(a="1"))
    published = os.readlink(target / "..data")

    def broken(ts_dir: str) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        writer.write(files(a="2"), broken)
    assert os.readlink(target / "..data") == published
    assert ts_dirs(target) == [published]
    assert (target / "a").read_text() == "1"


@pytest.mark.parametrize(("path", "message"), [
    ("", 'invalid path: must not be empty: ""'),
    ("/abs", "invalid path: must be relative path: /abs"),
    ("a/../b", "invalid path: must not contain '..': a/../b"),
    ("..data", "invalid path: must not start with '..': ..data"),
    ("..", "invalid path: must not contain '..': .."),
    ("a" * 256, "invalid path: filenames must be less than or equal to 255 characters"),
    ("a/" * 2049, "invalid path: must be less than or equal to 4096 characters"),
], ids=["empty", "absolute", "backstep", "reserved", "dotdot", "long-name", "long-path"])
def test_paths_are_validated_as_upstream(path: str, message: str) -> None:
    with pytest.raises(PayloadError, match="^" + message.replace(".", r"\.") + "$"):
        validate_path(path)


def test_dotted_names_that_are_not_reserved_are_allowed() -> None:
    validate_path(".hidden")
    validate_path("a/..b")
