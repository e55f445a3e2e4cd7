"""Dockerfile builds: COPY/ADD semantics, config rules, the build cache, stages, errors."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from pilothouse.runtime.images.build.builder import Builder, BuildOptions
from pilothouse.runtime.images.busybox import ensure_busybox_image
from pilothouse.runtime.images.errors import BuildError, DockerfileError
from pilothouse.runtime.images.image import Image
from pilothouse.runtime.images.mount import is_mounted
from pilothouse.runtime.images.snapshots import Snapshotter
from pilothouse.runtime.images.store import ImageStore


class Build:
    """A builder over the test's store that remembers what it printed."""

    def __init__(self, store: ImageStore, snapshotter: Snapshotter, context: Path):
        self.store = store
        self.context = context
        self.lines: list[str] = []
        self.builder = Builder(store, snapshotter, output=self.lines.append)
        ensure_busybox_image(store)

    async def __call__(self, dockerfile: str, **options: object) -> Image:
        (self.context / "Dockerfile").write_text(dockerfile)
        self.lines.clear()
        return await self.builder.build(BuildOptions(context=self.context, **options))  # type: ignore[arg-type]

    def files(self, image: Image) -> dict[str, Path]:
        """The merged view of the image's layers (enough for these tests: no whiteouts)."""
        merged: dict[str, Path] = {}
        for layer in self.store.layer_dirs(image):
            for path in layer.rglob("*"):
                merged["/" + str(path.relative_to(layer))] = path
        return merged


@pytest.fixture
def build(store: ImageStore, tmp_path: Path) -> Build:
    context = tmp_path / "context"
    (context / "src/lib").mkdir(parents=True)
    (context / "src/main.py").write_text("print('main')\n")
    (context / "src/lib/util.py").write_text("util\n")
    (context / "src/debug.log").write_text("noise\n")
    (context / "notes.txt").write_text("notes\n")
    (context / "a.conf").write_text("a\n")
    (context / "b.conf").write_text("b\n")
    (context / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(context / "run.sh", 0o750)
    (context / ".dockerignore").write_text("**/*.log\nsecret.txt\n")
    (context / "secret.txt").write_text("password\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("pkg/data.txt")
        info.size, info.uid = 4, 1234
        archive.addfile(info, io.BytesIO(b"data"))
    (context / "pkg.tar.gz").write_bytes(buffer.getvalue())
    return Build(store, Snapshotter(tmp_path / "build-snapshots", store), context)


async def test_copy_add_and_config(build: Build) -> None:
    image = await build(
        "FROM busybox\n"
        "ARG VERSION=1.0\n"
        'ENV APP_VERSION=$VERSION GREETING="hello world"\n'
        'LABEL org.opencontainers.image.version="${VERSION}"\n'
        "WORKDIR /app\n"
        "COPY src ./src/\n"
        "COPY *.conf /etc/app/\n"
        "COPY --chown=nobody run.sh .\n"
        "ADD pkg.tar.gz /opt/\n"
        "ADD notes.txt /opt/notes\n"
        "EXPOSE 8080\n"
        "USER nobody\n"
        "STOPSIGNAL SIGTERM\n",
        tags=("app:v1",),
        build_args={"VERSION": "2.5"},
    )
    assert image.repo_tags == ["docker.io/library/app:v1"]
    assert image.config["Env"][1:] == ["APP_VERSION=2.5", "GREETING=hello world"]
    assert image.config["Labels"] == {"org.opencontainers.image.version": "2.5"}
    assert image.config["WorkingDir"] == "/app"
    assert image.config["ExposedPorts"] == {"8080/tcp": {}}
    assert (image.config["User"], image.config["StopSignal"]) == ("nobody", "SIGTERM")
    assert image.config["Cmd"] == ["sh"]  # inherited from busybox
    files = build.files(image)
    assert files["/app/src/main.py"].read_text() == "print('main')\n"
    assert "/app/src/lib/util.py" in files
    assert "/app/src/debug.log" not in files  # .dockerignore
    assert files["/etc/app/a.conf"].read_text() == "a\n" and "/etc/app/b.conf" in files
    run_sh = files["/app/run.sh"].stat()
    assert (run_sh.st_uid, run_sh.st_gid, stat.S_IMODE(run_sh.st_mode)) == (65534, 65534, 0o750)
    assert files["/app/src/main.py"].stat().st_uid == 0
    data = files["/opt/pkg/data.txt"]
    assert data.read_text() == "data" and data.stat().st_uid == 1234  # extracted, owner kept
    assert files["/opt/notes"].read_text() == "notes\n"  # not an archive: copied
    history = build.store.image_config(image).raw["history"]
    assert history[-1]["created_by"] == "/bin/sh -c #(nop) STOPSIGNAL SIGTERM"
    assert len(image.diff_ids) == 1 + 6  # busybox + WORKDIR, 3 COPY, 2 ADD


async def test_rebuild_uses_the_cache_and_content_changes_invalidate_it(build: Build) -> None:
    dockerfile = "FROM busybox\nENV A=1\nCOPY src /src\nCOPY notes.txt /notes\nCMD [\"cat\", \"/notes\"]\n"
    first = await build(dockerfile, tags=("cached:v1",))
    assert " ---> Using cache" not in build.lines
    second = await build(dockerfile, tags=("cached:v1",))
    assert second.id == first.id
    assert build.lines.count(" ---> Using cache") == 4
    os.utime(build.context / "notes.txt", (1, 1))  # touching is not changing
    assert (await build(dockerfile)).id == first.id
    (build.context / "notes.txt").write_text("changed\n")
    third = await build(dockerfile)
    assert third.id != first.id
    assert build.lines.count(" ---> Using cache") == 2  # ENV and COPY src
    assert build.files(third)["/notes"].read_text() == "changed\n"
    uncached = await build(dockerfile, no_cache=True)
    assert " ---> Using cache" not in build.lines
    assert uncached.diff_ids == third.diff_ids  # same content, same layers


async def test_dockerignore_hides_files_from_copy(build: Build) -> None:
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: .*excluded by .dockerignore: secret.txt"):
        await build("FROM busybox\nCOPY secret.txt /\n")
    image = await build("FROM scratch\nCOPY . /ctx/\n")
    files = build.files(image)
    assert "/ctx/notes.txt" in files and "/ctx/secret.txt" not in files and "/ctx/src/debug.log" not in files


@pytest.mark.parametrize(
    ("dockerfile", "entrypoint", "cmd"),
    [
        ('FROM busybox\nENTRYPOINT ["/bin/echo"]\n', ["/bin/echo"], None),
        ('FROM busybox\nCMD ["hi"]\nENTRYPOINT ["/bin/echo"]\n', ["/bin/echo"], ["hi"]),
        ("FROM busybox\nENTRYPOINT echo hi\n", ["/bin/sh", "-c", "echo hi"], None),
        ("FROM busybox\nCMD echo $HOME\n", None, ["/bin/sh", "-c", "echo $HOME"]),
    ],
)
async def test_entrypoint_and_cmd_rules(build: Build, dockerfile: str, entrypoint: list[str] | None, cmd: list[str] | None) -> None:
    image = await build(dockerfile)
    assert image.config.get("Entrypoint") == entrypoint
    assert image.config.get("Cmd") == cmd


async def test_multi_stage_copy_from_and_target(build: Build) -> None:
    dockerfile = (
        "FROM busybox AS builder\n"
        "COPY src /work/src\n"
        "FROM builder AS tested\n"
        "COPY notes.txt /work/notes.txt\n"
        "FROM scratch\n"
        "COPY --from=builder /work/src/main.py /app/main.py\n"
        "COPY --from=1 /work/notes.txt /app/\n"
        "COPY --from=busybox /bin/busybox /bin/\n"
        'ENTRYPOINT ["/bin/busybox", "cat"]\n'
    )
    final = await build(dockerfile, tags=("multi:final",))
    files = build.files(final)
    assert sorted(files) == ["/app", "/app/main.py", "/app/notes.txt", "/bin", "/bin/busybox"]
    assert len(final.diff_ids) == 3
    tested = await build(dockerfile, target="tested")
    assert "/work/notes.txt" in build.files(tested) and "/bin/sh" in build.files(tested)


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("FROM busybox\nENV A=1\nRUNN x\n", "Dockerfile:3: unknown instruction: RUNN"),
        ("FROM busybox\n\nCOPY missing.txt /\n", "Dockerfile:3: file not found in build context"),
        ("FROM busybox\nCOPY a.conf b.conf /etc\n", "Dockerfile:2: When using COPY with more than one source"),
        ("FROM busybox\nCOPY ../outside /\n", "Dockerfile:2: forbidden path outside the build context"),
        ("FROM busybox\nADD http://example.com/x /\n", "Dockerfile:2: ADD from a URL is not supported"),
        ("FROM nosuchimage.invalid/x\n", "Dockerfile:1: "),
        ("FROM busybox\nCOPY --chown=nosuchuser notes.txt /\n", "Dockerfile:2: unable to find user nosuchuser"),
        ("FROM busybox\nEXPOSE http\n", "Dockerfile:2: invalid containerPort: http"),
        ("FROM busybox\nRUN --mount=type=cache,target=/x true\n", "Dockerfile:2: RUN --mount is not supported"),
        ("FROM busybox\nCOPY --chmod=600 notes.txt /\n", "Dockerfile:2: COPY --chmod is not supported"),
    ],
)
async def test_errors_name_the_line_and_leave_nothing(build: Build, dockerfile: str, message: str) -> None:
    before = {image.id for image in build.store.list()}
    with pytest.raises(BuildError) as caught:
        await build(dockerfile, tags=("broken:v1",))
    assert message in str(caught.value)
    assert {image.id for image in build.store.list()} == before
    assert build.builder.snapshotter.list() == []
    assert not any(is_mounted(p) for p in build.builder.snapshotter.root.glob("*/rootfs"))


async def test_missing_dockerfile_and_target(build: Build) -> None:
    with pytest.raises(BuildError, match="Cannot locate specified Dockerfile"):
        await build.builder.build(BuildOptions(context=build.context, dockerfile=build.context / "nope"))
    with pytest.raises(BuildError, match="target stage 'nope' could not be found"):
        await build("FROM busybox AS one\n", target="nope")


async def test_unused_build_arg_warns(build: Build) -> None:
    await build("FROM busybox\nARG USED\n", build_args={"USED": "1", "UNUSED": "2"})
    assert "[Warning] One or more build-args ['UNUSED'] were not consumed" in build.lines


# -- RUN steps, in real containers -------------------------------------------------------


def mounted_under(directory: Path) -> bool:
    return str(directory) in Path("/proc/self/mountinfo").read_text()


def in_image(build: Build, image: Image, script: str) -> str:
    """Runs ``script`` with chroot in a throwaway snapshot of ``image``; returns its output."""
    import subprocess

    snapshotter = build.builder.snapshotter
    rootfs = snapshotter.prepare("inspect", image)
    try:
        result = subprocess.run(["chroot", str(rootfs), "/bin/sh", "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout
    finally:
        snapshotter.remove("inspect")


async def test_run_steps(build: Build, capfd: pytest.CaptureFixture[str]) -> None:
    dockerfile = (
        "FROM busybox\n"
        "ARG GREETING=hello\n"
        "ENV TARGET=world\n"
        'RUN echo "$GREETING $TARGET" > /msg && rm /etc/shadow && date +%s%N > /stamp\n'
        "USER nobody\n"
        "WORKDIR /tmp/work\n"
        "RUN id -u > uid && pwd > pwd && echo visible-output\n"
        "RUN --network=none ip -o link | wc -l > /tmp/links\n"
    )
    image = await build(dockerfile, build_args={"GREETING": "hi"})
    assert "visible-output" in capfd.readouterr().out
    assert in_image(build, image, "cat /msg /tmp/work/uid /tmp/work/pwd /tmp/links; test ! -e /etc/shadow && echo gone") == (
        "hi world\n65534\n/tmp/work\n1\ngone\n"
    )
    assert in_image(build, image, "stat -c %u /tmp/work/uid") == "65534\n"
    again = await build(dockerfile, build_args={"GREETING": "hi"})
    assert again.id == image.id  # RUN steps came from the cache (the date would differ)
    changed = await build(dockerfile, build_args={"GREETING": "bye"})
    assert changed.id != image.id
    assert in_image(build, changed, "cat /msg") == "bye world\n"


async def test_failing_run_leaves_nothing(build: Build, store: ImageStore) -> None:
    before = ({i.id for i in store.list()}, len(store.leases.list()))
    with pytest.raises(BuildError) as caught:
        await build("FROM busybox\nRUN touch /half-made\nRUN echo doomed > /x && exit 3\nCMD [\"true\"]\n", tags=("doomed:v1",))
    assert str(caught.value) == "Dockerfile:3: RUN echo doomed > /x && exit 3: the command returned a non-zero code: 3"
    assert caught.value.exit_code == 3  # type: ignore[attr-defined]
    assert ({i.id for i in store.list()}, len(store.leases.list())) == before
    assert build.builder.snapshotter.list() == []
    assert not mounted_under(build.builder.snapshotter.root)
    with pytest.raises(BuildError, match="Dockerfile:2: .*code: 127"):
        await build("FROM busybox\nRUN no-such-command\n")


async def test_run_in_scratch_fails_clearly(build: Build) -> None:
    with pytest.raises(BuildError, match="Dockerfile:2: RUN true: the command returned a non-zero code"):
        await build("FROM scratch\nRUN true\n")
