"""Image benchmark: prints JSON, pilothouse side by side with the reference tools in one run.

- pull: a multi-layer image (``--layers`` layers of ``--layer-mb`` MB, gzip) pushed to a
  loopback docker-registry, pulled into an empty store by ``pilothouse image pull`` (a whole
  CLI process, and the library call alone) versus ``skopeo copy docker://... oci:...``; the
  median of ``--repeat`` runs, each into a fresh destination. Target: not slower.
- build: the same Dockerfile (FROM busybox, COPY of the context, RUN steps, config
  instructions) built by ``pilothouse image build`` versus ``buildah bud`` (overlay storage
  in a temporary root, chroot isolation), each from an empty cache. Target: not slower.
- snapshots: the disk used by ``--containers`` snapshots of one image: the shared layers are
  stored once, each snapshot adds only its empty upper and work directories.

Usage: python bench/images.py [--layers 5] [--layer-mb 4] [--repeat 3] [--containers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e" / "images"))

from image_factory import make_image  # noqa: E402
from registry_server import start_registry  # noqa: E402

from pilothouse.runtime.images.busybox import ensure_busybox_image  # noqa: E402
from pilothouse.runtime.images.snapshots import Snapshotter  # noqa: E402
from pilothouse.runtime.images.store import ImageStore  # noqa: E402

PILOTHOUSE = str(Path(sys.executable).parent / "pilothouse")
DOCKERFILE = """\
FROM busybox
ENV APP=/app
WORKDIR /app
COPY files/ ./files/
RUN mkdir -p /app/generated && for i in 1 2 3 4 5; do echo line $i >> /app/generated/out.txt; done
RUN cat /app/files/* | wc -c > /app/generated/size.txt
LABEL bench=images
EXPOSE 8080
CMD ["cat", "/app/generated/size.txt"]
"""


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_of(repeat: int, prepare: Callable[[], None], action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        prepare()
        times.append(timed(action))
    return statistics.median(times)


def run(command: list[str], **kwargs: object) -> None:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")


def disk_usage(path: Path) -> int:
    output = subprocess.run(["du", "-sxb", str(path)], capture_output=True, text=True, check=True).stdout
    return int(output.split()[0])


def bench_pull(work: Path, layers: int, layer_mb: int, repeat: int) -> dict[str, object]:
    registry = start_registry(work / "registry")
    try:
        source = ImageStore(work / "source")
        ref = f"{registry.host}/bench/multi:v1"
        files = [{f"layer{n}/file{k}.bin": os.urandom(layer_mb << 18) for k in range(4)} for n in range(layers)]
        image = make_image(source, files, tags=[ref], compress=True)
        asyncio.run(source.push(ref, insecure=True))
        destination = work / "destination"

        def fresh() -> None:
            shutil.rmtree(destination, ignore_errors=True)

        env = {**os.environ, "PILOTHOUSE_ROOT": str(destination)}
        cli = median_of(repeat, fresh, lambda: run([PILOTHOUSE, "image", "pull", "-q", "--insecure", ref], env=env))
        library = median_of(
            repeat, fresh, lambda: asyncio.run(ImageStore(destination / "images").pull(ref, insecure=True))
        )
        skopeo = median_of(
            repeat,
            fresh,
            lambda: run(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"oci:{destination}:v1"]),
        )
        fresh()
        return {
            "image": {"layers": layers, "compressed_bytes": sum(d.size for d in source.manifest(image).layers)},
            "pilothouse_cli_s": round(cli, 3),
            "pilothouse_library_s": round(library, 3),
            "skopeo_copy_to_oci_s": round(skopeo, 3),
            "ratio_cli_to_skopeo": round(cli / skopeo, 2),
            "note": "pilothouse also unpacks every layer (ready to run); skopeo only stores the blobs",
        }
    finally:
        registry.stop()


def bench_build(work: Path) -> dict[str, object]:
    context = work / "context"
    (context / "files").mkdir(parents=True)
    for n in range(20):
        (context / "files" / f"f{n}.txt").write_text(f"file {n}\n" * 2000)
    (context / "Dockerfile").write_text(DOCKERFILE)
    root = work / "pilothouse"
    archive = work / "busybox.tar"
    store = ImageStore(root / "images")
    ensure_busybox_image(store)
    store.export_archive(["busybox"], archive)
    pilothouse = timed(lambda: run([PILOTHOUSE, "image", "build", "-q", "-t", "bench:v1", str(context)],
                                   env={**os.environ, "PILOTHOUSE_ROOT": str(root)}))
    cached = timed(lambda: run([PILOTHOUSE, "image", "build", "-q", "-t", "bench:v1", str(context)],
                               env={**os.environ, "PILOTHOUSE_ROOT": str(root)}))
    storage = Path(tempfile.mkdtemp(prefix="phbah-"))  # buildah wants short run roots
    buildah = ["buildah", "--root", str(storage / "root"), "--runroot", str(storage / "run"), "--storage-driver", "overlay"]
    try:
        run([*buildah, "pull", "-q", f"docker-archive:{archive}"])
        build = [*buildah, "bud", "-q", "--isolation", "chroot", "--layers", "-t", "bench:v1", str(context)]
        reference = timed(lambda: run(build))
        reference_cached = timed(lambda: run(build))
    finally:
        subprocess.run([*buildah, "rm", "--all"], capture_output=True)
        subprocess.run(["umount", "-R", str(storage / "root" / "overlay")], capture_output=True)
        shutil.rmtree(storage, ignore_errors=True)
    return {
        "steps": DOCKERFILE.count("\n"),
        "pilothouse_s": round(pilothouse, 3),
        "pilothouse_cached_s": round(cached, 3),
        "buildah_bud_layers_s": round(reference, 3),
        "buildah_bud_layers_cached_s": round(reference_cached, 3),
        "ratio": round(pilothouse / reference, 2),
        "note": "buildah with overlay storage, --layers (a layer per step, as pilothouse) and chroot isolation; "
        "pilothouse runs each RUN in a real container (crun)",
    }


def bench_snapshots(work: Path, containers: int) -> dict[str, object]:
    store = ImageStore(work / "images")
    image = ensure_busybox_image(store)
    snapshotter = Snapshotter(work / "snapshots", store)
    try:
        for n in range(containers):
            snapshotter.prepare(f"c{n}", image)
        layers = disk_usage(store.layers.root)
        snapshots = disk_usage(snapshotter.root)
    finally:
        for key in snapshotter.list():
            snapshotter.remove(key)
    return {
        "containers": containers,
        "image_bytes": image.size,
        "layer_store_bytes": layers,
        "all_snapshots_bytes": snapshots,
        "copies_of_the_layers": round(layers / image.size, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--layer-mb", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--containers", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pilothouse-bench-images-"))
    try:
        results = {
            "pull": bench_pull(work / "pull", args.layers, args.layer_mb, args.repeat),
            "build": bench_build(work / "build"),
            "snapshots": bench_snapshots(work / "snapshots", args.containers),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
