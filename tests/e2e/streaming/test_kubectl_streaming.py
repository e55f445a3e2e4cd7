"""kubectl logs, exec, attach and port-forward through the API server to the kubelet's server,
with real containers, with the oldest and the newest kubectl (SPDY and WebSocket streams)."""

from __future__ import annotations

import re
import socket
from typing import Any

from cluster import ServerProcess, free_port
from streaming_helpers import SLEEP, kubectl_process, poll, running_pod
from streaming_node import PodContainer, StreamingNode, register_node
from terminal import run_in_terminal

TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (.*)$")


def _name(prefix: str, version: str) -> str:
    return f"{prefix}-{version.replace('.', '-')}"


# -- logs ------------------------------------------------------------------------------------------


def test_logs_with_options(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("logs", kubectl_version)
    app = PodContainer("app", ["sh", "-c", "echo one; echo two; echo three; exec sleep 3600"])
    err = PodContainer("err", ["sh", "-c", "echo oops >&2; exec sleep 3600"])

    def logs(*options: str) -> str:
        return server.kubectl("logs", name, *options, version=kubectl_version).stdout

    with running_pod(node, name, [app, err], previous={"app": ["sh", "-c", "echo old"]}):
        poll(lambda: "three" in logs("-c", "app") and "oops" in logs("-c", "err"))
        everything = logs("-c", "app")
        tail = logs("-c", "app", "--tail=1")
        limited = logs("-c", "app", "--limit-bytes=4")
        stamped = logs("-c", "app", "--timestamps")
        recent = logs("-c", "app", "--since=1h")
        previous = logs("-c", "app", "-p")
        stderr = logs("-c", "err")

    assert everything == "one\ntwo\nthree\n"
    assert tail == "three\n"
    assert limited == "one\n"
    assert [TIMESTAMPED.sub(r"\1", line) for line in stamped.splitlines()] == ["one", "two", "three"]
    assert recent == everything
    assert previous == "old\n"
    assert stderr == "oops\n"


def test_logs_follow_streams_until_the_container_exits(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("follow", kubectl_version)
    app = PodContainer("app", ["sh", "-c", "echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo second"])
    with running_pod(node, name, [app]):
        follower = kubectl_process(server, kubectl_version, "logs", "-f", name)
        try:
            assert follower.stdout is not None
            first = follower.stdout.readline()
            server.kubectl("exec", name, "--", "touch", "/tmp/go", version=kubectl_version)
            second = follower.stdout.readline()
            code = follower.wait(timeout=30)
        finally:
            follower.kill()
            follower.wait()

    assert (first, second, code) == ("first\n", "second\n", 0)


def test_logs_errors(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("logerr", kubectl_version)
    with running_pod(node, name, [PodContainer("a", SLEEP), PodContainer("b", SLEEP)]):
        def raw(query: str) -> str:  # kubectl itself picks a default container; the API server does not
            path = f"/api/v1/namespaces/default/pods/{name}/log{query}"
            return server.kubectl("get", "--raw", path, check=False, version=kubectl_version).stderr

        unnamed = raw("")
        negative = raw("?container=a&tailLines=-1")
        unknown = server.kubectl("logs", name, "-c", "nope", check=False, version=kubectl_version).stderr
        no_previous = server.kubectl("logs", name, "-c", "a", "-p", check=False, version=kubectl_version).stderr

    assert f"a container name must be specified for pod {name}, choose one of: [a b]" in unnamed
    assert "tailLines: Invalid value: -1: must be greater than or equal to 0" in negative
    assert f"container nope is not valid for pod {name}" in unknown
    assert f'previous terminated container "a" in pod "{name}" not found' in no_previous


# -- exec ------------------------------------------------------------------------------------------


def test_exec_output_exit_codes_and_stdin(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("exec", kubectl_version)
    with running_pod(node, name, [PodContainer("app", SLEEP)]):
        plain = server.kubectl("exec", name, "--", "sh", "-c", "echo out; echo err >&2", version=kubectl_version)
        failing = server.kubectl("exec", name, "--", "sh", "-c", "echo partial; exit 3", check=False, version=kubectl_version)
        piped = server.kubectl("exec", "-i", name, "--", "sh", "-c", "tr a-z A-Z",
                               input="hello\nworld\n", version=kubectl_version)
        big = server.kubectl("exec", name, "--", "sh", "-c", "yes 0123456789abcdef | head -c 1000000",
                             version=kubectl_version)
        missing = server.kubectl("exec", name, "-c", "nope", "--", "true", check=False, version=kubectl_version)

    assert (plain.stdout, plain.stderr, plain.returncode) == ("out\n", "err\n", 0)
    assert (failing.stdout, failing.returncode) == ("partial\n", 3)
    assert piped.stdout == "HELLO\nWORLD\n"
    assert len(big.stdout) == 1_000_000 and big.stdout.startswith("0123456789abcdef\n")
    assert f"container nope is not valid for pod {name}" in missing.stderr


def test_exec_with_a_terminal(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("tty", kubectl_version)
    with running_pod(node, name, [PodContainer("app", SLEEP)]):
        output, code = run_in_terminal(
            server, kubectl_version, ["exec", "-it", name, "--", "sh", "-c", "read line; echo got:$line; tty; stty size; exit 7"],
            typed=b"typed\r", columns=93, rows=31,
        )

    assert "/dev/pts/" in output
    assert "31 93" in output
    assert "got:typed" in output
    assert code == 7


# -- attach ----------------------------------------------------------------------------------------


def test_attach_to_output_and_stdin(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("attach", kubectl_version)
    talker = PodContainer("talker", ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"])
    reader = PodContainer("reader", ["sh", "-c", "while read line; do echo got:$line; done; echo eof"], stdin=True)
    with running_pod(node, name, [talker, reader]):
        watcher = kubectl_process(server, kubectl_version, "attach", name, "-c", "talker")
        try:
            assert watcher.stdout is not None
            ticks = [watcher.stdout.readline() for _ in range(2)]
        finally:
            watcher.terminate()
            watcher.wait()
        fed = server.kubectl("attach", "-i", name, "-c", "reader", input="hello\n", version=kubectl_version)

    assert all(re.fullmatch(r"tick \d+\n", tick) for tick in ticks)
    assert "got:hello\n" in fed.stdout and "eof\n" in fed.stdout
    assert fed.returncode == 0


def test_attach_to_a_terminal(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("attach-tty", kubectl_version)
    shell = PodContainer("shell", ["sh"], tty=True, stdin=True)
    with running_pod(node, name, [shell]):
        output, code = run_in_terminal(
            server, kubectl_version, ["attach", "-it", name], typed=b"echo sum=$((40+2))\rexit 0\r", columns=80, rows=24,
        )

    assert "sum=42" in output
    assert code == 0


def test_exec_into_a_container_that_is_not_running(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("exited", kubectl_version)
    with running_pod(node, name, [PodContainer("app", ["true"])]) as pod:
        node.wait_for_exit(pod, "app")
        result = server.kubectl("exec", name, "--", "true", check=False, version=kubectl_version)

    assert result.returncode != 0
    assert 'container not found ("app")' in result.stderr


# -- port-forward ----------------------------------------------------------------------------------


def test_port_forward(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("forward", kubectl_version)
    echo = PodContainer("echo", ["nc", "-ll", "-p", "8080", "-e", "cat"])
    with running_pod(node, name, [echo]):
        local = free_port()
        forwarder = kubectl_process(server, kubectl_version, "port-forward", f"pod/{name}", f"{local}:8080")
        try:
            assert forwarder.stdout is not None
            ready = forwarder.stdout.readline()
            replies = [_echo(local, f"ping {i}\n".encode()) for i in range(3)]
            large = _echo(local, b"x" * 300_000)
        finally:
            forwarder.terminate()
            forwarder.wait()

    assert ready.startswith(f"Forwarding from 127.0.0.1:{local} -> 8080")
    assert replies == [f"ping {i}\n".encode() for i in range(3)]
    assert large == b"x" * 300_000


def test_port_forward_ends_a_connection_the_pod_closes(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("greeter", kubectl_version)
    script = "printf '#!/bin/sh\\necho hello\\n' > /tmp/greet; chmod +x /tmp/greet; exec nc -ll -p 8080 -e /tmp/greet"
    with running_pod(node, name, [PodContainer("greeter", ["sh", "-c", script])]):
        local = free_port()
        forwarder = kubectl_process(server, kubectl_version, "port-forward", f"pod/{name}", f"{local}:8080")
        try:
            assert forwarder.stdout is not None
            forwarder.stdout.readline()
            greetings = [_read_to_end(local) for _ in range(2)]
        finally:
            forwarder.terminate()
            forwarder.wait()

    assert greetings == [b"hello\n", b"hello\n"]


def test_port_forward_to_a_closed_port_reports_the_error(server: ServerProcess, node: StreamingNode, kubectl_version: str) -> None:
    name = _name("closed", kubectl_version)
    with running_pod(node, name, [PodContainer("app", SLEEP)]):
        local = free_port()
        forwarder = kubectl_process(server, kubectl_version, "port-forward", f"pod/{name}", f"{local}:9999")
        try:
            assert forwarder.stdout is not None
            forwarder.stdout.readline()
            with socket.create_connection(("127.0.0.1", local), timeout=30) as connection:
                connection.settimeout(30)
                assert connection.recv(10) == b""
            _, errors = forwarder.communicate(timeout=30)
        finally:
            forwarder.kill()
            forwarder.wait()

    assert "error forwarding port 9999 to pod" in errors
    assert "connect: connection refused" in errors


def _read_to_end(port: int) -> bytes:
    """What the forwarded port sends until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.settimeout(30)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def _echo(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.settimeout(30)
        connection.sendall(data)
        received = b""
        while len(received) < len(data):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


# -- errors ----------------------------------------------------------------------------------------


def test_unreachable_kubelet_and_unscheduled_pod(server: ServerProcess, core: Any, kubectl_version: str) -> None:
    name, stray = _name("unscheduled", kubectl_version), _name("stray", kubectl_version)
    node_name = _name("ghost", kubectl_version)
    dead_port = free_port()
    register_node(core, node_name, address="127.0.0.1", port=dead_port)
    for pod, spec in ((name, {}), (stray, {"nodeName": node_name})):
        core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
                                               "spec": {**spec, "containers": [{"name": "app", "image": "busybox"}]}})
    try:
        logs = server.kubectl("logs", stray, check=False, version=kubectl_version)
        execed = server.kubectl("exec", stray, "--", "true", check=False, version=kubectl_version)
        unscheduled = server.kubectl("exec", name, "--", "true", check=False, version=kubectl_version)
    finally:
        for pod in (name, stray):
            core.delete_namespaced_pod(pod, "default", grace_period_seconds=0)
        core.delete_node(node_name)

    assert f'Get "https://127.0.0.1:{dead_port}/containerLogs/default/{stray}/app' in logs.stderr
    assert "connect: connection refused" in logs.stderr
    assert f"error dialing backend: dial tcp 127.0.0.1:{dead_port}: connect: connection refused" in execed.stderr
    assert f"pod {name} does not have a host assigned" in unscheduled.stderr
