"""The official Python client's exec (WebSocket v5/v4 channels) and port forwarding (its own
WebSocket channel protocol), through the API server to the kubelet's server."""

from __future__ import annotations

import base64
import json
from typing import Any

from streaming_helpers import SLEEP, running_pod
from streaming_node import PodContainer, StreamingNode


def test_exec_output_and_exit_code(core: Any, node: StreamingNode) -> None:
    from kubernetes.stream import stream

    with running_pod(node, "py-exec", [PodContainer("app", SLEEP)]):
        output = stream(core.connect_get_namespaced_pod_exec, "py-exec", "default",
                        command=["sh", "-c", "echo out; echo err >&2"], stdout=True, stderr=True,
                        stdin=False, tty=False)
        session = stream(core.connect_get_namespaced_pod_exec, "py-exec", "default",
                         command=["sh", "-c", "echo partial; exit 5"], stdout=True, stderr=True,
                         stdin=False, tty=False, _preload_content=False)
        session.run_forever(timeout=30)
        failed_output, code = session.read_stdout(), session.returncode

    assert sorted(output.splitlines()) == ["err", "out"]
    assert (failed_output, code) == ("partial\n", 5)


def test_v4_channels_frame_by_frame(server: Any, node: StreamingNode) -> None:
    """What a v4 client receives: the empty "ready" message on stdout, the output, then the
    status on channel 3 as kubelets write it."""
    import ssl

    import websocket
    import yaml

    config = yaml.safe_load(server.kubeconfig.read_text())
    user = config["users"][0]["user"]
    credentials = server.data_dir / "v4-client.pem"
    credentials.write_bytes(base64.b64decode(user["client-certificate-data"]) + base64.b64decode(user["client-key-data"]))
    with running_pod(node, "py-v4", [PodContainer("app", SLEEP)]):
        ws = websocket.create_connection(
            f"wss://127.0.0.1:{server.port}/api/v1/namespaces/default/pods/py-v4/exec"
            "?command=sh&command=-c&command=echo+hi%3B+exit+3&stdout=true&stderr=true",
            subprotocols=["v4.channel.k8s.io"],
            sslopt={"cert_reqs": ssl.CERT_NONE, "certfile": str(credentials)},
        )
        messages = []
        try:
            while True:
                opcode, data = ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                messages.append(data)
        finally:
            ws.close()

    assert ws.subprotocol == "v4.channel.k8s.io"
    assert messages[0] == b"\x01"
    assert b"".join(m[1:] for m in messages if m[:1] == b"\x01") == b"hi\n"
    status = [json.loads(m[1:]) for m in messages if m[:1] == b"\x03"]
    assert status == [{
        "metadata": {}, "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [sh -c echo hi; exit 3], exit code 3",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }]


def test_exec_interactive_stdin_is_closed_with_v5(core: Any, node: StreamingNode) -> None:
    from kubernetes.stream import stream

    with running_pod(node, "py-stdin", [PodContainer("app", SLEEP)]):
        session = stream(core.connect_get_namespaced_pod_exec, "py-stdin", "default",
                         command=["sh", "-c", "read a; echo first:$a; cat; echo done"], stdout=True,
                         stderr=True, stdin=True, tty=False, _preload_content=False)
        session.write_stdin("one\n")
        first = session.readline_stdout(timeout=30)
        session.write_stdin("two\n")
        session.close_channel(0)  # v5: end of stdin
        session.run_forever(timeout=30)
        rest, code, protocol = session.read_stdout(), session.returncode, session.subprotocol

    assert protocol == "v5.channel.k8s.io"
    assert first == "first:one"
    assert rest == "two\ndone\n"
    assert code == 0


def test_port_forward(core: Any, node: StreamingNode) -> None:
    from kubernetes.stream import portforward

    echo = PodContainer("echo", ["nc", "-ll", "-p", "8080", "-e", "cat"])
    with running_pod(node, "py-forward", [echo]):
        forward = portforward(core.connect_get_namespaced_pod_portforward, "py-forward", "default", ports="8080,9999")
        connection = forward.socket(8080)
        connection.settimeout(30)
        connection.sendall(b"hello over a websocket\n")
        received = b""
        while not received.endswith(b"\n"):
            received += connection.recv(1024)
        closed = forward.socket(9999)
        closed.settimeout(30)
        refused = closed.recv(10)
        error = forward.error(9999)
        connection.close()
        forward.close()

    assert received == b"hello over a websocket\n"
    assert refused == b""
    assert error is not None and "error forwarding port 9999" in error and "connection refused" in error
