"""The small pieces of the streaming server: options, statuses, JSON streams, ports, log
queries, and finding containers through the runtime."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from pilothouse.kubelet import labels
from pilothouse.kubelet.streaming import channels, portforward, remotecommand
from pilothouse.kubelet.streaming.logs import LogRequest
from pilothouse.kubelet.streaming.targets import PodRef, TargetError, Targets
from pilothouse.runtime.fake import FakeRuntime
from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    ImageSpec,
    PodSandboxConfig,
    PodSandboxMetadata,
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"stdout": "1", "stderr": "1"}, remotecommand.StreamOptions(False, True, True, False)),
        ({"stdin": "true", "stdout": "true", "stderr": "true", "tty": "true"},
         remotecommand.StreamOptions(True, True, False, True)),  # a TTY merges stderr into stdout
    ],
)
def test_stream_options(query: dict[str, str], expected: remotecommand.StreamOptions) -> None:
    assert remotecommand.StreamOptions.from_query(query) == expected


def test_stream_options_need_a_stream() -> None:
    with pytest.raises(ValueError, match="you must specify at least 1 of stdin, stdout, stderr"):
        remotecommand.StreamOptions.from_query({"tty": "1", "stderr": "1"})


def test_statuses_are_the_kubelets() -> None:
    assert remotecommand.success() == {"metadata": {}, "status": "Success"}
    assert remotecommand.non_zero_exit(["ls", "/x"], 2)["details"] == {"causes": [{"reason": "ExitCode", "message": "2"}]}
    assert remotecommand.internal_error("boom") == {
        "metadata": {}, "status": "Failure", "message": "Internal error occurred: boom", "reason": "InternalError",
        "details": {"causes": [{"message": "boom"}]}, "code": 500,
    }


def test_json_documents_split_as_they_arrive() -> None:
    documents = remotecommand.JsonDocuments()

    assert documents.feed(b'{"Width":80,"Height":24}\n{"Wid') == [{"Width": 80, "Height": 24}]
    assert documents.feed(b'th":100,"Height":50}\n') == [{"Width": 100, "Height": 50}]
    assert documents.feed(b"  \n") == []


def test_channel_framing() -> None:
    assert channels.encode(channels.STDERR, b"x") == b"\x02x"
    assert channels.decode(b"\x03{}") == (channels.ERROR, b"{}")
    assert channels.port_prefix(8080) == b"\x90\x1f"
    with pytest.raises(ValueError):
        channels.decode(b"")


def test_ports() -> None:
    assert portforward.parse_ports(["80,8080", "9000"]) == [80, 8080, 9000]
    with pytest.raises(ValueError, match='unable to parse "70000" as a port'):
        portforward.parse_ports(["70000"])
    with pytest.raises(ValueError, match='query parameter "port" cannot be empty'):
        portforward.parse_ports([""])


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"tailLines": "x"}, 400),
        ({"sinceTime": "yesterday"}, 400),
        ({"tailLines": "-1"}, 422),
        ({"limitBytes": "0"}, 422),
        ({"sinceSeconds": "0"}, 422),
        ({"sinceSeconds": "5", "sinceTime": "2024-01-01T00:00:00Z"}, 422),
    ],
)
def test_bad_log_queries(query: dict[str, str], status: int) -> None:
    with pytest.raises(TargetError) as error:
        LogRequest.parse(MultiDict(query))
    assert error.value.status == status


def test_log_query() -> None:
    request = LogRequest.parse(MultiDict({"follow": "", "previous": "false", "tail": "all", "limitBytes": "10",
                                          "sinceTime": "2024-01-01T00:00:00Z"}))

    assert request.previous is False
    assert request.options.follow is True  # present and empty is true, as Kubernetes decodes it
    assert request.options.tail_lines is None
    assert request.options.limit_bytes == 10
    assert request.options.since_ns == 1_704_067_200_000_000_000


async def _runtime_with_restarts() -> tuple[FakeRuntime, list[str]]:
    runtime = FakeRuntime()
    runtime.add_image("busybox")
    identity = {labels.POD_NAMESPACE: "ns", labels.POD_NAME: "p", labels.POD_UID: "u1"}
    sandbox = PodSandboxConfig(metadata=PodSandboxMetadata("p", "u1", "ns"), labels=identity)
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    ids = []
    for attempt in range(3):
        config = ContainerConfig(metadata=ContainerMetadata("app", attempt), image=ImageSpec("busybox"),
                                 labels={**identity, labels.CONTAINER_NAME: "app"},
                                 annotations={labels.RESTART_COUNT: str(attempt)}, log_path=f"/logs/{attempt}.log")
        ids.append(await runtime.create_container(sandbox_id, config, sandbox))
        await runtime.start_container(ids[-1])
        if attempt < 2:
            runtime.exit_container(ids[-1], 1)
    return runtime, ids


async def test_log_sources_are_the_newest_instance_and_the_one_before() -> None:
    runtime, _ = await _runtime_with_restarts()
    targets = Targets(runtime)

    current = await targets.log_source(PodRef("ns", "p"), "app", previous=False)
    previous = await targets.log_source(PodRef("ns", "p"), "app", previous=True)

    assert (current.log_path, previous.log_path) == ("/logs/2.log", "/logs/1.log")


async def test_running_containers_and_their_absence() -> None:
    runtime, ids = await _runtime_with_restarts()
    targets = Targets(runtime)

    assert (await targets.running_container(PodRef("ns", "p"), "app")).id == ids[2]
    assert (await targets.sandbox(PodRef("ns", "p", "u1"))).labels[labels.POD_UID] == "u1"
    with pytest.raises(TargetError) as missing:
        await targets.running_container(PodRef("ns", "p"), "sidecar")
    with pytest.raises(TargetError) as no_pod:
        await targets.running_container(PodRef("ns", "q"), "app")
    with pytest.raises(TargetError) as other_uid:
        await targets.sandbox(PodRef("ns", "p", "u2"))

    assert (missing.value.status, missing.value.message) == (500, 'container not found ("sidecar")')
    assert (no_pod.value.status, no_pod.value.message) == (404, "pod does not exist")
    assert other_uid.value.status == 404


def test_port_forward_streams_need_a_port_and_a_known_type() -> None:
    class Stream:
        def __init__(self, headers: dict[str, str]):
            self.headers = headers

        def header(self, name: str) -> str:
            return self.headers.get(name, "")

    assert portforward.accept_stream(Stream({"port": "80", "streamtype": "data"}))  # type: ignore[arg-type]
    assert not portforward.accept_stream(Stream({"port": "0", "streamtype": "data"}))  # type: ignore[arg-type]
    assert not portforward.accept_stream(Stream({"port": "80", "streamtype": "resize"}))  # type: ignore[arg-type]
