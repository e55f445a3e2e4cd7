"""Unpacking layer tars into overlayfs-ready directories, and writing them back."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pilothouse.runtime.images.digests import sha256_digest
from pilothouse.runtime.images.errors import DigestMismatch, LayerError
from pilothouse.runtime.images.layer_tar import write_tree_layer
from pilothouse.runtime.images.layers import LayerStore
from pilothouse.runtime.images.unpack import apply_layer

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts, owners and devices need root")

Entry = Callable[[tarfile.TarFile], None]


def make_tar(*entries: Entry) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            entry(tar)
    return buffer.getvalue()


def file(name: str, data: bytes = b"", *, mode: int = 0o644, uid: int = 0, gid: int = 0,
         mtime: int = 1_600_000_000, xattrs: dict[str, bytes] | None = None) -> Entry:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, mtime
        if xattrs:
            info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
        tar.addfile(info, io.BytesIO(data))
    return add


def special(name: str, kind: bytes, *, linkname: str = "", mode: int = 0o755,
            major: int = 0, minor: int = 0, mtime: int = 1_600_000_000) -> Entry:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode, info.mtime = kind, linkname, mode, mtime
        info.devmajor, info.devminor = major, minor
        tar.addfile(info)
    return add


def unpack(tmp_path: Path, data: bytes) -> Path:
    dest = tmp_path / "layer"
    dest.mkdir()
    result = apply_layer(io.BytesIO(data), dest)
    assert result.diff_id == sha256_digest(data)
    return dest


def test_files_keep_mode_owner_time_and_content(tmp_path: Path) -> None:
    data = make_tar(
        special("usr/", tarfile.DIRTYPE, mode=0o755),
        file("usr/bin/tool", b"#!/bin/sh\n", mode=0o4755, mtime=1_234_567_890),
        file("etc/secret", b"s", mode=0o600),
        special("ro/", tarfile.DIRTYPE, mode=0o555, mtime=1_111_111_111),
        file("ro/inside", b"x"),
    )
    dest = unpack(tmp_path, data)
    tool = (dest / "usr/bin/tool").stat()
    assert stat.S_IMODE(tool.st_mode) == 0o4755
    assert tool.st_mtime == 1_234_567_890
    assert (dest / "usr/bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert stat.S_IMODE((dest / "etc/secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((dest / "etc").stat().st_mode) == 0o755  # implicit parent
    ro = (dest / "ro").stat()
    assert stat.S_IMODE(ro.st_mode) == 0o555
    assert ro.st_mtime == 1_111_111_111  # set after its children were written


@needs_root
def test_owners_devices_fifos_and_xattrs(tmp_path: Path) -> None:
    data = make_tar(
        file("home/app/data", b"d", uid=1000, gid=2000, xattrs={"user.comment": b"\xffbinary"}),
        special("dev/null", tarfile.CHRTYPE, mode=0o666, major=1, minor=3),
        special("run/fifo", tarfile.FIFOTYPE, mode=0o600),
        file("evil", b"", xattrs={"trusted.overlay.opaque": b"y"}),
    )
    dest = unpack(tmp_path, data)
    owned = (dest / "home/app/data").stat()
    assert (owned.st_uid, owned.st_gid) == (1000, 2000)
    assert os.getxattr(dest / "home/app/data", "user.comment") == b"\xffbinary"
    null = (dest / "dev/null").stat()
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert stat.S_ISFIFO((dest / "run/fifo").stat().st_mode)
    assert "trusted.overlay.opaque" not in os.listxattr(dest / "evil")


def test_symlinks_and_hard_links(tmp_path: Path) -> None:
    data = make_tar(
        file("bin/busybox", b"BB", mode=0o755),
        special("bin/sh", tarfile.LNKTYPE, linkname="bin/busybox"),
        special("bin/ls", tarfile.LNKTYPE, linkname="/bin/busybox"),
        special("usr/bin/env", tarfile.SYMTYPE, linkname="/bin/busybox"),
        special("lib", tarfile.SYMTYPE, linkname="usr/lib"),
    )
    dest = unpack(tmp_path, data)
    busybox = (dest / "bin/busybox").stat()
    assert busybox.st_nlink == 3
    assert (dest / "bin/sh").stat().st_ino == busybox.st_ino
    assert os.readlink(dest / "usr/bin/env") == "/bin/busybox"  # not resolved, not followed
    assert os.readlink(dest / "lib") == "usr/lib"


@needs_root
def test_whiteouts_become_overlay_whiteouts(tmp_path: Path) -> None:
    data = make_tar(
        file("etc/.wh.motd"),
        special("var/cache/", tarfile.DIRTYPE),
        file("var/cache/.wh..wh..opq"),
        file("var/cache/new", b"n"),
        file(".wh..wh.plnk/123.456"),
    )
    dest = unpack(tmp_path, data)
    motd = (dest / "etc/motd").lstat()
    assert stat.S_ISCHR(motd.st_mode) and motd.st_rdev == 0
    assert not (dest / "etc/.wh.motd").exists()
    assert os.getxattr(dest / "var/cache", "trusted.overlay.opaque") == b"y"
    assert not (dest / "var/cache/.wh..wh..opq").exists()
    assert (dest / "var/cache/new").read_bytes() == b"n"
    assert not (dest / ".wh..wh.plnk").exists()


def test_later_entries_replace_earlier_ones(tmp_path: Path) -> None:
    data = make_tar(
        file("a/x", b"old"),
        file("a", b"now a file"),
        file("b", b"1"),
        file("b", b"2"),
    )
    dest = unpack(tmp_path, data)
    assert (dest / "a").read_bytes() == b"now a file"
    assert (dest / "b").read_bytes() == b"2"


@pytest.mark.parametrize(
    "entries",
    [
        [file("../escape", b"x")],
        [file("a/../../escape", b"x")],
        [special("link", tarfile.SYMTYPE, linkname="/etc"), file("link/passwd", b"root::0:0")],
        [special("outside", tarfile.LNKTYPE, linkname="../../etc/passwd")],
        [special("missing", tarfile.LNKTYPE, linkname="not/here")],
        [file("f", b"x"), file("f/child", b"y")],
    ],
    ids=["dotdot", "nested-dotdot", "through-symlink", "hardlink-outside", "hardlink-missing", "through-file"],
)
def test_unsafe_entries_are_rejected(tmp_path: Path, entries: list[Entry]) -> None:
    dest = tmp_path / "layer"
    dest.mkdir()
    with pytest.raises(LayerError):
        apply_layer(io.BytesIO(make_tar(*entries)), dest)
    assert not (tmp_path / "escape").exists()


def test_absolute_names_stay_inside(tmp_path: Path) -> None:
    dest = unpack(tmp_path, make_tar(file("/etc/hostname", b"h")))
    assert (dest / "etc/hostname").read_bytes() == b"h"


def test_truncated_tar_is_an_error(tmp_path: Path) -> None:
    data = make_tar(file("big", b"x" * 10_000))
    dest = tmp_path / "layer"
    dest.mkdir()
    with pytest.raises(LayerError):
        apply_layer(io.BytesIO(data[:3000]), dest)


def test_layer_store_unpacks_gzip_and_verifies_diff_id(tmp_path: Path) -> None:
    data = make_tar(file("hello", b"world"))
    layers = LayerStore(tmp_path)
    info = layers.unpack(io.BytesIO(gzip.compress(data)), expected_diff_id=sha256_digest(data))
    assert info.diff_id == sha256_digest(data)
    assert info.size == 5
    assert (layers.dir(info.diff_id) / "hello").read_bytes() == b"world"
    assert list(layers.diff_ids()) == [info.diff_id]


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd command not installed")
def test_layer_store_unpacks_zstd(tmp_path: Path) -> None:
    data = make_tar(file("z", b"zstd"))
    compressed = subprocess.run(["zstd", "-c", "-q"], input=data, capture_output=True, check=True).stdout
    layers = LayerStore(tmp_path)
    source = tmp_path / "layer.tar.zst"
    source.write_bytes(compressed)
    with open(source, "rb") as f:
        info = layers.unpack(f, expected_diff_id=sha256_digest(data))
    assert (layers.dir(info.diff_id) / "z").read_bytes() == b"zstd"


def test_diff_id_mismatch_leaves_nothing(tmp_path: Path) -> None:
    layers = LayerStore(tmp_path)
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatch):
        layers.unpack(io.BytesIO(make_tar(file("x", b"y"))), expected_diff_id=wrong)
    assert os.listdir(layers.root) == []


def test_unpack_of_a_present_layer_is_skipped(tmp_path: Path) -> None:
    data = make_tar(file("x", b"y"))
    layers = LayerStore(tmp_path)
    first = layers.unpack(io.BytesIO(data), expected_diff_id=sha256_digest(data))
    second = layers.unpack(io.BytesIO(b"not even a tar"), expected_diff_id=sha256_digest(data))
    assert first == second


@needs_root
def test_overlay_upper_round_trips_to_the_same_layer(tmp_path: Path) -> None:
    original = make_tar(
        special("etc/", tarfile.DIRTYPE),
        file("etc/.wh.motd"),
        special("var/", tarfile.DIRTYPE),
        special("var/cache/", tarfile.DIRTYPE),
        file("var/cache/.wh..wh..opq"),
        file("var/cache/new", b"n", uid=7, gid=8),
        file("bin/tool", b"t", mode=0o755),
        special("bin/alias", tarfile.LNKTYPE, linkname="bin/tool"),
        special("bin/link", tarfile.SYMTYPE, linkname="tool"),
    )
    dest = unpack(tmp_path, original)
    buffer = io.BytesIO()
    write_tree_layer(dest, buffer, overlay_upper=True)
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["etc/.wh.motd"].isreg()
    assert members["var/cache/.wh..wh..opq"].isreg()
    assert members["var/cache/new"].uid == 7
    links = [m for m in members.values() if m.islnk()]
    assert len(links) == 1 and {links[0].name, links[0].linkname} == {"bin/alias", "bin/tool"}
    assert members["bin/link"].linkname == "tool"
    again = tmp_path / "again"
    again.mkdir()
    apply_layer(io.BytesIO(buffer.getvalue()), again)
    assert stat.S_ISCHR((again / "etc/motd").lstat().st_mode)
    assert os.getxattr(again / "var/cache", "trusted.overlay.opaque") == b"y"


def test_tree_layers_are_deterministic(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "b").mkdir(parents=True)
    (tree / "b/z").write_text("z")
    (tree / "a").write_text("a")
    first, second = io.BytesIO(), io.BytesIO()
    write_tree_layer(tree, first)
    write_tree_layer(tree, second)
    assert first.getvalue() == second.getvalue()
    with tarfile.open(fileobj=io.BytesIO(first.getvalue())) as tar:
        assert tar.getnames() == ["a", "b", "b/z"]
