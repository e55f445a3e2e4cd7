"""The image store: verified blobs, names and ids as Docker resolves them, removal, GC."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pilothouse.runtime.images.digests import sha256_digest
from pilothouse.runtime.images.errors import (
    AmbiguousImage,
    DigestMismatch,
    ImageInUse,
    ImageNotFound,
    InvalidReference,
)
from pilothouse.runtime.images.image import Image
from pilothouse.runtime.images.layer_tar import LayerTarWriter, Sink
from pilothouse.runtime.images.manifests import Descriptor
from pilothouse.runtime.images.store import ImageStore


def layer_of(files: dict[str, bytes]) -> Callable[[Sink], None]:
    def write(sink: Sink) -> None:
        writer = LayerTarWriter(sink)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            writer.add(info, io.BytesIO(data))
        writer.close()

    return write


def make_image(store: ImageStore, *layers: dict[str, bytes], tags: Sequence[str] = (), cmd: str = "sh") -> Image:
    with store.writing():
        descriptors: list[Descriptor] = [store.add_layer(layer_of(files)) for files in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": [cmd], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [d.digest for d in descriptors]},
    }
    return store.create_image(config, descriptors, tags=tags)


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


# -- blobs ------------------------------------------------------------------------------


def test_blob_with_wrong_digest_stores_nothing(store: ImageStore) -> None:
    wrong = sha256_digest(b"something else")
    with pytest.raises(DigestMismatch):
        store.blobs.write_bytes(b"content", expected_digest=wrong)
    assert list(store.blobs.digests()) == []
    assert os.listdir(store.blobs.ingest_dir) == []


def test_truncated_blob_stores_nothing(store: ImageStore) -> None:
    data = b"0123456789"
    with pytest.raises(DigestMismatch, match="size"):
        store.blobs.write_stream(io.BytesIO(data[:5]), expected_digest=sha256_digest(data), expected_size=10)
    assert list(store.blobs.digests()) == []


def test_blob_round_trip(store: ImageStore) -> None:
    digest = store.blobs.write_bytes(b"hello", expected_digest=sha256_digest(b"hello"))
    assert store.blobs.read_bytes(digest) == b"hello"
    assert store.blobs.size(digest) == 5


# -- resolving --------------------------------------------------------------------------


def test_resolve_by_name_id_short_id_and_digest(store: ImageStore) -> None:
    image = make_image(store, {"a": b"1"}, tags=["busybox"])
    assert image.repo_tags == ["docker.io/library/busybox:latest"]
    assert image.size == 1
    assert image.config["Cmd"] == ["sh"]
    for ref in ("busybox", "busybox:latest", "docker.io/library/busybox", image.id,
                image.id.removeprefix("sha256:"), image.short_id, image.id[:15]):
        assert store.resolve(ref).id == image.id, ref
    store.add_repo_digest(image, f"docker.io/library/busybox@{image.manifest_digest}")
    assert store.resolve(f"busybox@{image.manifest_digest}").id == image.id


def test_resolve_errors(store: ImageStore) -> None:
    first = make_image(store, {"a": b"1"}, tags=["one"])
    second = make_image(store, {"a": b"2"}, tags=["two"])
    with pytest.raises(ImageNotFound, match="No such image: nothere"):
        store.resolve("nothere")
    with pytest.raises(InvalidReference):
        store.resolve("UPPER")
    common = os.path.commonprefix([first.id, second.id]).removeprefix("sha256:")
    with pytest.raises(AmbiguousImage if common else ImageNotFound):
        store.resolve(common or "ffff")


def test_tag_moves_from_one_image_to_another(store: ImageStore) -> None:
    old = make_image(store, {"a": b"1"}, tags=["app:v1"])
    new = make_image(store, {"a": b"2"}, tags=["app:v1"])
    assert store.resolve("app:v1").id == new.id
    assert store.get(old.id).repo_tags == []
    store.tag("app:v1", "localhost:5000/app:prod")
    assert store.resolve("localhost:5000/app:prod").id == new.id
    assert sorted(i.id for i in store.list()) == sorted([old.id, new.id])


def test_same_content_is_one_image_with_both_tags(store: ImageStore) -> None:
    first = make_image(store, {"a": b"1"}, tags=["x"])
    second = make_image(store, {"a": b"1"}, tags=["y"])
    assert first.id == second.id
    assert store.get(first.id).repo_tags == ["docker.io/library/x:latest", "docker.io/library/y:latest"]
    assert len(store.list()) == 1


def test_layers_are_shared_between_images(store: ImageStore) -> None:
    base = {"bin/sh": b"shell"}
    one = make_image(store, base, {"one": b"1"}, tags=["one"])
    two = make_image(store, base, {"two": b"2"}, tags=["two"])
    assert store.layer_dirs(one)[0] == store.layer_dirs(two)[0]
    assert len(list(store.layers.diff_ids())) == 3


def test_missing_unpacked_layer_is_unpacked_again(store: ImageStore) -> None:
    image = make_image(store, {"f": b"x"}, tags=["img"])
    store.layers.delete(image.diff_ids[0])
    assert (store.layer_dirs(image)[0] / "f").read_bytes() == b"x"


# -- removing ---------------------------------------------------------------------------


def test_rmi_of_one_of_two_tags_only_untags(store: ImageStore) -> None:
    image = make_image(store, {"a": b"1"}, tags=["x", "y"])
    assert store.remove("x") == ["Untagged: x:latest"]
    assert store.get(image.id).repo_tags == ["docker.io/library/y:latest"]


def test_rmi_of_last_tag_deletes_image_and_content(store: ImageStore) -> None:
    image = make_image(store, {"a": b"1"}, tags=["x"])
    assert store.remove("x") == ["Untagged: x:latest", f"Deleted: {image.id}"]
    with pytest.raises(ImageNotFound):
        store.get(image.id)
    assert list(store.blobs.digests()) == []
    assert list(store.layers.diff_ids()) == []


def test_rmi_by_id_with_several_tags_needs_force(store: ImageStore) -> None:
    image = make_image(store, {"a": b"1"}, tags=["x", "y"])
    with pytest.raises(ImageInUse, match="referenced in multiple repositories"):
        store.remove(image.short_id)
    lines = store.remove(image.short_id, force=True)
    assert lines[-1] == f"Deleted: {image.id}"


def test_image_used_by_a_snapshot_needs_force_and_keeps_its_layers(store: ImageStore, tmp_path: Path) -> None:
    image = make_image(store, {"a": b"1"}, tags=["x"])
    holder = tmp_path / "snapshot"
    holder.mkdir()
    store.acquire_lease("snapshot:c1", image, holder=holder)
    with pytest.raises(ImageInUse, match="c1"):
        store.remove("x")
    store.remove(image.id, force=True)
    assert store.layers.has(image.diff_ids[0])  # still under the container
    store.release_lease("snapshot:c1")
    store.prune()
    assert not store.layers.has(image.diff_ids[0])


def test_stale_lease_protects_nothing(store: ImageStore, tmp_path: Path) -> None:
    image = make_image(store, {"a": b"1"}, tags=["x"])
    store.acquire_lease("snapshot:gone", image, holder=tmp_path / "never-created")
    store.remove("x")
    assert not store.layers.has(image.diff_ids[0])
    assert store.leases.list() == []


# -- pruning ----------------------------------------------------------------------------


def test_prune_removes_dangling_images_only(store: ImageStore) -> None:
    dangling = make_image(store, {"old": b"o"}, tags=["app:v1"])
    kept = make_image(store, {"new": b"n"}, tags=["app:v1"])  # takes the tag
    report = store.prune()
    assert f"Deleted: {dangling.id}" in report.deleted
    assert [i.id for i in store.list()] == [kept.id]
    assert report.blobs_removed == 3  # manifest, config, layer
    assert report.layers_removed == 1
    assert store.layer_dirs(kept)[0].exists()


def test_prune_all_removes_unused_tagged_images(store: ImageStore) -> None:
    make_image(store, {"a": b"1"}, tags=["x"])
    store.prune(all_unused=True)
    assert store.list() == []
    assert list(store.blobs.digests()) == []


def test_gc_sweeps_crash_leftovers(store: ImageStore) -> None:
    (store.blobs.ingest_dir / "blob-partial").write_bytes(b"half")
    (store.layers.root / ".tmp-crashed").mkdir()
    store.prune()
    assert os.listdir(store.blobs.ingest_dir) == []
    assert not (store.layers.root / ".tmp-crashed").exists()


def test_build_cache_keeps_its_content_until_pruned(store: ImageStore) -> None:
    with store.writing():
        layer = store.add_layer(layer_of({"c": b"cached"}))
    config = {"os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer.digest]}}
    manifest = store.write_image(config, [layer])
    store.build_cache.put("step-key", manifest)
    from pilothouse.runtime.images.gc import collect_garbage

    collect_garbage(store, wait=True)
    assert store.blobs.has(manifest) and store.layers.has(layer.digest)
    assert store.image_of_manifest(manifest).diff_ids == [layer.digest]
    report = store.prune()
    assert report.cache_entries_removed == 1
    assert not store.blobs.has(manifest)


def test_records_survive_a_new_store_object(store: ImageStore, tmp_path: Path) -> None:
    image = make_image(store, {"a": b"1"}, tags=["x"])
    again = ImageStore(tmp_path / "images")
    assert again.resolve("x") == store.resolve("x") == store.get(image.id)
