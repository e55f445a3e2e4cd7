"""One process in a throwaway container on a given root filesystem: a Dockerfile's RUN step.

:func:`run_in_rootfs` is a coroutine. It writes a bundle with the same bundle writer as
every container (containerd's capabilities, masked paths, standard mounts), runs the OCI
runtime in the foreground with the caller's stdout and stderr, and returns the exit code.
The container's namespaces are all new except the network (``network="host"``, Docker's
build default, or ``"none"``: loopback only); its hosts and resolv.conf are the host's.

Whatever happens, nothing is left behind: the OCI container is deleted, its cgroup removed,
and the mount points the runtime had to create in ``rootfs`` (``/proc``, ``/etc/hosts``...)
are removed again if the command did not put anything there, and the directories they were
made in get their times back, so that they do not show up as changes in a built layer
(overlayfs still copies such a directory up, with the same metadata).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

import orjson

from ..interface import ContainerConfig, ContainerMetadata, KeyValue
from .cgroups import Cgroups, detect
from .ociruntime import select_runtime
from .sandboxfiles import default_hosts
from .spec import SandboxFiles, container_spec
from .users import parse_user_string, rootfs_path

MOUNT_POINTS = ("proc", "dev", "sys", "etc/hostname", "etc/hosts", "etc/resolv.conf")
HOST_FILES = {"hosts": Path("/etc/hosts"), "resolv.conf": Path("/etc/resolv.conf")}


async def run_in_rootfs(
    rootfs: Path,
    argv: list[str],
    *,
    env: list[str],
    cwd: str = "/",
    user: str = "0:0",
    hostname: str = "buildkitsandbox",
    network: str = "host",
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    oci_runtime: str | None = None,
    cgroup_parent: str = "/pilothouse-oneshot",
) -> int:
    """Runs ``argv`` in a new container on ``rootfs``; returns its exit code.

    ``env`` is the full environment (``KEY=value``), ``user`` a Docker USER string resolved
    in ``rootfs``; ``stdout``/``stderr`` None means this process's own.
    """
    if network not in ("host", "none"):
        raise ValueError(f"network must be 'host' or 'none', not {network!r}")
    container_id = f"pilothouse-run-{secrets.token_hex(8)}"
    missing, parents = _missing_mount_points(rootfs)
    cgroups = Cgroups(detect())
    cgroup_path = f"{cgroup_parent.rstrip('/')}/{container_id}"
    with tempfile.TemporaryDirectory(prefix="pilothouse-oneshot-") as scratch:
        bundle = Path(scratch)
        runtime = select_runtime(oci_runtime, root=bundle / "state", hybrid_v2=cgroups.layout.hybrid_v2)
        _write_bundle(bundle, rootfs, argv, env, cwd, user, hostname, network, cgroup_path)
        try:
            process = await asyncio.create_subprocess_exec(
                *runtime.run_argv(bundle, container_id),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
            return await process.wait()
        finally:
            await runtime.delete(container_id)
            await asyncio.to_thread(cgroups.remove, cgroup_path)
            await asyncio.to_thread(cgroups.remove_empty_parents, cgroup_path)
            _remove_mount_points(missing, parents)


def _write_bundle(
    bundle: Path,
    rootfs: Path,
    argv: list[str],
    env: list[str],
    cwd: str,
    user: str,
    hostname: str,
    network: str,
    cgroup_path: str,
) -> None:
    (bundle / "hostname").write_text(f"{hostname}\n")
    if network == "host":
        shutil.copyfile(HOST_FILES["hosts"], bundle / "hosts")
    else:
        (bundle / "hosts").write_text(default_hosts(hostname))
    shutil.copyfile(HOST_FILES["resolv.conf"], bundle / "resolv.conf")
    config = ContainerConfig(
        metadata=ContainerMetadata(name="run"),
        command=list(argv),
        working_dir=cwd,
        envs=[KeyValue(*entry.split("=", 1)) if "=" in entry else KeyValue(entry, "") for entry in env],
    )
    namespaces = [{"type": t} for t in ("mount", "pid", "ipc", "uts")]
    if network == "none":
        namespaces.append({"type": "network"})
    spec = container_spec(
        config,
        image_config={},
        rootfs=rootfs,
        user=parse_user_string(rootfs, user),
        hostname=hostname,
        namespaces=namespaces,
        sandbox_files=SandboxFiles(
            hostname=bundle / "hostname", hosts=bundle / "hosts", resolv_conf=bundle / "resolv.conf"
        ),
        cgroups_path=cgroup_path,
    )
    (bundle / "config.json").write_bytes(orjson.dumps(spec))


def _missing_mount_points(rootfs: Path) -> tuple[list[Path], dict[Path, tuple[int, int]]]:
    """The mount points (and parents) that do not exist yet, deepest first; and the existing
    directories they would be made in, with their access and modification times."""
    missing: list[Path] = []
    parents: dict[Path, tuple[int, int]] = {}
    for name in MOUNT_POINTS:
        path = rootfs_path(rootfs, name)
        if os.path.lexists(path):
            continue
        while path != rootfs and not os.path.lexists(path):
            if path not in missing:
                missing.append(path)
            path = path.parent
        st = path.stat()
        parents.setdefault(path, (st.st_atime_ns, st.st_mtime_ns))
    return sorted(missing, key=lambda p: len(p.parts), reverse=True), parents


def _remove_mount_points(missing: list[Path], parents: dict[Path, tuple[int, int]]) -> None:
    for path in missing:
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                path.rmdir()  # only if the command left it empty
            elif path.stat().st_size == 0:
                path.unlink()
    for directory, times in parents.items():
        with contextlib.suppress(OSError):
            os.utime(directory, ns=times)  # so that it looks unchanged in the layer diff
