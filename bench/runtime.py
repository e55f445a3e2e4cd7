"""Runtime benchmark: prints JSON, pilothouse side by side with the reference tools in one run.

- start: creating and starting a container in a ready sandbox until its process runs
  (``create_container`` + ``start_container``: snapshot, bundle, monitor, ``crun create``,
  ``crun start``) versus ``crun run --detach`` of the same bundle on a prepared root
  filesystem, with the same hybrid-cgroup wrapper. Median of ``--repeat``. Target: ratio <= 1.3.
- cli: ``pilothouse run --rm busybox true`` (a whole CLI process) versus
  ``podman run --rm --network none`` of the same image, loaded into podman from
  ``pilothouse image export`` (podman in its own temporary root, cgroupfs, file events; with
  runc, and with crun through the same wrapper). Target: faster than podman. Beside it, what
  the Python interpreter and the CLI's imports alone take.
- disk: what ``--containers`` running containers of one image add to the disk, and how many
  copies of the image layers their root filesystems use. Target: one copy.

Everything runs under a temporary data directory and cgroup parent, removed at the end.
Usage: python bench/runtime.py [--repeat 15] [--containers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from pilothouse.runtime.images.busybox import ensure_busybox_image
from pilothouse.runtime.images.snapshots import Snapshotter
from pilothouse.runtime.images.store import ImageStore
from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    ImageSpec,
    PodSandboxConfig,
    PodSandboxMetadata,
)
from pilothouse.runtime.oci.context import RuntimeSettings
from pilothouse.runtime.oci.runtime import LocalRuntime

PILOTHOUSE = str(Path(sys.executable).parent / "pilothouse")
SANDBOX = PodSandboxConfig(metadata=PodSandboxMetadata(name="bench", uid="bench", namespace="bench"), hostname="bench")
PODMAN_RUN = ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def sleeper(index: int) -> ContainerConfig:
    return ContainerConfig(
        metadata=ContainerMetadata(name=f"c{index}"), image=ImageSpec(image="busybox"), command=["sleep", "300"]
    )


async def start_versus_crun(runtime: LocalRuntime, snapshots: Snapshotter, image: Any, repeat: int) -> dict[str, Any]:
    """Interleaved, so that both see the same machine state (cgroup v1 migrations and mount
    changes wait for RCU grace periods, whose cost depends on what happened just before)."""
    sandbox_id = await runtime.run_pod_sandbox(SANDBOX)
    rootfs = snapshots.prepare("raw-crun", image)
    oci = runtime.ctx.oci
    ours, raw = [], []
    with tempfile.TemporaryDirectory(prefix="pilothouse-bench-") as scratch:
        bundle = Path(scratch)
        for index in range(repeat):
            start = time.perf_counter()
            container_id = await runtime.create_container(sandbox_id, sleeper(index), SANDBOX)
            await runtime.start_container(container_id)
            ours.append(time.perf_counter() - start)
            spec = orjson.loads(runtime.ctx.state.container_files(container_id).config.read_bytes())
            await runtime.remove_container(container_id)
            raw_id = f"raw-{secrets.token_hex(6)}"
            spec["root"] = {"path": str(rootfs), "readonly": False}
            spec["linux"]["cgroupsPath"] = f"{runtime.ctx.settings.cgroup_parent}/raw/{raw_id}"
            (bundle / "config.json").write_bytes(orjson.dumps(spec))
            argv = oci.run_argv(bundle, raw_id)
            argv.insert(argv.index("run") + 1, "--detach")
            raw.append(_timed(lambda a=argv: subprocess.run(a, check=True, stdin=subprocess.DEVNULL)))  # type: ignore[misc]
            await oci.kill(raw_id, 9)
            await _until_deleted(oci, raw_id)
    snapshots.remove("raw-crun")
    await runtime.remove_pod_sandbox(sandbox_id)
    median_ours, median_raw = statistics.median(ours), statistics.median(raw)
    return {
        "pilothouse_create_start_ms": round(median_ours * 1000, 1),
        "crun_run_detach_ms": round(median_raw * 1000, 1),
        "ratio": round(median_ours / median_raw, 2),
        "target_ratio": 1.3,
        "oci_runtime": oci.name,
        "repeat": repeat,
    }


async def _until_deleted(oci: Any, container_id: str) -> None:
    for _ in range(1000):
        try:
            await oci.delete(container_id, force=True)
            return
        except Exception:
            await asyncio.sleep(0.01)


def cli_versus_podman(data: Path, cgroup_parent: str, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PILOTHOUSE_ROOT": str(data), "PILOTHOUSE_CGROUP_PARENT": cgroup_parent}
    pilothouse = [PILOTHOUSE, "run", "--rm", "busybox", "true"]
    imports = [sys.executable, "-c", "import pilothouse.cli.main, pilothouse.cli.containers"]
    archive = data / "busybox.tar"
    subprocess.run([PILOTHOUSE, "image", "export", "-o", str(archive), "busybox"], env=env, check=True)
    podman_root = data / "podman"
    podman = ["podman", "--root", str(podman_root / "root"), "--runroot", str(podman_root / "run")]
    podman += ["--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "overlay"]
    wrapper = data / "runtime" / "bin" / "crun-hybrid"
    variants = {"podman_runc": ["--runtime", "runc"], "podman_crun": ["--runtime", str(wrapper if wrapper.exists() else "crun")]}
    try:
        subprocess.run([*podman, "load", "-q", "-i", str(archive)], check=True, stdout=subprocess.DEVNULL)
        runs: dict[str, list[float]] = {"pilothouse": [], "pilothouse_python_and_imports": []}
        runs.update({name: [] for name in variants})
        for _ in range(repeat):  # interleaved, so that both see the same machine load
            runs["pilothouse"].append(_timed(lambda: subprocess.run(pilothouse, env=env, check=True)))
            runs["pilothouse_python_and_imports"].append(_timed(lambda: subprocess.run(imports, check=True)))
            for name, flags in variants.items():
                command = [*podman, *flags, *PODMAN_RUN, "busybox", "true"]
                runs[name].append(_timed(lambda c=command: subprocess.run(c, check=True)))  # type: ignore[misc]
    finally:
        subprocess.run([*podman, "system", "reset", "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(podman_root, ignore_errors=True)
    medians = {f"{name}_ms": round(statistics.median(times) * 1000, 1) for name, times in runs.items()}
    fastest_podman = min(medians["podman_runc_ms"], medians["podman_crun_ms"])
    return {**medians, "faster_than_podman": medians["pilothouse_ms"] < fastest_podman, "repeat": repeat}


async def disk_of_containers(runtime: LocalRuntime, store: ImageStore, image: Any, count: int) -> dict[str, Any]:
    layers = store.layer_dirs(image)
    before = _disk_usage([runtime.ctx.settings.root, store.root])
    sandbox_id = await runtime.run_pod_sandbox(SANDBOX)
    for index in range(count):
        container_id = await runtime.create_container(sandbox_id, sleeper(index), SANDBOX)
        await runtime.start_container(container_id)
    after = _disk_usage([runtime.ctx.settings.root, store.root])
    lower_dirs = _overlay_lower_dirs(runtime.ctx.settings.root)
    await runtime.remove_pod_sandbox(sandbox_id)
    return {
        "containers": count,
        "image_layers_bytes": _disk_usage(layers),
        "added_bytes": after - before,
        "added_bytes_per_container": (after - before) // count,
        "layer_copies": len(lower_dirs),
    }


def _overlay_lower_dirs(root: Path) -> set[str]:
    """The distinct ``lowerdir`` options of the overlay mounts below ``root``."""
    lower_dirs = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        mount_point = before.split()[4]
        fstype, _source, options = after.split()[:3]
        if fstype == "overlay" and mount_point.startswith(str(root)):
            lower_dirs.add(next(o for o in options.split(",") if o.startswith("lowerdir=")))
    return lower_dirs


def _disk_usage(paths: list[Path]) -> int:
    """Bytes allocated under ``paths`` (hard links once), not counting what is mounted there."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root in paths:
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = [d for d in subdirectories if not os.path.ismount(os.path.join(directory, d))]
            for name in [*files, *subdirectories]:
                st = os.lstat(os.path.join(directory, name))
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_blocks * 512
    return total


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


async def main(arguments: argparse.Namespace) -> dict[str, Any]:
    cgroup_parent = f"/pilothouse-bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="pilothouse-bench-") as scratch:
        data = Path(scratch)
        store = ImageStore(data / "images")
        image = ensure_busybox_image(store)
        snapshots = Snapshotter(data / "runtime" / "snapshots", store)
        runtime = LocalRuntime(
            RuntimeSettings(root=data / "runtime", cgroup_parent=cgroup_parent), images=store, snapshots=snapshots
        )
        try:
            return {
                "start": await start_versus_crun(runtime, snapshots, image, arguments.repeat),
                "cli_run_rm": await asyncio.to_thread(cli_versus_podman, data, cgroup_parent, arguments.repeat),
                "disk": await disk_of_containers(runtime, store, image, arguments.containers),
            }
        finally:
            await runtime.remove_all()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--containers", type=int, default=20)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
