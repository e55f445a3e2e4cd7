"""pods/log, pods/exec, pods/attach and pods/portforward, served by the pod's kubelet.

As kube-apiserver does, the request is checked and translated here (``LogLocation``,
``ExecLocation``, ``AttachLocation``, ``PortForwardLocation`` in pkg/registry/core/pod),
then sent to the kubelet of ``spec.nodeName`` — at the node's first InternalIP,
ExternalIP or Hostname address (k3s' preference) and ``status.daemonEndpoints
.kubeletEndpoint.Port`` (10250 by default) — over TLS with the API server's kubelet client
certificate, the kubelet's serving certificate verified against the cluster CA:

- logs are plain HTTP: the kubelet's body is streamed through (``follow`` included), its
  errors become Statuses as kube-apiserver's ``GenericHttpResponseChecker`` makes them
  (400 -> BadRequest with the kubelet's text, 500 -> InternalError, ...);
- exec, attach and port-forward are connection upgrades: the request goes to the kubelet,
  and once it answers 101 the two connections are spliced byte for byte, so the protocols
  (WebSocket channels, SPDY, SPDY in WebSocket) are the kubelet's business alone. A refusal
  by the kubelet reaches the client as the kubelet wrote it, as kube-apiserver's
  upgrade-aware proxy passes it on.

A kubelet that cannot be reached is a 500 with kube-apiserver's message (``error dialing
backend: dial tcp ...``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

from pilothouse import pki
from pilothouse.api import errors
from pilothouse.apiserver.context import APIContext
from pilothouse.apiserver.rest import Request
from pilothouse.httpupgrade import UpgradedConnection, switch_protocols

Obj = dict[str, Any]

DEFAULT_KUBELET_PORT = 10250
PREFERRED_ADDRESS_TYPES = ("InternalIP", "ExternalIP", "Hostname")
DIAL_TIMEOUT = 30.0
COPY_SIZE = 256 * 1024
MAX_RESPONSE_HEAD = 64 * 1024
MAX_ERROR_BODY = 64 * 1024
DISCONNECT_CHECK_INTERVAL = 1.0
# Request headers that concern this hop only (or this server's client) and stay here.
UNFORWARDED_HEADERS = frozenset({
    "host", "authorization", "cookie", "content-length", "transfer-encoding", "keep-alive",
    "proxy-authorization", "proxy-connection", "te", "trailer",
})
UNFORWARDED_PREFIXES = ("impersonate-",)


class BackendError(errors.StatusError):
    """A plain error kube-apiserver reports as a 500 without a reason (StatusReasonUnknown)."""

    code = 500
    reason = ""


@dataclass(frozen=True)
class KubeletEndpoint:
    host: str
    port: int

    @property
    def netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Location:
    """A request path on the kubelet, with its query."""

    path: str
    params: list[tuple[str, str]]

    @property
    def target(self) -> str:
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


def kubelet_client_context(*, ca_pem: bytes, credentials: pki.KeyPair) -> ssl.SSLContext:
    """TLS to kubelets: their serving certificates verified against the cluster CA, and
    ``credentials`` as the client certificate."""
    context = ssl.create_default_context(cadata=ca_pem.decode())
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as pair:  # created 0600
        pair.write(credentials.cert_pem + credentials.key_pem)
        pair.flush()
        context.load_cert_chain(pair.name)
    return context


class NodeProxy:
    """The API server's ``node_streamer``: streams a pod subresource from its kubelet."""

    def __init__(self, ctx: APIContext, *, ssl_context: ssl.SSLContext):
        self.ctx = ctx
        self.ssl_context = ssl_context

    async def stream(self, req: Request, pod: Obj) -> web.StreamResponse:
        query = req.http.query
        subresource = req.info.subresource
        if subresource == "log":
            location = log_location(pod, query)
        elif subresource == "portforward":
            location = port_forward_location(pod, query)
        else:
            location = stream_location(pod, query, subresource)
        endpoint = await self.endpoint(pod["spec"]["nodeName"])
        if subresource == "log":
            return await self._proxy_logs(req, endpoint, location)
        return await self._proxy_upgrade(req, endpoint, location)

    async def endpoint(self, node_name: str) -> KubeletEndpoint:
        """The kubelet of ``node_name`` (NotFound if the node does not exist)."""
        nodes = self.ctx.registry.get("", "v1", "nodes")
        assert nodes is not None
        node = await self.ctx.storage.get(nodes, "", node_name)
        status = node.get("status") or {}
        addresses = status.get("addresses") or []
        by_type: dict[str, str] = {}
        for address in addresses:
            by_type.setdefault(address.get("type"), address.get("address"))
        host = next((by_type[t] for t in PREFERRED_ADDRESS_TYPES if by_type.get(t)), None)
        if host is None:
            known = " ".join(f"{{{a.get('type')} {a.get('address')}}}" for a in addresses)
            raise BackendError(f"no preferred addresses found; known addresses: [{known}]")
        port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or 0
        return KubeletEndpoint(host, port or DEFAULT_KUBELET_PORT)

    # -- logs -------------------------------------------------------------------------------------

    async def _proxy_logs(self, req: Request, endpoint: KubeletEndpoint, location: Location) -> web.StreamResponse:
        url = f"https://{endpoint.netloc}{location.target}"
        timeout = aiohttp.ClientTimeout(total=None, connect=DIAL_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                upstream = await session.get(url, ssl=self.ssl_context)
            except (aiohttp.ClientError, OSError) as error:
                raise BackendError(f'Get "{url}": {_dial_error(endpoint, error)}') from None
            async with upstream:
                if not 200 <= upstream.status <= 206:
                    body = await upstream.content.read(MAX_ERROR_BODY)
                    raise kubelet_log_error(upstream.status, body.decode(errors="replace"), req.info.name)
                response = web.StreamResponse(headers={"Content-Type": "text/plain"})
                await response.prepare(req.http)
                await _until_first_done(_copy_body(upstream, response), _client_gone(req.http))
                return response

    # -- upgrades ---------------------------------------------------------------------------------

    async def _proxy_upgrade(self, req: Request, endpoint: KubeletEndpoint, location: Location) -> web.StreamResponse:
        reader, writer = await self._dial(endpoint)
        try:
            writer.write(_request_head(req.http, endpoint, location))
            status, reason, headers = await _read_response_head(reader)
            if status != 101:
                body = await _read_body(reader, headers)
                return web.Response(status=status, reason=reason, body=body, headers=_relayed_headers(headers))
            client = await switch_protocols(req.http, _relayed_headers(headers))
            await _splice(client, reader, writer)
            return client.response
        finally:
            writer.close()

    async def _dial(self, endpoint: KubeletEndpoint) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(DIAL_TIMEOUT):
                return await asyncio.open_connection(
                    endpoint.host, endpoint.port, ssl=self.ssl_context, server_hostname=endpoint.host
                )
        except (OSError, TimeoutError, ssl.SSLError) as error:
            raise BackendError(f"error dialing backend: {_dial_error(endpoint, error)}") from None


# -- locations (pkg/registry/core/pod/strategy.go) ------------------------------------------------


def log_location(pod: Obj, query: MultiMapping[str]) -> Location:
    container = validate_container(pod, query.get("container", ""))
    params: list[tuple[str, str]] = [(name, "true") for name in ("follow", "previous", "timestamps") if _flag(query, name)]
    since_seconds = _int_param(query, "sinceSeconds")
    since_time = query.get("sinceTime")
    tail_lines = _int_param(query, "tailLines")
    limit_bytes = _int_param(query, "limitBytes")
    if since_time is not None:
        since_time = _rfc3339(since_time)
    problems = []
    if tail_lines is not None and tail_lines < 0:
        problems.append(errors.invalid("tailLines", tail_lines, "must be greater than or equal to 0"))
    if limit_bytes is not None and limit_bytes < 1:
        problems.append(errors.invalid("limitBytes", limit_bytes, "must be greater than 0"))
    if since_seconds is not None and since_time is not None:
        problems.append(errors.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif since_seconds is not None and since_seconds < 1:
        problems.append(errors.invalid("sinceSeconds", since_seconds, "must be greater than 0"))
    if problems:
        raise errors.Invalid.of("PodLogOptions", pod["metadata"]["name"], problems)
    for name, value in (("sinceSeconds", since_seconds), ("sinceTime", since_time),
                        ("tailLines", tail_lines), ("limitBytes", limit_bytes)):
        if value is not None:
            params.append((name, str(value)))
    meta = pod["metadata"]
    return Location(f"/containerLogs/{meta['namespace']}/{meta['name']}/{container}", params)


def stream_location(pod: Obj, query: MultiMapping[str], subresource: str) -> Location:
    """exec and attach: ``/{exec|attach}/{namespace}/{pod}/{container}`` with the streams
    as ``1`` flags and, for exec, the command."""
    container = validate_container(pod, query.get("container", ""))
    params = [(name, "1") for name in ("stdin", "stdout", "stderr", "tty") if _flag(query, name)]
    if subresource == "exec":
        params += [("command", part) for part in query.getall("command", [])]
    meta = pod["metadata"]
    return Location(f"/{subresource}/{meta['namespace']}/{meta['name']}/{container}", params)


def port_forward_location(pod: Obj, query: MultiMapping[str]) -> Location:
    """``/portForward/{namespace}/{pod}``, the requested ports as one ``port`` list."""
    ports = []
    for value in query.getall("ports", []):
        for text in value.split(","):
            if not text.strip().isdigit():
                raise errors.BadRequest(f'strconv.ParseInt: parsing "{text}": invalid syntax')
            ports.append(str(int(text)))
    meta = pod["metadata"]
    params = [("port", ",".join(ports))] if ports else []
    return Location(f"/portForward/{meta['namespace']}/{meta['name']}", params)


def validate_container(pod: Obj, container: str) -> str:
    """The container a request is about: the named one, which must exist, or the pod's only
    container (kube-apiserver's ``validateContainer``)."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    containers = spec.get("containers") or []
    every = [c["name"] for key in ("initContainers", "containers", "ephemeralContainers") for c in spec.get(key) or []]
    if container:
        if container not in every:
            raise errors.BadRequest(f"container {container} is not valid for pod {name}")
        return container
    if len(containers) == 1:
        return containers[0]["name"]
    if not containers:
        raise errors.BadRequest(f"a container name must be specified for pod {name}")
    raise errors.BadRequest(f"a container name must be specified for pod {name}, choose one of: [{' '.join(every)}]")


def _flag(query: MultiMapping[str], name: str) -> bool:
    """A boolean query parameter as Kubernetes decodes one: absent, "0" and "false" are false,
    anything else (even empty) is true."""
    value = query.get(name)
    return value is not None and value != "0" and value.lower() != "false"


def _int_param(query: MultiMapping[str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.BadRequest(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def _rfc3339(value: str) -> str:
    """A ``sinceTime`` as Go formats it again for the kubelet (RFC 3339, whole seconds)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise errors.BadRequest(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse')
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- talking to the kubelet -----------------------------------------------------------------------


def _request_head(request: web.Request, endpoint: KubeletEndpoint, location: Location) -> bytes:
    upgrading = "upgrade" in request.headers.get("Connection", "").lower()
    lines = [f"{request.method} {location.target} HTTP/1.1", f"Host: {endpoint.netloc}"]
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in UNFORWARDED_HEADERS or lower.startswith(UNFORWARDED_PREFIXES):
            continue
        if lower == "connection" and not upgrading:
            continue
        lines.append(f"{name}: {value}")
    if not upgrading:
        lines.append("Connection: close")  # the answer is read to its end, then the socket closed
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response_head(reader: asyncio.StreamReader) -> tuple[int, str, CIMultiDict[str]]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        raise BackendError(f"error reading the kubelet's response: {error}") from None
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise BackendError(f"malformed response from the kubelet: {status_line!r}")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.add(name.strip(), value.strip())
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


async def _read_body(reader: asyncio.StreamReader, headers: CIMultiDict[str]) -> bytes:
    length = headers.get("Content-Length", "")
    if length.isdigit():
        with contextlib.suppress(asyncio.IncompleteReadError):
            return await reader.readexactly(min(int(length), MAX_ERROR_BODY))
        return b""
    return await reader.read(MAX_ERROR_BODY)


def _relayed_headers(headers: CIMultiDict[str]) -> CIMultiDict[str]:
    """The kubelet's response headers for the client (this server sets framing, date and name)."""
    dropped = {"content-length", "transfer-encoding", "date", "server"}
    return CIMultiDict((name, value) for name, value in headers.items() if name.lower() not in dropped)


async def _copy_body(upstream: aiohttp.ClientResponse, response: web.StreamResponse) -> None:
    with contextlib.suppress(ConnectionError, aiohttp.ClientPayloadError):
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()


async def _client_gone(request: web.Request) -> None:
    """Returns once the client's connection is closed (a followed log may stay quiet for
    long: nothing written would notice). aiohttp signals no event for it: polled."""
    while (transport := request.transport) is not None and not transport.is_closing():  # noqa: ASYNC110
        await asyncio.sleep(DISCONNECT_CHECK_INTERVAL)


async def _until_first_done(*work: Coroutine[Any, Any, None]) -> None:
    """Runs ``work`` concurrently until one of them returns; cancels the others."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _splice(client: UpgradedConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copies bytes both ways until either side closes."""

    async def upstream() -> None:
        while data := await client.reader.read(COPY_SIZE):
            writer.write(data)
            await writer.drain()

    async def downstream() -> None:
        while data := await reader.read(COPY_SIZE):
            await client.write(data)
        await client.close()

    await _until_first_done(upstream(), downstream())


def _dial_error(endpoint: KubeletEndpoint, error: BaseException) -> str:
    """How Go's dialer words a failure to reach the kubelet."""
    if isinstance(error, aiohttp.ClientConnectorError):
        error = error.os_error
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"tls: failed to verify certificate: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"remote error: tls: {error.reason or error}"
    if isinstance(error, TimeoutError):
        return f"dial tcp {endpoint.netloc}: i/o timeout"
    if isinstance(error, OSError) and error.errno:
        return f"dial tcp {endpoint.netloc}: connect: {os.strerror(error.errno).lower()}"
    return str(error)


# kube-apiserver's NewGenericServerResponse: reason and message by status code.
_GENERIC_RESPONSES = {
    401: ("Unauthorized", "the server has asked for the client to provide credentials"),
    404: ("NotFound", "the server could not find the requested resource"),
    409: ("Conflict", "the server reported a conflict"),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
    429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"),
}


def kubelet_log_error(status: int, body: str, pod_name: str) -> errors.StatusError:
    """A kubelet's refusal to serve logs, as kube-apiserver's GenericHttpResponseChecker
    reports it."""
    if status == 400:
        return errors.BadRequest(body)
    if status == 500:
        return errors.InternalError(f"Internal error occurred: {body}")
    if status == 403:
        reason, message = "Forbidden", body
    else:
        reason, message = _GENERIC_RESPONSES.get(
            status, ("", f"the server responded with the status code {status} but did not return more information")
        )
    error = errors.StatusError(f"{message} ( pods/log {pod_name})", name=pod_name, kind="pods/log")
    error.code, error.reason = status, reason
    return error
