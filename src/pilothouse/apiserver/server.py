"""The API server as a whole: certificates, store, watch cache, bootstrap objects, and the
HTTPS listener, started and stopped in order.

``APIServer.start()`` returns once the server is serving and ready; ``stop()`` closes the
listener first (no new requests), ends watches, then closes the store (flushing it).
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from pilothouse.api.resources import Registry
from pilothouse.api.schema import Schemas
from pilothouse.apiserver import boot
from pilothouse.apiserver.allocators import ServiceAllocations
from pilothouse.apiserver.app import APIHandler, create_app
from pilothouse.apiserver.authn import (
    AuthenticatorChain,
    ClientCertificateAuthenticator,
    TokenAuthenticator,
)
from pilothouse.apiserver.authz import AlwaysAllow, AuthorizerChain
from pilothouse.apiserver.cacher import Cacher
from pilothouse.apiserver.context import APIContext, Settings
from pilothouse.apiserver.discovery import Discovery
from pilothouse.apiserver.filters import object_fields
from pilothouse.apiserver.nodebootstrap import NodeBootstrap
from pilothouse.apiserver.nodeproxy import NodeProxy, kubelet_client_context
from pilothouse.apiserver.pkifiles import ClusterPKI
from pilothouse.apiserver.storage import ObjectStorage
from pilothouse.store import open_store
from pilothouse.store.interface import Store

log = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    data_dir: Path
    bind_address: str = "127.0.0.1"
    port: int = 6443
    datastore_endpoint: str | None = None
    service_cidr: str = "10.96.0.0/12"
    cluster_cidr: str = "10.244.0.0/16"
    write_kubeconfig: Path | None = None
    extra_sans: list[str] = field(default_factory=list)

    @property
    def client_address(self) -> str:
        """Where local clients reach the server."""
        return "127.0.0.1" if self.bind_address in ("0.0.0.0", "::") else self.bind_address

    @property
    def url(self) -> str:
        host = self.client_address
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"


class APIServer:
    def __init__(self, config: ServerConfig):
        self.config = config
        self.pki = ClusterPKI(config.data_dir / "tls")
        self.store: Store | None = None
        self.cacher: Cacher | None = None
        self.ctx: APIContext | None = None
        self._runner: web.AppRunner | None = None
        self.tokens = TokenAuthenticator.from_file(config.data_dir / "tokens.csv")

    async def start(self) -> None:
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.pki.ensure(server_names=self._server_names())
        self.pki.write_kubeconfig(
            config.write_kubeconfig or config.data_dir / "admin.kubeconfig", server=config.url
        )
        self.store = await open_store(config.datastore_endpoint, data_dir=config.data_dir)
        self.cacher = Cacher(self.store, fields=object_fields)
        await self.cacher.start()
        registry = Registry.builtin()
        settings = Settings(
            service_cidr=config.service_cidr,
            cluster_cidr=config.cluster_cidr,
            advertise_address=config.client_address,
            port=config.port,
        )
        self.ctx = APIContext(
            registry=registry,
            schemas=Schemas.load(),
            store=self.store,
            cacher=self.cacher,
            storage=ObjectStorage(store=self.store, cacher=self.cacher),
            allocations=ServiceAllocations(store=self.store, service_cidr=config.service_cidr),
            settings=settings,
        )
        await boot.bootstrap(self.ctx)
        self.handler = APIHandler(
            self.ctx,
            authenticator=AuthenticatorChain([ClientCertificateAuthenticator(), self.tokens]),
            authorizer=AuthorizerChain([AlwaysAllow()]),
            discovery=Discovery(
                registry=registry, schemas=self.ctx.schemas,
                server_address=f"{config.client_address}:{config.port}",
            ),
            ready_checks=self._ready_checks,
        )
        self.handler.subresources.node_streamer = NodeProxy(
            self.ctx, ssl_context=self._kubelet_client_context()
        ).stream
        node_bootstrap = NodeBootstrap(
            self.ctx, ca=self.pki.ca(), ca_bundle=self.pki.ca_cert.read_bytes()
        )
        self._runner = web.AppRunner(create_app(self.handler, routes=node_bootstrap.routes()),
                                     access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, config.bind_address, config.port,
                           ssl_context=self._ssl_context(), reuse_address=True)
        await site.start()
        log.info("API server listening on %s", config.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.cacher is not None:
            await self.cacher.stop()
        if self.store is not None:
            await self.store.close()

    def _server_names(self) -> list[str]:
        first_service_ip = str(ipaddress.ip_network(self.config.service_cidr).network_address + 1)
        names = [
            "localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local", first_service_ip,
        ]
        for extra in (self.config.bind_address, *self.config.extra_sans):
            if extra not in ("0.0.0.0", "::") and extra not in names:
                names.append(extra)
        return names

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pki.serving_cert, self.pki.serving_key)
        context.load_verify_locations(cafile=str(self.pki.ca_cert))
        # Certificates are optional (token users have none) but, when sent, must be ours.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.set_alpn_protocols(["http/1.1"])
        return context

    def _kubelet_client_context(self) -> ssl.SSLContext:
        """TLS to kubelets (pods/log, exec, attach, portforward), as kube-apiserver-kubelet-client."""
        credentials = self.pki.client_credentials("kube-apiserver-kubelet-client", ("system:masters",))
        return kubelet_client_context(ca_pem=self.pki.ca_cert.read_bytes(), credentials=credentials)

    async def _ready_checks(self) -> list[tuple[str, bool]]:
        store_ok = False
        if self.store is not None:
            try:
                await self.store.current_revision()
                store_ok = True
            except Exception:
                store_ok = False
        return [("store", store_ok), ("watch-cache", self.cacher is not None)]
