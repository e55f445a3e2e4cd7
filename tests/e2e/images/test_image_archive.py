"""docker-archive and OCI layout tarballs: round trips, and podman/skopeo reading ours."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from image_factory import make_image, random_layers

from pilothouse.runtime.images.busybox import ensure_busybox_image
from pilothouse.runtime.images.errors import DigestMismatch, ImageError, InvalidImage
from pilothouse.runtime.images.store import ImageStore


@pytest.fixture
def two_images(store: ImageStore) -> list[str]:
    busybox = ensure_busybox_image(store)
    app = make_image(store, random_layers(2, 20_000), tags=["example.com/team/app:v1", "example.com/team/app:v2"])
    return [busybox.id, app.id]


def file_list(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_round_trip_keeps_ids_tags_and_content(
    store: ImageStore, tmp_path: Path, two_images: list[str], fmt: str
) -> None:
    archive = tmp_path / "images.tar"
    store.export_archive(["busybox", "example.com/team/app:v1", "example.com/team/app:v2"], archive, format=fmt)
    other = ImageStore(tmp_path / "other")
    loaded = other.import_archive(archive)
    assert sorted({i.id for i in loaded}) == sorted(two_images)
    app = other.resolve("example.com/team/app:v2")
    assert other.resolve("example.com/team/app:v1").id == app.id == two_images[1]
    assert other.resolve("busybox:latest").id == two_images[0]
    original = store.get(two_images[1])
    for ours, theirs in zip(store.layer_dirs(original), other.layer_dirs(app), strict=True):
        assert file_list(ours) == file_list(theirs)
    with tarfile.open(archive) as tar:
        assert tar.getnames().count("index.json" if fmt == "oci-archive" else "manifest.json") == 1


def test_docker_archive_layout(store: ImageStore, tmp_path: Path, two_images: list[str]) -> None:
    archive = tmp_path / "images.tar"
    store.export_archive(["example.com/team/app:v1"], archive, format="docker-archive")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        repositories = json.load(tar.extractfile("repositories"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["example.com/team/app:v1"]
        assert manifest[0]["Config"] == two_images[1].removeprefix("sha256:") + ".json"
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=tar.extractfile(layer)) as inner:  # uncompressed tar
                assert inner.getnames()
    assert list(repositories) == ["example.com/team/app"]


def test_podman_loads_our_docker_archive(store: ImageStore, tmp_path: Path, two_images: list[str]) -> None:
    archive = tmp_path / "busybox.tar"
    store.export_archive(["busybox"], archive, format="docker-archive")
    # podman wants a run root shorter than 50 characters: tmp_path is too deep.
    runroot = Path(tempfile.mkdtemp(prefix="php-"))
    podman = ["podman", "--root", str(tmp_path / "podman-root"), "--runroot", str(runroot),
              "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    try:
        loaded = subprocess.run([*podman, "load", "-i", str(archive)], capture_output=True, text=True, timeout=120)
        assert loaded.returncode == 0, loaded.stderr
        inspect = subprocess.run([*podman, "image", "inspect", "docker.io/library/busybox:latest"],
                                 capture_output=True, text=True, timeout=60)
        assert inspect.returncode == 0, inspect.stderr
        assert "sha256:" + json.loads(inspect.stdout)[0]["Id"] == two_images[0]
    finally:
        shutil.rmtree(tmp_path / "podman-root", ignore_errors=True)
        shutil.rmtree(runroot, ignore_errors=True)


def test_skopeo_reads_our_oci_archive_and_we_read_skopeos(
    store: ImageStore, tmp_path: Path, two_images: list[str]
) -> None:
    archive = tmp_path / "app.tar"
    store.export_archive(["example.com/team/app:v2"], archive, format="oci-archive")
    app = store.get(two_images[1])
    inspect = subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}:v2"], capture_output=True, text=True, timeout=60)
    assert inspect.returncode == 0, inspect.stderr
    assert json.loads(inspect.stdout)["Digest"] == app.manifest_digest
    copied = tmp_path / "skopeo-docker.tar"
    result = subprocess.run(
        ["skopeo", "copy", "-q", f"oci-archive:{archive}:v2", f"docker-archive:{copied}:other/name:v3"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    other = ImageStore(tmp_path / "other")
    other.import_archive(copied)
    assert other.resolve("other/name:v3").id == app.id


def test_bare_tag_in_oci_layout_takes_the_given_name(store: ImageStore, tmp_path: Path, two_images: list[str]) -> None:
    layout = tmp_path / "layout"
    archive = tmp_path / "layout.tar"
    store.export_archive(["busybox"], tmp_path / "ours.tar", format="oci-archive")
    subprocess.run(["skopeo", "copy", "-q", f"oci-archive:{tmp_path / 'ours.tar'}:latest", f"oci:{layout}:edge"],
                   check=True, capture_output=True, timeout=60)
    with tarfile.open(archive, "w") as tar:
        for entry in os.listdir(layout):
            tar.add(layout / entry, arcname=entry)
    other = ImageStore(tmp_path / "other")
    assert other.import_archive(archive, tag="mybox")[0].repo_tags == ["docker.io/library/mybox:edge"]


def test_corrupt_layer_is_rejected_and_nothing_kept(store: ImageStore, tmp_path: Path, two_images: list[str]) -> None:
    good = tmp_path / "good.tar"
    store.export_archive(["example.com/team/app:v1"], good, format="docker-archive")
    bad = tmp_path / "bad.tar"
    with tarfile.open(good) as source, tarfile.open(bad, "w") as target:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.endswith("layer.tar") and data is not None:
                data = data[:600] + bytes([data[600] ^ 1]) + data[601:]
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    other = ImageStore(tmp_path / "other")
    with pytest.raises(DigestMismatch):
        other.import_archive(bad)
    assert other.list() == []
    assert list(other.blobs.digests()) == [] and list(other.layers.diff_ids()) == []


def test_not_an_image_archive(store: ImageStore, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    with tarfile.open(junk, "w") as tar:
        tar.add(__file__, arcname="hello.py")
    with pytest.raises(InvalidImage, match="neither a docker-archive"):
        store.import_archive(junk)
    (tmp_path / "text").write_text("not a tar")
    with pytest.raises(InvalidImage, match="not a readable tar"):
        store.import_archive(tmp_path / "text")


def test_export_of_unknown_image_writes_nothing(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(ImageError):
        store.export_archive(["nothere"], tmp_path / "out.tar")
    assert os.listdir(tmp_path) == ["images"]
