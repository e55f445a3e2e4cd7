"""Overlay snapshots over shared image layers, and the local busybox image."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from pilothouse.runtime.images.busybox import create_busybox_image, ensure_busybox_image
from pilothouse.runtime.images.errors import ImageError, SnapshotError
from pilothouse.runtime.images.layer_tar import write_tree_layer
from pilothouse.runtime.images.mount import is_mounted
from pilothouse.runtime.images.snapshots import Snapshotter
from pilothouse.runtime.images.store import ImageStore


def sh(rootfs: Path, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chroot", str(rootfs), "/bin/sh", "-c", script], capture_output=True, text=True)


def test_busybox_image_is_deterministic_and_runs(store: ImageStore, tmp_path: Path, snapshotter: Snapshotter) -> None:
    image = ensure_busybox_image(store)
    assert image.repo_tags == ["docker.io/library/busybox:latest"]
    assert image.config["Cmd"] == ["sh"]
    other = create_busybox_image(ImageStore(tmp_path / "other"))
    assert (other.id, other.manifest_digest) == (image.id, image.manifest_digest)
    assert ensure_busybox_image(store) == image
    rootfs = snapshotter.prepare("bb", image)
    result = sh(rootfs, "id -u; stat -c %a /tmp; grep -c . /etc/passwd; ls /usr/bin/env")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "1777", "2", "/usr/bin/env"]


def test_busybox_binary_missing_is_a_clear_error(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="busybox-static"):
        create_busybox_image(store, binary=tmp_path / "no-busybox")


def test_writes_stay_in_the_snapshot(store: ImageStore, snapshotter: Snapshotter) -> None:
    image = ensure_busybox_image(store)
    layer = store.layer_dirs(image)[0]
    before = sorted(os.listdir(layer / "etc"))
    one = snapshotter.prepare("one", image)
    two = snapshotter.prepare("two", image)
    assert sh(one, "echo secret > /etc/mine && rm /etc/group && mkdir -p /var/new").returncode == 0
    assert (one / "etc/mine").read_text() == "secret\n"
    assert not (two / "etc/mine").exists()
    assert (two / "etc/group").exists()
    assert sorted(os.listdir(layer / "etc")) == before  # the image layer is untouched
    upper = snapshotter.upper_dir("one")
    assert stat.S_ISCHR((upper / "etc/group").lstat().st_mode)  # an overlay whiteout
    assert snapshotter.usage("one") == len("secret\n")
    assert snapshotter.usage("two") == 0
    buffer = io.BytesIO()
    write_tree_layer(upper, buffer, overlay_upper=True)
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        assert {"etc/mine", "etc/.wh.group", "var/new"} <= set(tar.getnames())


def test_prepare_and_remove_are_idempotent(store: ImageStore, snapshotter: Snapshotter) -> None:
    image = ensure_busybox_image(store)
    rootfs = snapshotter.prepare("c1", image)
    (rootfs / "kept").write_text("k")
    assert snapshotter.prepare("c1", image) == rootfs
    snapshotter.unmount("c1")  # as after a reboot
    assert not is_mounted(rootfs)
    assert snapshotter.prepare("c1", image) == rootfs
    assert (rootfs / "kept").read_text() == "k"
    assert snapshotter.list() == ["c1"]
    snapshotter.remove("c1")
    snapshotter.remove("c1")
    assert not is_mounted(rootfs) and not rootfs.exists()
    assert snapshotter.list() == []
    assert store.leases.list() == []
    assert store.layer_dirs(image)[0].exists()


def test_key_of_another_image_is_refused(store: ImageStore, snapshotter: Snapshotter, tmp_path: Path) -> None:
    image = ensure_busybox_image(store)
    snapshotter.prepare("c1", image)
    fake = store.get(image.id)
    object.__setattr__(fake, "id", "sha256:" + "f" * 64)
    with pytest.raises(SnapshotError, match="another image"):
        snapshotter.prepare("c1", fake)
    with pytest.raises(SnapshotError, match="invalid snapshot key"):
        snapshotter.prepare("../escape", image)


def test_failed_prepare_leaves_nothing(store: ImageStore, snapshotter: Snapshotter) -> None:
    image = ensure_busybox_image(store)
    store.layers.delete(image.diff_ids[0])
    store.blobs.delete(image.diff_ids[0])  # the layer can be neither found nor unpacked
    with pytest.raises(ImageError):
        snapshotter.prepare("broken", image)
    assert not (snapshotter.root / "broken").exists()
    assert store.leases.list() == []


def test_snapshot_keeps_layers_of_a_removed_image(store: ImageStore, snapshotter: Snapshotter) -> None:
    image = ensure_busybox_image(store)
    rootfs = snapshotter.prepare("c1", image)
    store.remove("busybox", force=True)
    store.prune(all_unused=True)
    assert sh(rootfs, "true").returncode == 0
    snapshotter.remove("c1")
    store.prune(all_unused=True)
    assert list(store.layers.diff_ids()) == []


def test_twenty_snapshots_share_one_copy_of_the_layers(store: ImageStore, snapshotter: Snapshotter) -> None:
    image = ensure_busybox_image(store)
    for n in range(20):
        snapshotter.prepare(f"c{n}", image)
    assert sum(snapshotter.usage(f"c{n}") for n in range(20)) == 0
    # du does not descend into the mounts (-x): what is left is the snapshots' own directories.
    assert disk_usage(snapshotter.root) < image.size / 4
    assert disk_usage(store.layers.root) < image.size * 1.1  # one copy of the layer
    assert len(store.leases.list()) == 20


def disk_usage(path: Path) -> int:
    used = subprocess.run(["du", "-sxb", str(path)], capture_output=True, text=True, check=True)
    return int(used.stdout.split()[0])


def test_deep_images_mount_layer_by_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pilothouse.runtime.images import mount

    lower = []
    for n in range(60):
        layer = tmp_path / f"layer{n:02d}"
        layer.mkdir()
        (layer / f"file{n}").write_text(str(n))
        (layer / "top").write_text(str(n))
        lower.append(layer)
    for name in ("upper", "work", "rootfs"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(mount, "PAGE_LIMIT", 200)  # as if the options did not fit in a page
    mount.mount_overlay(lower, upper=tmp_path / "upper", work=tmp_path / "work", target=tmp_path / "rootfs")
    try:
        assert len(os.listdir(tmp_path / "rootfs")) == 61
        assert (tmp_path / "rootfs/top").read_text() == "59"  # the last layer is on top
    finally:
        mount.unmount(tmp_path / "rootfs")
    assert not is_mounted(tmp_path / "rootfs")
