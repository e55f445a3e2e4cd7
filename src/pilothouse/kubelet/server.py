"""The kubelet's HTTPS server: container logs, exec, attach and port forwarding.

Paths are the kubelet's (what the API server proxies ``pods/log``, ``pods/exec``,
``pods/attach`` and ``pods/portforward`` to):

    GET  /healthz
    GET  /containerLogs/{namespace}/{pod}/{container}?follow&tailLines&...
    GET|POST /exec/{namespace}/{pod}[/{uid}]/{container}?command=...&stdin=1&stdout=1&tty=1
    GET|POST /attach/{namespace}/{pod}[/{uid}]/{container}?stdin=1&stdout=1&tty=1
    GET|POST /portForward/{namespace}/{pod}[/{uid}][?port=80]

Every request but /healthz needs a client certificate of the cluster CA (verified by the TLS
layer) whose subject is the API server's kubelet client (``kube-apiserver-kubelet-client``)
or in group ``system:masters``: without one the answer is 401 ``Unauthorized``, with another
403, in the kubelet's words. Errors are plain text, as the kubelet writes them.

Containers and sandboxes are found through the runtime only (:mod:`.streaming.targets`).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from pilothouse.runtime.interface import RuntimeService

from .streaming import channels, portforward, remotecommand, upgrade
from .streaming.logs import LogRequest, serve_logs
from .streaming.spdysession import SpdySession
from .streaming.targets import PodRef, TargetError, Targets

log = logging.getLogger(__name__)

APISERVER_CLIENT = "kube-apiserver-kubelet-client"
ADMIN_GROUP = "system:masters"
PUBLIC_PATHS = frozenset({"/healthz"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KubeletServer:
    """``ssl_context`` holds the serving certificate; clients are verified against
    ``client_ca`` (the context is set to ask for, not require, a certificate, so that a
    client without one gets the kubelet's 401 rather than a failed handshake)."""

    def __init__(
        self, *, runtime: RuntimeService, ssl_context: ssl.SSLContext, client_ca: Path, host: str, port: int
    ):
        self.runtime = runtime
        self.targets = Targets(runtime)
        ssl_context.load_verify_locations(cafile=str(client_ca))
        ssl_context.verify_mode = ssl.CERT_OPTIONAL
        self.ssl_context = ssl_context
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs)
        for verb, handler in (("exec", self.exec), ("attach", self.attach)):
            for pattern in ("/{namespace}/{pod}/{container}", "/{namespace}/{pod}/{uid}/{container}"):
                app.router.add_route("GET", f"/{verb}{pattern}", handler)
                app.router.add_route("POST", f"/{verb}{pattern}", handler)
        for pattern in ("/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"):
            app.router.add_route("GET", pattern, self.port_forward)
            app.router.add_route("POST", pattern, self.port_forward)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context, reuse_address=True)
        await site.start()
        log.info("kubelet server listening on https://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- authentication ---------------------------------------------------------------------------

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS:
            return await handler(request)
        identity = _client_identity(request)
        if identity is None:
            return web.Response(status=401, text="Unauthorized")
        user, groups = identity
        if user != APISERVER_CLIENT and ADMIN_GROUP not in groups:
            verb = "get" if request.method == "GET" else "create"
            return web.Response(
                status=403, text=f"Forbidden (user={user}, verb={verb}, resource=nodes, subresource(s)=[proxy])"
            )
        try:
            return await handler(request)
        except TargetError as error:
            return web.Response(status=error.status, text=error.message)

    # -- endpoints --------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        log_request = LogRequest.parse(request.query)
        source = await self.targets.log_source(
            _pod(request), request.match_info["container"], previous=log_request.previous
        )
        return await serve_logs(request, self.runtime, source, log_request)

    async def exec(self, request: web.Request) -> web.StreamResponse:
        options = _stream_options(request)
        command = request.query.getall("command", [])
        if not command:
            raise TargetError(400, "you must specify at least one command for the container")
        container = await self.targets.running_container(_pod(request), request.match_info["container"])

        async def run(transport: remotecommand.CommandTransport) -> None:
            await remotecommand.run_exec(self.runtime, container.id, command, options, transport)

        return await _remote_command(request, options, run)

    async def attach(self, request: web.Request) -> web.StreamResponse:
        options = _stream_options(request)
        container = await self.targets.running_container(_pod(request), request.match_info["container"])

        async def run(transport: remotecommand.CommandTransport) -> None:
            await remotecommand.run_attach(self.runtime, container.id, options, transport)

        return await _remote_command(request, options, run)

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        pod = _pod(request)
        sandbox = await self.targets.sandbox(pod)
        target = portforward.Target(
            connect=lambda port: self.runtime.port_forward(sandbox.id, port), pod=sandbox.id, uid=pod.uid
        )
        if upgrade.is_websocket(request) and not _tunnels_spdy(request):
            ports = _ports(request)
            protocol = upgrade.choose_websocket_protocol(request, (channels.V4_PROTOCOL,), allow_none=True)
            ws = await upgrade.accept_websocket(request, protocol)
            await portforward.WebSocketPortForwarder(channels.ChannelSocket(ws), target, ports).run()
            return ws
        session, response = await _accept_port_forward_spdy(request)
        await upgrade.run_spdy(session, portforward.SpdyPortForwarder(session, target).run())
        return response


def _tunnels_spdy(request: web.Request) -> bool:
    """kubectl since 1.30 tunnels SPDY in a WebSocket (subprotocol ``SPDY/3.1+...``)."""
    return any(p.startswith(upgrade.SPDY_TUNNEL_PREFIX) for p in upgrade.websocket_protocols(request))


async def _accept_port_forward_spdy(request: web.Request) -> tuple[SpdySession, web.StreamResponse]:
    if upgrade.is_websocket(request):
        tunnelled = (upgrade.SPDY_TUNNEL_PREFIX + portforward.PROTOCOL,)
        protocol = upgrade.choose_websocket_protocol(request, tunnelled)
        return await upgrade.accept_spdy_tunnel(request, protocol, accept=portforward.accept_stream)
    protocol = upgrade.choose_stream_protocol(request, (portforward.PROTOCOL,))
    return await upgrade.accept_spdy(request, protocol, accept=portforward.accept_stream)


async def _remote_command(
    request: web.Request,
    options: remotecommand.StreamOptions,
    run: Callable[[remotecommand.CommandTransport], Awaitable[None]],
) -> web.StreamResponse:
    """Upgrades to the client's transport for exec or attach and runs the session on it."""
    if upgrade.is_websocket(request):
        protocol = upgrade.choose_websocket_protocol(request, remotecommand.PROTOCOLS)
        ws = await upgrade.accept_websocket(request, protocol)
        await run(await remotecommand.WebSocketTransport.open(channels.ChannelSocket(ws), options))
        return ws
    protocol = upgrade.choose_stream_protocol(request, remotecommand.PROTOCOLS)
    session, response = await upgrade.accept_spdy(request, protocol)

    async def streams() -> None:
        transport = await remotecommand.SpdyTransport.open(session, options)
        if transport is not None:
            await run(transport)

    await upgrade.run_spdy(session, streams())
    return response


def _pod(request: web.Request) -> PodRef:
    info = request.match_info
    return PodRef(info["namespace"], info["pod"], info.get("uid", ""))


def _stream_options(request: web.Request) -> remotecommand.StreamOptions:
    try:
        return remotecommand.StreamOptions.from_query(request.query)
    except ValueError as error:
        raise TargetError(400, str(error)) from None


def _ports(request: web.Request) -> list[int]:
    values = request.query.getall("port", [])
    if not values:
        raise TargetError(400, 'query parameter "port" is required')
    try:
        return portforward.parse_ports(values)
    except ValueError as error:
        raise TargetError(400, str(error)) from None


def _client_identity(request: web.Request) -> tuple[str, list[str]] | None:
    """(common name, organizations) of the verified client certificate, if one was sent."""
    transport = request.transport
    certificate = transport.get_extra_info("peercert") if transport is not None else None
    if not certificate:
        return None
    names = [attribute for rdn in certificate.get("subject", ()) for attribute in rdn]
    common_name = next((value for key, value in names if key == "commonName"), "")
    return common_name, [value for key, value in names if key == "organizationName"]
