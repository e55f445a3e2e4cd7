"""Publish a set of files into a volume so readers never see a half-written update.

This is the kubelet's atomic writer (pkg/volume/util/atomic_writer.go), used by configMap,
secret, downwardAPI and projected volumes. For files "a" and "dir/b" the volume holds:

    ..2024_05_01_10_00_00.123456789/a        the data, in a timestamped directory
    ..2024_05_01_10_00_00.123456789/dir/b
    ..data -> ..2024_05_01_10_00_00.123456789
    a -> ..data/a                            one symlink per top-level name
    dir -> ..data/dir

An update writes a new timestamped directory, then renames a fresh ``..data_tmp`` symlink over
``..data`` (rename is atomic), then drops top-level links to names no longer published and
the old timestamped directory. Guarantees, as upstream:

* nothing is written when every file already holds the same bytes and nothing was removed;
* paths are relative, contain no ``..`` element and do not start with ``..`` (the names
  starting with ``..`` belong to the writer);
* each file gets exactly its mode whatever the umask, and its owner when one is given;
* ``set_perms`` (fsGroup ownership) runs on the new data before it is published.
"""

from __future__ import annotations

import os
import posixpath
import random
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pilothouse.api.patch.gojson import quote

DATA_DIR = "..data"
NEW_DATA_DIR = "..data_tmp"
_MAX_FILE_NAME = 255
_MAX_PATH = 4096


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int
    fs_user: int | None = None  # owner of the file, when the pod runs as one non-root user


class PayloadError(ValueError):
    """A payload path the writer refuses; the text is upstream's."""


class AtomicWriter:
    def __init__(self, target_dir: Path):
        self.target_dir = target_dir

    def write(self, payload: Mapping[str, FileProjection],
              set_perms: Callable[[str], None] | None = None) -> bool:
        """Publish ``payload`` (path -> file); True when the volume's content changed."""
        clean = validate_payload(payload)
        old_ts_dir = self._current_ts_dir()
        to_remove: set[str] = set()
        should_write = True
        if old_ts_dir:
            old_ts_path = self.target_dir / old_ts_dir
            to_remove = _paths_to_remove(clean, old_ts_path)
            if not _payload_differs(clean, old_ts_path) and not to_remove:
                # Up to date; still (re)create missing user-visible links below.
                should_write, old_ts_dir = False, ""
        if should_write:
            self._publish(clean, set_perms)
        self._create_user_visible_links(clean)
        self._remove_user_visible_paths(to_remove)
        if old_ts_dir:
            _remove_tree(self.target_dir / old_ts_dir)
        return should_write

    def _current_ts_dir(self) -> str:
        try:
            return os.readlink(self.target_dir / DATA_DIR)
        except FileNotFoundError:
            return ""

    def _publish(self, payload: Mapping[str, FileProjection],
                 set_perms: Callable[[str], None] | None) -> None:
        ts_dir = self._new_ts_dir()
        try:
            _write_payload(payload, ts_dir)
            if set_perms is not None:
                set_perms(ts_dir.name)
            new_link = self.target_dir / NEW_DATA_DIR
            if new_link.is_symlink():
                new_link.unlink()  # left by a writer killed between symlink and rename
            os.symlink(ts_dir.name, new_link)
            os.rename(new_link, self.target_dir / DATA_DIR)
        except BaseException:
            (self.target_dir / NEW_DATA_DIR).unlink(missing_ok=True)
            shutil.rmtree(ts_dir, ignore_errors=True)
            raise

    def _new_ts_dir(self) -> Path:
        prefix = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
        while True:
            path = self.target_dir / f"{prefix}{random.randrange(2**32)}"
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:
                continue
            # 0755 whatever the umask: group and other must be able to reach the files.
            path.chmod(0o755)
            return path

    def _create_user_visible_links(self, payload: Mapping[str, FileProjection]) -> None:
        for name in {path.split("/", 1)[0] for path in payload}:
            link = self.target_dir / name
            if not os.path.lexists(link):
                os.symlink(f"{DATA_DIR}/{name}", link)

    def _remove_user_visible_paths(self, paths: set[str]) -> None:
        failure: OSError | None = None
        for path in paths:
            if "/" in path:
                continue  # only the top-level links live outside the data directory
            try:
                os.remove(self.target_dir / path)
            except OSError as error:
                failure = error
        if failure is not None:
            raise failure


def validate_payload(payload: Mapping[str, FileProjection]) -> dict[str, FileProjection]:
    """The payload with its paths cleaned; PayloadError on a path the writer refuses."""
    clean = {}
    for path, projection in payload.items():
        validate_path(path)
        clean[posixpath.normpath(path)] = projection
    return clean


def validate_path(path: str) -> None:
    if not path:
        raise PayloadError(f"invalid path: must not be empty: {quote(path)}")
    if path.startswith("/"):
        raise PayloadError(f"invalid path: must be relative path: {path}")
    if len(path.encode()) > _MAX_PATH:
        raise PayloadError(f"invalid path: must be less than or equal to {_MAX_PATH} characters")
    items = path.split("/")
    for item in items:
        if item == "..":
            raise PayloadError(f"invalid path: must not contain '..': {path}")
        if len(item.encode()) > _MAX_FILE_NAME:
            raise PayloadError(
                f"invalid path: filenames must be less than or equal to {_MAX_FILE_NAME} characters"
            )
    if items[0].startswith("..") and len(items[0]) > 2:
        raise PayloadError(f"invalid path: must not start with '..': {path}")


def _payload_differs(payload: Mapping[str, FileProjection], ts_dir: Path) -> bool:
    for path, projection in payload.items():
        try:
            if (ts_dir / path).read_bytes() != projection.data:
                return True
        except FileNotFoundError:
            return True
    return False


def _paths_to_remove(payload: Mapping[str, FileProjection], ts_dir: Path) -> set[str]:
    """Paths of the published version that the new payload no longer has."""
    current = set()
    for root, dirs, files in os.walk(ts_dir):
        relative_root = os.path.relpath(root, ts_dir)
        for name in dirs + files:
            current.add(name if relative_root == "." else f"{relative_root}/{name}")
    wanted = set()
    for path in payload:
        while path:
            wanted.add(path)
            path = posixpath.dirname(path)
    return current - wanted


def _remove_tree(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass


def _write_payload(payload: Mapping[str, FileProjection], directory: Path) -> None:
    for path, projection in payload.items():
        full_path = directory / path
        full_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(full_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                     projection.mode)
        with open(fd, "wb") as file:
            file.write(projection.data)
            os.fchmod(fd, projection.mode)  # open(2) applied the umask
            if projection.fs_user is not None:
                os.fchown(fd, projection.fs_user, -1)
