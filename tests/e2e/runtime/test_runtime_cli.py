"""The Docker-style commands, run as a user runs them: ``pilothouse run/ps/logs/exec/stop/rm``."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import assert_nothing_left

from pilothouse.cli.containers import RuntimeLocation

CLI = [sys.executable, "-c", "from pilothouse.cli.main import main; main()"]


class Cli:
    def __init__(self, root: Path, cgroup_parent: str):
        self.root = root
        self.env = {**os.environ, "PILOTHOUSE_ROOT": str(root), "PILOTHOUSE_CGROUP_PARENT": cgroup_parent}

    def __call__(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], env=self.env, input=input.decode() if input else None, capture_output=True, text=True, timeout=120
        )


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    cgroup_parent = f"/pilothouse-test-{secrets.token_hex(6)}"
    runner = Cli(tmp_path / "data", cgroup_parent)
    try:
        yield runner
    finally:
        ids = runner("ps", "-aq").stdout.split()
        if ids:
            runner("rm", "-f", *ids)
        _remove_cgroups(tmp_path / "data", cgroup_parent)
        assert_nothing_left(tmp_path, cgroup_parent)


def _remove_cgroups(root: Path, cgroup_parent: str) -> None:
    runtime, _ = RuntimeLocation(root, None, cgroup_parent).open()
    asyncio.run(runtime.remove_all())


def test_run_prints_the_output_and_exits_with_the_containers_code(cli: Cli) -> None:
    ok = cli("run", "--rm", "busybox", "echo", "hello")
    failed = cli("run", "--rm", "busybox", "sh", "-c", "echo oops >&2; exit 3")

    assert (ok.returncode, ok.stdout) == (0, "hello\n")
    assert (failed.returncode, failed.stderr.splitlines()[-1]) == (3, "oops")
    assert cli("ps", "-aq").stdout == ""


def test_run_exit_codes_follow_docker(cli: Cli) -> None:
    assert cli("run", "--rm", "busybox", "no-such-command").returncode == 127
    assert cli("run", "--rm", "busybox", "/etc/passwd").returncode == 126
    bad_memory = cli("run", "--rm", "--memory", "lots", "busybox", "true")
    assert bad_memory.returncode == 125 and "invalid memory quantity" in bad_memory.stderr
    assert cli("run", "--rm", "no-such-image-anywhere.invalid/x", "true").returncode == 125
    assert cli("ps", "-aq").stdout == ""


def test_run_with_stdin_and_environment_and_volumes(cli: Cli, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "in").write_text("from host\n")

    piped = cli("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input=b"shout\n")
    env = cli("run", "--rm", "-e", "GREETING=hi there", "busybox", "sh", "-c", "echo $GREETING")
    mounted = cli("run", "--rm", "-v", f"{volume}:/v", "busybox", "sh", "-c", "cat /v/in; echo out > /v/out")
    read_only = cli("run", "--rm", "-v", f"{volume}:/v:ro", "busybox", "touch", "/v/x")

    assert piped.stdout == "SHOUT\n"
    assert env.stdout == "hi there\n"
    assert mounted.stdout == "from host\n" and (volume / "out").read_text() == "out\n"
    assert read_only.returncode != 0


def test_detached_containers_are_listed_logged_exec_d_stopped_and_removed(cli: Cli) -> None:
    started = cli("run", "-d", "--name", "web", "--memory", "64Mi", "busybox", "sh", "-c", "echo ready; sleep 300")
    container_id = started.stdout.strip()

    listing = cli("ps").stdout.splitlines()
    exec_out = cli("exec", "web", "sh", "-c", "hostname; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exit 4")
    logs = _until_output(cli, "logs", "web")
    stopped = cli("stop", "-t", "1", "web")
    after_stop = cli("ps", "-a").stdout.splitlines()
    removed = cli("rm", container_id[:8])

    assert started.returncode == 0 and len(container_id) == 64
    assert listing[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert listing[1].startswith(container_id[:12]) and listing[1].endswith("web") and " Up " in listing[1]
    assert exec_out.returncode == 4 and exec_out.stdout == f"{container_id[:12]}\n{64 << 20}\n"
    assert logs == "ready\n"
    assert stopped.stdout == "web\n" and "Exited (137)" in after_stop[1]
    assert removed.stdout == f"{container_id[:8]}\n" and cli("ps", "-aq").stdout == ""


def test_names_are_unique_and_running_containers_need_force(cli: Cli) -> None:
    assert cli("run", "-d", "--name", "once", "busybox", "sleep", "300").returncode == 0

    again = cli("run", "-d", "--name", "once", "busybox", "true")
    refused = cli("rm", "once")
    forced = cli("rm", "-f", "once")

    assert again.returncode == 125 and "already in use" in again.stderr
    assert refused.returncode == 1 and "stop the container" in refused.stderr
    assert forced.returncode == 0 and cli("ps", "-aq").stdout == ""


def test_detached_auto_remove_removes_the_container_once_it_exits(cli: Cli) -> None:
    assert cli("run", "-d", "--rm", "busybox", "true").returncode == 0

    for _ in range(500):
        if cli("ps", "-aq").stdout == "":
            break
        time.sleep(0.02)
    assert cli("ps", "-aq").stdout == ""


def test_published_ports_reach_the_container_on_loopback(cli: Cli) -> None:
    port = _free_port()
    server = "while true; do echo hello through the proxy | nc -l -p 80; done"
    assert cli("run", "-d", "--name", "srv", "-p", f"{port}:80", "busybox", "sh", "-c", server).returncode == 0

    answer = b""
    for _ in range(500):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            answer = connection.recv(100)
        if answer:
            break
        time.sleep(0.02)

    assert answer == b"hello through the proxy\n"
    assert f"127.0.0.1:{port}->80/tcp" in cli("ps").stdout


def _until_output(cli: Cli, *args: str) -> str:
    for _ in range(500):
        result = cli(*args)
        if result.stdout:
            return result.stdout
        time.sleep(0.02)
    raise AssertionError(f"{args} never printed anything")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
