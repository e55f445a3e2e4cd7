"""``pilothouse image ...`` as users run it: output, exit codes, messages for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from registry_server import LoopbackRegistry, start_registry

PILOTHOUSE = [str(Path(sys.executable).parent / "pilothouse")]


def run(root: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PILOTHOUSE_ROOT": str(root)}
    result = subprocess.run(
        [*PILOTHOUSE, "image", *args], capture_output=True, env=env, timeout=120, input=input
    )
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "pilothouse"


@pytest.fixture
def context(tmp_path: Path) -> Path:
    directory = tmp_path / "context"
    directory.mkdir()
    (directory / "hello.txt").write_text("hello\n")
    (directory / "Dockerfile").write_text('FROM busybox\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n')
    return directory


def test_build_ls_tag_inspect_rm(root: Path, context: Path) -> None:
    built = run(root, "build", "-t", "hello:v1", str(context))
    assert built.returncode == 0, built.stderr
    assert "Step 3/3 : CMD" in built.stdout and "Successfully tagged hello:v1" in built.stdout
    assert run(root, "tag", "hello:v1", "localhost:5000/hello:prod").returncode == 0
    listing = run(root, "ls").stdout.splitlines()
    assert listing[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = {tuple(line.split()[:2]) for line in listing[1:]}
    assert rows == {("hello", "v1"), ("localhost:5000/hello", "prod"), ("busybox", "latest")}
    assert "ago" in listing[1] and "MB" in run(root, "ls", "busybox").stdout
    document = json.loads(run(root, "inspect", "hello:v1").stdout)[0]
    assert document["Config"]["Cmd"] == ["cat", "/hello.txt"]
    assert document["RepoTags"] == ["docker.io/library/hello:v1", "localhost:5000/hello:prod"]
    assert len(document["RootFS"]["Layers"]) == 2
    quiet = run(root, "ls", "-q").stdout.split()
    assert document["Id"].removeprefix("sha256:")[:12] in quiet
    removed = run(root, "rm", "localhost:5000/hello:prod")
    assert removed.stdout.strip() == "Untagged: localhost:5000/hello:prod"
    removed = run(root, "rm", "hello:v1")
    assert removed.stdout.splitlines() == ["Untagged: hello:v1", f"Deleted: {document['Id']}"]


def test_export_import_through_stdin_and_stdout(root: Path, tmp_path: Path, context: Path) -> None:
    assert run(root, "build", "-q", "-t", "hello:v1", str(context)).returncode == 0
    archive = tmp_path / "hello.tar"
    with open(archive, "wb") as out:
        exported = subprocess.run(
            [*PILOTHOUSE, "image", "export", "hello:v1"], env={**os.environ, "PILOTHOUSE_ROOT": str(root)},
            stdout=out, stderr=subprocess.PIPE, timeout=60,
        )
    assert exported.returncode == 0, exported.stderr
    other = tmp_path / "other"
    loaded = run(other, "import", "-", input=archive.read_bytes())
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "Loaded image: hello:v1"
    oci = tmp_path / "hello-oci.tar"
    assert run(root, "export", "--format", "oci-archive", "-o", str(oci), "hello:v1").returncode == 0
    assert run(other, "import", str(oci)).returncode == 0


def test_prune(root: Path, context: Path) -> None:
    assert run(root, "build", "-q", "-t", "hello:v1", str(context)).returncode == 0
    (context / "hello.txt").write_text("changed\n")
    assert run(root, "build", "-q", "-t", "hello:v1", str(context)).returncode == 0
    assert "<none>" in run(root, "ls").stdout  # the old build lost its tag
    pruned = run(root, "prune", "-f")
    assert pruned.returncode == 0
    assert "Deleted Images:" in pruned.stdout and "Total reclaimed space:" in pruned.stdout
    assert "<none>" not in run(root, "ls").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "nosuchimage"], "Error: No such image: nosuchimage"),
        (["rm", "nosuchimage"], "Error: No such image: nosuchimage"),
        (["tag", "nosuchimage", "x"], "Error: No such image: nosuchimage"),
        (["pull", "Invalid:Ref"], "Error: invalid reference format: repository name (library/Invalid) must be lowercase"),
        (["tag", "busybox", "bad::tag"], "Error: invalid reference format"),
        (["import", "/nonexistent.tar"], "Error"),
        (["push", "busybox", "127.0.0.1:1/x:y", "--insecure"], "Error: cannot reach registry 127.0.0.1:1"),
    ],
)
def test_bad_input_gets_a_clear_message_and_exit_1(root: Path, context: Path, args: list[str], message: str) -> None:
    assert run(root, "build", "-q", str(context)).returncode == 0  # creates the local busybox
    result = run(root, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_malformed_dockerfile(root: Path, context: Path) -> None:
    (context / "Dockerfile").write_text("FROM busybox\nCOPY hello.txt /\nRUNN echo\n")
    result = run(root, "build", "-t", "x", str(context))
    assert result.returncode == 1
    assert "Error: Dockerfile:3: unknown instruction: RUNN" in result.stderr
    assert run(root, "ls", "-q").stdout.strip() == ""  # parsing fails before anything is made


@pytest.fixture
def auth_registry(tmp_path: Path) -> LoopbackRegistry:
    server = start_registry(tmp_path / "registry", users={"u": "p"})
    yield server  # type: ignore[misc]
    server.stop()


def test_push_pull_auth_and_corruption(root: Path, tmp_path: Path, context: Path, auth_registry: LoopbackRegistry) -> None:
    ref = f"{auth_registry.host}/team/hello:v1"
    assert run(root, "build", "-q", "-t", ref, str(context)).returncode == 0
    denied = run(root, "push", "--insecure", ref)
    assert denied.returncode == 1 and "authentication required" in denied.stderr
    pushed = run(root, "push", "--insecure", "--creds", "u:p", ref)
    assert pushed.returncode == 0, pushed.stderr
    other = tmp_path / "other"
    wrong = run(other, "pull", "--insecure", "--creds", "u:wrong", ref)
    assert wrong.returncode == 1 and "Error:" in wrong.stderr
    pulled = run(other, "pull", "--insecure", "--creds", "u:p", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip().splitlines()[-1] == ref
    document = json.loads(run(other, "inspect", ref).stdout)[0]
    layer = document["RootFS"]["Layers"][-1]  # an uncompressed layer: its digest is its diff id
    blob = auth_registry.blob_data_path(layer)
    blob.write_bytes(blob.read_bytes()[:-10])
    third = tmp_path / "third"
    corrupt = run(third, "pull", "--insecure", "--creds", "u:p", ref)
    assert corrupt.returncode == 1
    assert "digest mismatch" in corrupt.stderr
    assert run(third, "ls", "-q").stdout.strip() == ""
