"""The kubelet's HTTPS server spoken to directly, as the API server speaks to it: who may
call it, and the plain-text refusals it answers before any upgrade."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

import pytest
from streaming_node import PodContainer, StreamingNode
from test_kubectl_streaming import running_pod

from pilothouse import pki


def _client(node: StreamingNode, identity: tuple[str, list[str]] | None) -> ssl.SSLContext:
    tls = node.server.data_dir / "tls"
    context = ssl.create_default_context(cafile=str(tls / "ca.crt"))
    if identity is not None:
        ca = pki.KeyPair.read(tls / "ca.crt", tls / "ca.key")
        pair = pki.issue(ca, common_name=identity[0], organizations=identity[1], client=True)
        assert isinstance(pair, pki.KeyPair)
        path = node.directory / f"client-{identity[0].replace(':', '-')}.pem"
        path.write_bytes(pair.cert_pem + pair.key_pem)
        context.load_cert_chain(str(path))
    return context


def _get(node: StreamingNode, path: str, identity: tuple[str, list[str]] | None,
         headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"https://127.0.0.1:{node.port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=_client(node, identity), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


APISERVER = ("kube-apiserver-kubelet-client", ["system:masters"])


@pytest.fixture(scope="module")
def pod(node: StreamingNode) -> object:
    with running_pod(node, "direct", [PodContainer("app", ["sh", "-c", "echo hello; exec sleep 3600"])]) as running:
        yield running


def test_only_the_api_server_and_admins_may_call(node: StreamingNode, pod: object) -> None:
    logs = "/containerLogs/default/direct/app"

    assert _get(node, "/healthz", None) == (200, "ok")
    assert _get(node, logs, None) == (401, "Unauthorized")
    assert _get(node, logs, ("system:node:other", ["system:nodes"])) == (
        403, "Forbidden (user=system:node:other, verb=get, resource=nodes, subresource(s)=[proxy])")
    assert _get(node, logs, ("someone", ["system:masters"]))[0] == 200
    assert _get(node, logs, APISERVER) == (200, "hello\n")


def test_refusals_before_the_upgrade(node: StreamingNode, pod: object) -> None:
    websocket = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}

    missing = _get(node, "/exec/default/direct/nope?command=true&stdout=1", APISERVER, websocket)
    no_pod = _get(node, "/exec/default/ghost/app?command=true&stdout=1", APISERVER, websocket)
    no_streams = _get(node, "/exec/default/direct/app?command=true", APISERVER, websocket)
    old_protocol = _get(node, "/exec/default/direct/app?command=true&stdout=1", APISERVER,
                        {**websocket, "Sec-WebSocket-Protocol": "channel.k8s.io"})
    no_port = _get(node, "/portForward/default/direct", APISERVER, websocket)
    bad_query = _get(node, "/containerLogs/default/direct/app?tailLines=x", APISERVER)
    invalid = _get(node, "/containerLogs/default/direct/app?tailLines=-2", APISERVER)
    spdy = _get(node, "/exec/default/direct/app?command=true&stdout=1", APISERVER,
                {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v1.channel.k8s.io"})

    assert missing == (500, 'container not found ("nope")')
    assert no_pod == (404, "pod does not exist")
    assert no_streams == (400, "you must specify at least 1 of stdin, stdout, stderr")
    assert old_protocol[0] == 403 and "requested protocol(s) are not supported" in old_protocol[1]
    assert no_port == (400, 'query parameter "port" is required')
    assert bad_query == (400, '{"message": "Unable to decode query."}')
    assert invalid == (422, '{"message": "Invalid request."}')
    assert spdy[0] == 403 and "unable to negotiate protocol" in spdy[1]


def test_logs_of_a_container_not_yet_created(node: StreamingNode, pod: object) -> None:
    assert _get(node, "/containerLogs/default/direct/later", APISERVER) == (
        400, 'container "later" in pod "direct" is waiting to start: ContainerCreating')


