"""The local ``busybox:latest`` image, made from Debian's ``busybox-static`` binary.

A fresh machine can then run containers with no registry. The image has one layer:
``/bin/busybox``, every applet of ``busybox --list-full`` as a hard link to it, the usual
top-level directories (``/tmp`` sticky and world-writable, ``/root`` private), and an
``/etc/passwd`` and ``/etc/group`` with root and nobody. Its config runs ``sh`` like the
official image.

Deterministic: all timestamps are the binary's mtime (which dpkg takes from the package) and
every owner is root, so the same busybox binary always gives the same image id and digest.
"""

from __future__ import annotations

import datetime
import io
import os
import subprocess
import tarfile
from pathlib import Path

from .errors import ImageError, ImageNotFound
from .image import Image
from .layer_tar import LayerTarWriter, Sink
from .manifests import host_platform
from .store import ImageStore

BUSYBOX_TAG = "docker.io/library/busybox:latest"
DEFAULT_BINARY = Path("/bin/busybox")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DIRECTORIES = {
    "bin": 0o755,
    "dev": 0o755,
    "etc": 0o755,
    "home": 0o755,
    "proc": 0o755,
    "root": 0o700,
    "sbin": 0o755,
    "sys": 0o755,
    "tmp": 0o1777,
    "usr": 0o755,
    "usr/bin": 0o755,
    "usr/sbin": 0o755,
    "var": 0o755,
    "var/spool": 0o755,
    "var/spool/mail": 0o755,
    "var/www": 0o755,
}
FILES = {
    "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
    "etc/group": b"root:x:0:\nnobody:x:65534:\n",
    "etc/shadow": b"root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n",
}


def ensure_busybox_image(store: ImageStore, *, binary: Path = DEFAULT_BINARY) -> Image:
    """Returns ``busybox:latest``, creating it from ``binary`` if the store lacks it."""
    try:
        return store.resolve(BUSYBOX_TAG)
    except ImageNotFound:
        pass
    return create_busybox_image(store, binary=binary)


def create_busybox_image(store: ImageStore, *, binary: Path = DEFAULT_BINARY) -> Image:
    """Creates (or re-creates, identically) ``busybox:latest`` from ``binary``."""
    if not binary.is_file():
        raise ImageError(f"{binary} not found: install Debian's busybox-static package")
    mtime = int(binary.stat().st_mtime)
    applets = _applets(binary)
    with store.writing():
        layer = store.add_layer(lambda sink: _write_layer(sink, binary, applets, mtime))
        return store.create_image(_config(layer.digest, mtime, binary), [layer], tags=[BUSYBOX_TAG])


def _applets(binary: Path) -> list[str]:
    result = subprocess.run([str(binary), "--list-full"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageError(f"{binary} --list-full failed: {result.stderr.strip()}")
    applets = {line.strip().lstrip("/") for line in result.stdout.splitlines() if line.strip()}
    # Only applets in the usual bin directories (not the initrd entry point /linuxrc).
    return sorted(a for a in applets if "/" in a)


def _write_layer(sink: Sink, binary: Path, applets: list[str], mtime: int) -> None:
    writer = LayerTarWriter(sink)
    directories = dict(DIRECTORIES)
    for applet in applets:
        parent = os.path.dirname(applet)
        while parent and parent not in directories:
            directories[parent] = 0o755
            parent = os.path.dirname(parent)
    entries: list[tuple[str, tarfile.TarInfo, bytes | None]] = []
    for name, mode in directories.items():
        entries.append((name, _info(name, tarfile.DIRTYPE, mode, mtime), None))
    for name, content in FILES.items():
        entries.append((name, _info(name, tarfile.REGTYPE, 0o644, mtime, size=len(content)), content))
    data = binary.read_bytes()
    entries.append(("bin/busybox", _info("bin/busybox", tarfile.REGTYPE, 0o755, mtime, size=len(data)), data))
    for applet in applets:
        if applet != "bin/busybox":
            link = _info(applet, tarfile.LNKTYPE, 0o755, mtime)
            link.linkname = "bin/busybox"
            entries.append((applet, link, None))
    # Sorted by name, except that the binary must precede the hard links to it.
    entries.sort(key=lambda entry: (entry[1].type == tarfile.LNKTYPE, entry[0]))
    for _name, info, payload in entries:
        writer.add(info, None if payload is None else io.BytesIO(payload))
    writer.close()


def _info(name: str, kind: bytes, mode: int, mtime: int, *, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = mtime
    info.size = size
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _config(diff_id: str, mtime: int, binary: Path) -> dict[str, object]:
    created = datetime.datetime.fromtimestamp(mtime, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    platform = host_platform()
    config: dict[str, object] = {
        "created": created,
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {"Env": [DEFAULT_PATH], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": f"pilothouse: busybox from {binary}"}],
    }
    if platform.variant:
        config["variant"] = platform.variant
    return config
