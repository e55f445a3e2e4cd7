"""Unpacked layers: each layer's tree once, under ``layers/<diff id hex>/diff``.

A layer is keyed by its diff id (the digest of its uncompressed tar), not its chain id:
overlayfs stacks the directories itself, so a layer's tree does not depend on the layers
below it and one copy serves every image that contains it, whatever its parents.

Guarantees: ``layers/<hex>`` exists only complete and verified. Unpacking happens in a
private ``.tmp-*`` directory renamed into place once the diff id matches; a mismatch or an
error leaves nothing behind; two processes unpacking the same layer both succeed and one
copy remains. Deleting renames first, so a half-deleted layer is never taken for a whole one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from .digests import check_digest, digest_hex
from .errors import DigestMismatch

TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class LayerInfo:
    diff_id: str
    size: int  # bytes of regular file content


class LayerStore:
    """The unpacked layers under ``root/layers``."""

    def __init__(self, root: Path):
        self.root = root / "layers"
        self.root.mkdir(parents=True, exist_ok=True)

    def dir(self, diff_id: str) -> Path:
        """The directory overlayfs uses as a lower layer."""
        return self.root / digest_hex(diff_id) / "diff"

    def has(self, diff_id: str) -> bool:
        return (self.root / digest_hex(diff_id)).is_dir()

    def info(self, diff_id: str) -> LayerInfo:
        meta = orjson.loads((self.root / digest_hex(diff_id) / "meta.json").read_bytes())
        return LayerInfo(diff_id=diff_id, size=meta["size"])

    def unpack(self, source: BinaryIO, *, expected_diff_id: str | None) -> LayerInfo:
        """Unpacks a (possibly compressed, seekable) layer tar; verifies its diff id."""
        if expected_diff_id is not None:
            check_digest(expected_diff_id)
            if self.has(expected_diff_id):
                return self.info(expected_diff_id)
        from .compression import uncompressed  # tar and decompression code: not for mere readers
        from .unpack import apply_layer

        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=TEMP_PREFIX))
        try:
            (staging / "diff").mkdir()
            with uncompressed(source) as stream:
                result = apply_layer(stream, staging / "diff")
            if expected_diff_id is not None and result.diff_id != expected_diff_id:
                raise DigestMismatch("layer diff id", expected_diff_id, result.diff_id)
            info = LayerInfo(diff_id=result.diff_id, size=result.size)
            self._publish(staging, info)
        finally:
            if staging.exists():
                _remove_tree(staging)
        return info

    def adopt(self, tree: Path, *, diff_id: str, size: int) -> LayerInfo:
        """Moves an already-unpacked ``tree`` (same filesystem) into place as ``diff_id``."""
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=TEMP_PREFIX))
        try:
            os.rename(tree, staging / "diff")
            info = LayerInfo(diff_id=check_digest(diff_id), size=size)
            self._publish(staging, info)
        finally:
            if staging.exists():
                _remove_tree(staging)
        return info

    def delete(self, diff_id: str) -> None:
        path = self.root / digest_hex(diff_id)
        if not path.exists():
            return
        doomed = Path(tempfile.mkdtemp(dir=self.root, prefix=TEMP_PREFIX))
        os.rename(path, doomed / "layer")
        _remove_tree(doomed)

    def diff_ids(self) -> Iterator[str]:
        for entry in os.scandir(self.root):
            if not entry.name.startswith(TEMP_PREFIX):
                yield "sha256:" + entry.name

    def sweep_temp(self) -> int:
        """Deletes staging directories; only safe while no unpack runs (under the GC lock)."""
        count = 0
        for entry in os.scandir(self.root):
            if entry.name.startswith(TEMP_PREFIX):
                _remove_tree(Path(entry.path))
                count += 1
        return count

    def _publish(self, staging: Path, info: LayerInfo) -> None:
        (staging / "meta.json").write_bytes(orjson.dumps({"diff_id": info.diff_id, "size": info.size}))
        try:
            os.rename(staging, self.root / digest_hex(info.diff_id))
        except OSError:
            if not self.has(info.diff_id):
                raise
            # Someone else unpacked the same layer meanwhile; theirs is as good as ours.


def _remove_tree(path: Path) -> None:
    # Layers may hold read-only directories; as root that does not matter, unprivileged it does.
    def make_writable_and_retry(function, failed_path, _exc_info):  # type: ignore[no-untyped-def]
        os.chmod(os.path.dirname(failed_path), 0o700)
        function(failed_path)

    shutil.rmtree(path, onerror=make_writable_and_retry)
