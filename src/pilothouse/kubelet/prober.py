"""Running one probe or hook action: exec in the container, HTTP GET, TCP connect.

Results and messages follow upstream's probers:

- exec runs through RuntimeService.exec_sync with the probe's timeout; exit 0 succeeds,
  anything else fails with the command's output; a timeout fails with
  ``command "..." timed out``;
- httpGet connects from the node to the pod IP (or ``host``), port by number or by the
  name of a container port; 200-399 succeeds (redirects to the same host are followed, a
  redirect elsewhere is a warning that counts as success), other codes fail with
  ``HTTP probe failed with statuscode: N``, transport errors fail with Go-like messages;
- tcpSocket succeeds when a connection opens within the timeout.

A port that cannot be resolved is an error (the probe result is unknown), not a failure.
"""

from __future__ import annotations

import asyncio
import enum
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from pilothouse.runtime.errors import ContainerRuntimeError, ExecTimeout
from pilothouse.runtime.interface import RuntimeService

from .expansion import expand_with_static_env

Obj = dict[str, Any]
USER_AGENT = "kube-probe/1.33"
MAX_BODY = 10 * 1024
MAX_REDIRECTS = 10


class Outcome(enum.Enum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ProbeOutput:
    outcome: Outcome
    output: str = ""
    error: str = ""  # set when the probe could not be run at all


class ActionError(Exception):
    """A probe or hook that cannot be run as written (e.g. a port name that does not exist)."""


class ActionRunner:
    """Runs the exec, httpGet and tcpSocket actions of probes and lifecycle hooks."""

    def __init__(self, runtime: RuntimeService):
        self.runtime = runtime
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def session(self) -> aiohttp.ClientSession:
        """One HTTP client for every probe and hook (connections are not kept alive)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=False, force_close=True, limit=0)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def run(
        self, action: Obj, *, container: Obj, container_id: str, pod_ip: str, timeout: float
    ) -> ProbeOutput:
        try:
            if action.get("exec") is not None:
                return await self.exec(action["exec"], container, container_id, timeout)
            if action.get("httpGet") is not None:
                return await self.http_get(action["httpGet"], container, pod_ip, timeout)
            if action.get("tcpSocket") is not None:
                return await self.tcp_socket(action["tcpSocket"], container, pod_ip, timeout)
            if action.get("grpc") is not None:
                raise ActionError("gRPC probes are not supported by this kubelet")
            raise ActionError("missing probe handler")
        except ActionError as error:
            return ProbeOutput(Outcome.UNKNOWN, error=str(error))

    async def exec(self, action: Obj, container: Obj, container_id: str, timeout: float) -> ProbeOutput:
        command = expand_with_static_env(list(action.get("command") or []), container.get("env") or [])
        try:
            response = await self.runtime.exec_sync(container_id, command, timeout=timeout)
        except ExecTimeout:
            return ProbeOutput(Outcome.FAILURE, f'command "{" ".join(command)}" timed out')
        except ContainerRuntimeError as error:
            raise ActionError(str(error)) from error
        output = (response.stdout + response.stderr).decode(errors="replace")
        return ProbeOutput(Outcome.SUCCESS if response.exit_code == 0 else Outcome.FAILURE, output)

    async def http_get(self, action: Obj, container: Obj, pod_ip: str, timeout: float) -> ProbeOutput:
        url = http_url(action, container, pod_ip)
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        for header in action.get("httpHeaders") or []:
            headers[header.get("name", "")] = header.get("value", "")
        try:
            async with asyncio.timeout(timeout):
                return await self._get(url, headers)
        except TimeoutError:
            return ProbeOutput(
                Outcome.FAILURE,
                f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            )
        except (aiohttp.ClientError, OSError) as error:
            return ProbeOutput(Outcome.FAILURE, f'Get "{url}": {_dial_error(urlsplit(url).netloc, error)}')

    async def _get(self, url: str, headers: dict[str, str]) -> ProbeOutput:
        origin = urlsplit(url).hostname
        for _ in range(MAX_REDIRECTS + 1):
            async with self.session().get(url, headers=headers, allow_redirects=False) as response:
                body = (await response.content.read(MAX_BODY)).decode(errors="replace")
                location = response.headers.get("Location", "")
                if 300 <= response.status < 400 and location:
                    target = str(response.url.join(URL(location)))
                    if urlsplit(target).hostname == origin:
                        url = target
                        continue
                    return ProbeOutput(Outcome.WARNING, f"Probe terminated redirects, Response body: {body}")
                if 200 <= response.status < 400:
                    return ProbeOutput(Outcome.SUCCESS, body)
                return ProbeOutput(Outcome.FAILURE, f"HTTP probe failed with statuscode: {response.status}")
        return ProbeOutput(Outcome.FAILURE, f'Get "{url}": stopped after {MAX_REDIRECTS} redirects')

    async def tcp_socket(self, action: Obj, container: Obj, pod_ip: str, timeout: float) -> ProbeOutput:
        host = action.get("host") or pod_ip
        port = resolve_port(action.get("port"), container)
        address = _join(host, port)
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            return ProbeOutput(Outcome.FAILURE, f"dial tcp {address}: i/o timeout")
        except OSError as error:
            return ProbeOutput(Outcome.FAILURE, _dial_error(address, error))
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return ProbeOutput(Outcome.SUCCESS)


def http_url(action: Obj, container: Obj, pod_ip: str) -> str:
    scheme = (action.get("scheme") or "HTTP").lower()
    host = action.get("host") or pod_ip
    port = resolve_port(action.get("port"), container)
    path = action.get("path") or ""
    if path and not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{_join(host, port)}{path or '/'}"


def resolve_port(port: Any, container: Obj) -> int:
    """A port by number, or by the name of one of the container's ports."""
    if isinstance(port, int):
        number = port
    else:
        text = str(port)
        named = [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == text]
        if named:
            number = int(named[0])
        elif text.isdigit():
            number = int(text)
        else:
            raise ActionError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    if not 0 < number < 65536:
        raise ActionError(f"invalid port number: {number}")
    return number


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dial_error(address: str, error: BaseException) -> str:
    cause: BaseException | None = error
    if isinstance(error, aiohttp.ClientConnectorError):
        cause = error.os_error
    if isinstance(cause, ConnectionRefusedError):
        return f"dial tcp {address}: connect: connection refused"
    if isinstance(cause, socket.gaierror):
        return f"dial tcp: lookup {address.rsplit(':', 1)[0]}: no such host"
    if isinstance(cause, OSError) and cause.strerror:
        return f"dial tcp {address}: connect: {cause.strerror.lower()}"
    return str(error)
