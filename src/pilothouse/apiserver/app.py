"""The HTTP front of the API server: one aiohttp handler that authenticates, routes and
turns every error into a Kubernetes ``Status``.

Paths are matched by hand (``routing.parse_path``) rather than by a route table, because
resources can be added at run time and the path grammar is Kubernetes', not a fixed list.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from pilothouse.api import errors
from pilothouse.apiserver import negotiation, rendering
from pilothouse.apiserver.authn import AuthenticatorChain, UserInfo
from pilothouse.apiserver.authz import Attributes, AuthorizerChain
from pilothouse.apiserver.context import APIContext
from pilothouse.apiserver.deletion import Deleter
from pilothouse.apiserver.discovery import Discovery
from pilothouse.apiserver.rest import Request, RestHandlers
from pilothouse.apiserver.reviews import Reviews
from pilothouse.apiserver.routing import RequestInfo, parse_path
from pilothouse.apiserver.subresources import SubresourceHandlers
from pilothouse.apiserver.watch import WatchHandler

log = logging.getLogger(__name__)

# Reachable without credentials, as kube-apiserver's system:public-info-viewer allows.
PUBLIC_PATHS = {"/healthz", "/livez", "/readyz", "/version"}

ReadyCheck = Callable[[], Awaitable[list[tuple[str, bool]]]]


class APIHandler:
    """Dispatches every request of the API server."""

    def __init__(
        self,
        ctx: APIContext,
        *,
        authenticator: AuthenticatorChain,
        authorizer: AuthorizerChain,
        discovery: Discovery,
        ready_checks: ReadyCheck,
    ):
        self.ctx = ctx
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.discovery = discovery
        self.ready_checks = ready_checks
        self.deleter = Deleter(ctx)
        self.rest = RestHandlers(
            ctx, deleter=self.deleter,
            reviews=Reviews(authorizer=authorizer, authenticator=authenticator),
        )
        self.watch = WatchHandler(ctx)
        self.subresources = SubresourceHandlers(ctx, rest=self.rest, deleter=self.deleter)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except errors.StatusError as e:
            return rendering.status_response(e)
        except Exception:
            log.exception("internal error serving %s %s", request.method, request.path)
            return rendering.status_response(
                errors.InternalError("an error on the server prevented the request from succeeding")
            )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/healthz", "/livez", "/readyz"):
            return await self.health(request)
        user = self.authenticator.authenticate(request)
        if user is None and path not in PUBLIC_PATHS:
            raise errors.Unauthorized("Unauthorized")
        parts = [p for p in path.split("/") if p]
        document = self.discovery.respond(request, parts)
        if document is not None:
            return document
        query = dict(request.query)
        info = parse_path(path, request.method, query, self.ctx.registry)
        if info is None:
            raise errors.NotFound("the server could not find the requested resource")
        _check_scope(info)
        if user is not None:
            self.authorizer.check(Attributes(
                user=user, verb=info.verb, group=info.group, resource=info.resource.plural,
                subresource=info.subresource, namespace=info.namespace, name=info.name,
            ))
        req = Request(
            http=request,
            info=info,
            user=user,
            query=query,
            representation=negotiation.negotiate(
                request.headers.get("Accept"), include_object=query.get("includeObject", "")
            ),
        )
        return await self.route(req, user)

    async def route(self, req: Request, user: UserInfo | None) -> web.StreamResponse:
        info = req.info
        if info.subresource:
            return await self.subresources.handle(req)
        verb = info.verb
        if verb == "get":
            return await self.rest.get(req)
        if verb == "list":
            return await self.rest.list(req)
        if verb == "watch":
            return await self.watch.watch(req)
        if verb == "create":
            return await self.rest.create(req)
        if verb == "update":
            return await self.rest.update(req)
        if verb == "patch":
            return await self.rest.patch(req)
        if verb == "delete":
            return await self.deleter.delete(req)
        if verb == "deletecollection":
            return await self.deleter.deletecollection(req)
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")

    async def health(self, request: web.Request) -> web.Response:
        checks = [("ping", True)]
        if request.path == "/readyz":
            checks += await self.ready_checks()
        ok = all(passed for _, passed in checks)
        if "verbose" in request.query:
            lines = [f"[{'+' if passed else '-'}]{name} {'ok' if passed else 'failed'}"
                     for name, passed in checks]
            name = request.path.strip("/")
            lines.append(f"{name} check {'passed' if ok else 'failed'}")
            text = "\n".join(lines) + "\n"
        else:
            text = "ok" if ok else "not ready"
        return web.Response(text=text, status=200 if ok else 500,
                            content_type="text/plain")


def _check_scope(info: RequestInfo) -> None:
    """Writes and reads of one namespaced object need a namespace in the path."""
    resource = info.resource
    if resource.namespaced and not info.namespace and (info.name or info.verb == "create"):
        raise errors.NotFound("the server could not find the requested resource")
    if resource.namespaced and not info.namespace and info.verb == "deletecollection":
        raise errors.MethodNotAllowed(
            "the server does not allow this method on the requested resource"
        )


def create_app(handler: APIHandler, *, routes: Iterable[web.RouteDef] = ()) -> web.Application:
    """The application: ``routes`` (fixed paths outside the Kubernetes API, such as the node
    bootstrap) first, then everything else to ``handler``."""
    # Bodies are read (and limited) by the handlers themselves; aiohttp's own limit applies
    # only to request.read(), which we do not use.
    app = web.Application(handler_args={"tcp_keepalive": True})
    app.router.add_routes(routes)
    app.router.add_route("*", "/{tail:.*}", handler.handle)
    return app
